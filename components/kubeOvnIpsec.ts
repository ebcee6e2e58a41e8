/**
 * KubeOvnIpsec: Kube-OVN's manual `ipsec.sh init|start|stop|status`, as one component.
 *
 *   CA key + cert ─┬─> per node: key -> CSR -> cert ─┬─> Secret (kubernetes.io/tls)
 *                  └─> CA Secret                    └─> NodeIpsec (observe, then files,
 *                                                       other_config, guard, services)
 *   Preflight (read-only cluster checks) ──> CaTrust ──> every NodeIpsec ──> CaRetire, IpsecSwitch
 *       (a changed CA: trusted everywhere first, the old one removed last; nb_global ipsec)
 *       ──> IpsecStatus (observed on every up: waits, records) ──> IpsecReadiness (fails the
 *           up when waitFor is not met, after the observation is recorded)
 *
 * Arguments are validated before anything is registered.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { X509Certificate, createHash } from "crypto";
import type { IpsecStatus, KubeOvnIpsecArgs, NodeSpec } from "./args";
import { CaRetire, CaTrust } from "./cluster/caStages";
import { IpsecSwitch } from "./cluster/ipsecSwitch";
import { Preflight } from "./cluster/preflight";
import { createCaSecret, createNodeSecret, nodeSecretName } from "./kubernetes/secrets";
import { NodeIpsec } from "./node/nodeIpsec";
import { fingerprint } from "./node/nodeFiles";
import { createCa, createNodeCertificate } from "./pki/certificates";
import { CertificateExpiry, expiryOf } from "./pki/expiry";
import { IpsecStatusResource } from "./status/ipsecStatusResource";
import type { NodeHealth, NodeStatusReport } from "./status/nodeStatus";
import { IpsecReadiness } from "./status/readiness";
import { ResolvedAccess } from "./transport/access";
import { Settings, validateArgs } from "./validation";

export const COMPONENT_TYPE = "kube-ovn-ipsec:index:KubeOvnIpsec";

/** What the node showed at the end of the last `up` (from the status observation). */
export interface NodeLive {
    /** RFC 3339 time the node was read (unset: not read, e.g. under unit-test mocks). */
    observedAt?: string;
    /** protected, notProtected, unknown or disabled (unset: not read). */
    health?: NodeHealth;
    /** other_config points at our files, which are intact. */
    configIntact: boolean;
    /** ovs-monitor-ipsec answers. */
    monitorRunning: boolean;
    /** strongSwan's charon answers. */
    ikeDaemonRunning: boolean;
    /** What the node lacks, one sentence each. */
    problems: string[];
}

/** What was installed on a node (no key material). */
export interface NodeInstallation {
    /** Kubernetes node name. */
    name: string;
    /** OVS system-id: the certificate's CN. */
    systemId: string;
    /** The node's kubernetes.io/tls Secret (unset when publishSecrets is false). */
    secretName?: string;
    /** other_config:certificate on the node. */
    certificatePath?: string;
    /** other_config:private_key on the node (a path; the key itself never leaves Pulumi's encrypted state). */
    privateKeyPath?: string;
    /** other_config:ca_cert on the node. */
    caCertPath?: string;
    /** Hex serial of the installed certificate (unset if it cannot be parsed). */
    certificateSerial?: string;
    /** RFC 3339 end of validity, from the tls provider. */
    certificateNotAfter: string;
    /** Whole days until certificateNotAfter, when the program ran (negative once expired). */
    certificateDaysLeft?: number;
    /** The next `up` renews the certificate: it is inside `certificate.earlyRenewalHours` of its end. */
    certificateRenewsOnNextUp?: boolean;
    /** This component started ovs-monitor-ipsec on the node (destroy stops only what it started). */
    startedMonitor: boolean;
    /** This component started strongSwan on the node. */
    startedIkeDaemon: boolean;
    /** What the node showed at the end of the last run. */
    live: NodeLive;
}

function liveOf(report: NodeStatusReport | undefined): NodeLive {
    return {
        observedAt: report?.observedAt,
        health: report?.health,
        configIntact: report?.configIntact ?? false,
        monitorRunning: report?.monitorRunning ?? false,
        ikeDaemonRunning: report?.ikeDaemonRunning ?? false,
        problems: report?.problems ?? [],
    };
}

/** A node only needs its own target in its state: keeps state O(N), not O(N^2). */
export function accessForNode(access: ResolvedAccess, node: string): ResolvedAccess {
    if (access.kind === "kubectl") return access;
    return { ...access, targets: { central: access.targets.central, nodes: { [node]: access.targets.nodes[node] } } };
}

/** Only the nodes listed, in the listed order (status and preflight need all of them). */
export function accessForNodes(access: ResolvedAccess, nodes: readonly NodeSpec[]): ResolvedAccess {
    if (access.kind === "kubectl") return access;
    const targets: Record<string, string> = {};
    for (const n of nodes) targets[n.name] = access.targets.nodes[n.name];
    return { ...access, targets: { central: access.targets.central, nodes: targets } };
}

function serialOf(pem: string): string | null {
    try {
        return new X509Certificate(pem).serialNumber;
    } catch {
        return null;
    }
}

function digest(value: unknown): string {
    // `?? "null"`: under unit-test mocks a certificate may be missing (undefined).
    return createHash("sha256").update(JSON.stringify(value) ?? "null").digest("hex");
}

interface ComponentOutputs {
    caCertPem: pulumi.Output<string>;
    caExpiry: pulumi.Output<CertificateExpiry | undefined>;
    enabled: pulumi.Output<boolean>;
    status: pulumi.Output<IpsecStatus>;
    nodes: pulumi.Output<NodeInstallation[]>;
}

/**
 * The SDK captures a stack trace for every promise it makes per resource property (and formats
 * it eagerly, source-mapped under a TypeScript loader): for 1000 nodes that is most of the
 * program's time and memory (bench item 3). Those traces only feed its promise-leak messages;
 * each resource's own source position is captured apart (the SDK raises the limit for that).
 * So the children are registered with traces off, and the limit is restored right after.
 */
function withoutPromiseStackTraces<T>(build: () => T): T {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return build();
    } finally {
        Error.stackTraceLimit = limit;
    }
}

export class KubeOvnIpsec extends pulumi.ComponentResource {
    /** The CA certificate (public); the CA key stays in Pulumi state, encrypted. */
    public readonly caCertPem: pulumi.Output<string>;
    /**
     * The CA's end of validity and days left. It renews only once expired (it has no early-renewal
     * window: a new CA means a new certificate on every node).
     */
    public readonly caExpiry: pulumi.Output<CertificateExpiry | undefined>;
    /** nb_global ipsec as set by the last `up` (or read by a refresh). */
    public readonly enabled: pulumi.Output<boolean>;
    /** Per node and per peer, as observed at the end of the last `up`. */
    public readonly status: pulumi.Output<IpsecStatus>;
    /** Per node: what was installed (paths, certificate serial and expiry; never key material). */
    public readonly nodes: pulumi.Output<NodeInstallation[]>;

    constructor(name: string, args: KubeOvnIpsecArgs, opts?: pulumi.ComponentResourceOptions) {
        // Throws before super(): an invalid argument registers nothing at all.
        const settings = validateArgs(args);
        super(COMPONENT_TYPE, name, {}, opts);
        const outputs = withoutPromiseStackTraces(() => this.build(name, settings));
        this.caCertPem = outputs.caCertPem;
        this.caExpiry = outputs.caExpiry;
        this.enabled = outputs.enabled;
        this.status = outputs.status;
        this.nodes = outputs.nodes;
        // Only the small outputs are the component's own state: `status` and `nodes` grow with N
        // and are stored already (the status resource; whatever the program exports), and a third
        // copy here would be ~1.2 KB per node (issue 9). They stay outputs of the class.
        this.registerOutputs({ caCertPem: this.caCertPem, enabled: this.enabled });
    }

    /** Registers every child resource; returns the component's outputs. */
    private build(name: string, settings: Settings): ComponentOutputs {
        const child: pulumi.CustomResourceOptions = { parent: this };
        const { access, exec, parallelism } = settings;

        const ca = createCa(name, settings.ca, child);
        const caCertPem = ca.cert.certPem;

        // Secrets go to the cluster kubectl reaches, unless a Kubernetes provider was given (to
        // this component or a parent). Asked by package, not by `opts.providers` being set: a
        // Construct from another language always passes a (possibly empty) providers map.
        let k8sOpts: pulumi.CustomResourceOptions = child;
        if (settings.publishSecrets && access.kind === "kubectl" && (access.kubeconfig || access.context) && !this.getProvider("kubernetes:core/v1:Secret")) {
            const provider = new k8s.Provider(`${name}-kubernetes`, { kubeconfig: access.kubeconfig ?? undefined, context: access.context ?? undefined }, child);
            k8sOpts = { parent: this, provider };
        }

        const certs = settings.nodes.map((node) => ({ node, pki: createNodeCertificate(`${name}-${node.name}`, node, settings.certificate, ca, child) }));
        if (settings.publishSecrets) {
            for (const { node, pki } of certs) {
                createNodeSecret(`${name}-${node.name}`, settings.secretNamespace, node, { cert: pki.cert.certPem, key: pki.privateKeyPem }, k8sOpts);
            }
        }

        // What the node steps will apply, as one digest: the preflight runs again when it changes.
        // Not `enabled`: a flag flip touches no node, and the switch re-checks what it needs
        // (exactly one NB leader; the v1.13+ guard when turning IPsec on).
        const generation = pulumi
            .all([caCertPem, pulumi.all(certs.map((c) => c.pki.cert.certPem))])
            .apply(([caPem, pems]) => digest({ nodes: settings.nodes, access, exec, ca: digest(caPem), certs: pems.map((p) => digest(p)) }));
        const preflight = new Preflight(`${name}-preflight`, { access: accessForNodes(access, settings.nodes), exec, nodes: settings.nodes, generation }, child);

        // A changed CA is trusted on every node before any node changes its certificate, and the
        // old one removed only after every node has (cluster/caTrustProvider.ts).
        // (Copies: a dynamic resource adds its provider to the object it is given.)
        const caStage = { access: accessForNodes(access, settings.nodes), exec, parallelism, nodes: settings.nodes, caCertPem };
        const caTrust = new CaTrust(`${name}-ca-trust`, { ...caStage }, { parent: this, dependsOn: [preflight] });
        // The CA Secret publishes every CA a node may still need: during a rotation old and new.
        // (State from before trustedCas, or a mocked CaTrust, has none: the current CA alone.)
        const caBundle = pulumi.all([caTrust.trustedCas, caCertPem]).apply(([pems, current]) => (Array.isArray(pems) && pems.length > 0 ? pems.join("") : current));
        if (settings.publishSecrets) createCaSecret(name, settings.secretNamespace, caBundle, k8sOpts);

        const guard = settings.failClosed && settings.enabled;
        const nodeResources = certs.map(
            ({ node, pki }) =>
                new NodeIpsec(
                    `${name}-${node.name}`,
                    { node: node.name, systemId: node.systemId, transport: { access: accessForNode(access, node.name), exec, parallelism }, caCertPem, certPem: pki.cert.certPem, privateKeyPem: pki.privateKeyPem, guard },
                    { parent: this, dependsOn: [preflight, caTrust] },
                ),
        );
        const caRetire = new CaRetire(`${name}-ca-retire`, { ...caStage }, { parent: this, dependsOn: nodeResources });

        const ipsecSwitch = new IpsecSwitch(`${name}-switch`, { enabled: settings.enabled, natTraversal: settings.natTraversal, access: accessForNodes(access, []), exec }, { parent: this, dependsOn: nodeResources });

        const status = new IpsecStatusResource(
            `${name}-status`,
            {
                access: accessForNodes(access, settings.nodes),
                exec,
                parallelism,
                nodes: settings.nodes,
                enabled: settings.enabled,
                failClosed: settings.failClosed,
                natTraversal: settings.natTraversal,
                caFingerprint: caCertPem.apply((pem) => fingerprint(pem ?? "")),
                waitFor: settings.waitFor,
                timeoutSeconds: settings.timeoutSeconds,
            },
            { parent: this, dependsOn: [ipsecSwitch, caRetire, ...nodeResources] },
        );
        new IpsecReadiness(
            `${name}-readiness`,
            {
                waitFor: settings.waitFor,
                enabled: settings.enabled,
                timeoutSeconds: settings.timeoutSeconds,
                // Under unit-test mocks a child's outputs may be missing: never crash on that.
                ready: status.summary.apply((s) => s?.ready ?? false),
                unready: status.unready.apply((u) => u ?? []),
                nodes: settings.nodes.length,
            },
            { parent: this, dependsOn: [status] },
        );

        const nodes = pulumi.all(
            certs.map(({ node, pki }, i) =>
                pulumi.all([pki.cert.certPem, pki.cert.validityEndTime, nodeResources[i].installed, status.reports]).apply(([pem, notAfter, installed, reports]): NodeInstallation => {
                    const expiry = expiryOf(notAfter ?? "", settings.certificate.earlyRenewalHours, new Date());
                    return {
                        name: node.name,
                        systemId: node.systemId,
                        secretName: settings.publishSecrets ? nodeSecretName(node.name) : undefined,
                        certificatePath: installed?.certificatePath ?? undefined,
                        privateKeyPath: installed?.privateKeyPath ?? undefined,
                        caCertPath: installed?.caCertPath ?? undefined,
                        certificateSerial: (pem ? serialOf(pem) : null) ?? undefined,
                        certificateNotAfter: notAfter ?? "",
                        certificateDaysLeft: expiry?.daysLeft,
                        certificateRenewsOnNextUp: expiry?.renewsOnNextUp,
                        startedMonitor: installed?.startedMonitor ?? false,
                        startedIkeDaemon: installed?.startedIkeDaemon ?? false,
                        live: liveOf((reports ?? []).find((r) => r.node === node.name)),
                    };
                }),
            ),
        );
        return {
            caCertPem,
            caExpiry: ca.cert.validityEndTime.apply((end) => expiryOf(end ?? "", 0, new Date()) ?? undefined),
            enabled: ipsecSwitch.enabled,
            status: pulumi.all([status.reports, status.summary]).apply(([reports, summary]) => ({ nodes: reports ?? [], summary })),
            nodes,
        };
    }
}
