/**
 * Dynamic provider of one node's IPsec configuration (serialized into the stack; runs in
 * Pulumi's dynamic-provider host). The private key is an input (secret) and travels on stdin;
 * it is never an output.
 *
 * Every `up` observes before it decides: `check` reads the node (one read-only exec) and puts
 * what is wrong with it into the `drift` input, so that `pulumi preview` shows which nodes will
 * be repaired and why, and `diff` reports a change for a drifted node even when nothing in the
 * program changed. The repair itself is the apply: one exec.
 */
import type * as pulumi from "@pulumi/pulumi";
import { freshObservation, markNodeChanged, observeNode } from "../observe/observeNode";
import { NodeObservation, parseObservation } from "../observe/nodeObservation";
import { ExecPolicy, ResolvedAccess, scriptLimits } from "../transport/access";
import { nodeEndpoint } from "../transport/endpoints";
import { runKubectl, runRemote } from "../transport/exec";
import { isRemoteError } from "../transport/remoteError";
import { newBoundary } from "../transport/scriptKit";
import { limited } from "../host/hostState";
import { containsUnknown, isUnknown } from "../util/unknown";
import { applyScript } from "./applyScript";
import { nodeDrift } from "./drift";
import { nodeFilePaths, sha256Hex } from "./nodeFiles";
import { applyPayload } from "./nodePayload";
import { removeScript } from "./removeScript";

/** How this node is reached: one input (and one output), to keep properties per node few. */
export interface NodeTransport {
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
}

/** What the program gives (secrets already unwrapped by the engine). */
export interface NodeIpsecArgsPlain {
    node: string;
    systemId: string;
    transport: NodeTransport;
    caCertPem: string;
    certPem: string;
    privateKeyPem: string;
    /** The fail-closed guard must be in place (failClosed and IPsec enabled). */
    guard: boolean;
}

/** The inputs after check: plus what this run observed on the node. */
export interface NodeIpsecInputs extends NodeIpsecArgsPlain {
    /** What is wrong with the node now (empty: nothing); set by check, never by the program. */
    drift: string[];
    /** The daemons run but the kernel lost their policies: the apply restarts them. */
    restartServices: boolean;
}

/** What was installed on the node: paths and digests of public certificates. */
export interface NodeInstalled {
    certificatePath: string;
    privateKeyPath: string;
    caCertPath: string;
    certSha256: string;
    caCertSha256: string;
    /** Services this component started (and so stops on delete), as the node's marker says. */
    startedMonitor: boolean;
    startedIkeDaemon: boolean;
    /** The node holds our record of what other_config was before us (restored on delete). */
    beforeRecorded: boolean;
    guard: boolean;
}

/** Outputs (state): no key material; nothing that changes by itself (that is the status's). */
export interface NodeIpsecOutputs {
    node: string;
    systemId: string;
    transport: NodeTransport;
    guard: boolean;
    installed: NodeInstalled;
}

function installedFrom(inputs: NodeIpsecArgsPlain, after: NodeObservation): NodeInstalled {
    const paths = nodeFilePaths(inputs.systemId, inputs.certPem, inputs.caCertPem);
    return {
        certificatePath: paths.certificate,
        privateKeyPath: paths.privateKey,
        caCertPath: paths.caCert,
        certSha256: sha256Hex(inputs.certPem),
        caCertSha256: sha256Hex(inputs.caCertPem),
        startedMonitor: after.startedByUs.monitor,
        startedIkeDaemon: after.startedByUs.ike,
        beforeRecorded: after.beforeRecorded,
        guard: inputs.guard,
    };
}

async function apply(inputs: NodeIpsecInputs): Promise<NodeIpsecOutputs> {
    const { access, exec, parallelism } = inputs.transport;
    const paths = nodeFilePaths(inputs.systemId, inputs.certPem, inputs.caCertPem);
    const boundary = newBoundary();
    try {
        const result = await limited(parallelism, async () =>
            runRemote(
                access,
                await nodeEndpoint(access, inputs.node, exec),
                {
                    step: "apply",
                    script: applyScript({ boundary, limits: scriptLimits(exec), systemId: inputs.systemId, paths, guard: inputs.guard, restartServices: inputs.restartServices === true }),
                    stdin: applyPayload({ caCert: inputs.caCertPem, certificate: inputs.certPem, privateKey: inputs.privateKeyPem }),
                },
                exec,
            ),
        );
        const after = parseObservation(inputs.node, result.stdout, boundary, new Date());
        return { node: inputs.node, systemId: inputs.systemId, transport: inputs.transport, guard: inputs.guard, installed: installedFrom(inputs, after) };
    } finally {
        // Changed, or may have (a failure midway): whoever reads this node next must ask again.
        markNodeChanged(access, inputs.node);
    }
}

/** With kubectl, a node whose Node object is gone has nothing left to clean. */
async function nodeIsGone(node: string, { access, exec }: NodeTransport): Promise<boolean> {
    if (access.kind !== "kubectl") return false;
    try {
        await runKubectl(access, ["get", "node", node, "--output=name"], "check-node", { ...exec, retries: 0 });
        return false;
    } catch (e) {
        return isRemoteError(e) && /NotFound|not found/.test(e.message);
    }
}

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/;
const PEM_KEY = /^-----BEGIN (RSA |EC )?PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END (RSA |EC )?PRIVATE KEY-----\n?$/;

/** An input that is known and differs, or that is not known yet (it will be, after up). */
function changed(old: string | undefined, next: string): boolean {
    return isUnknown(next) || old !== next;
}

export const nodeIpsecProvider: pulumi.dynamic.ResourceProvider = {
    /**
     * Re-checks what matters at the node boundary (reasons never include the values), then,
     * for a node we already manage, reads it and records what is wrong with it as `drift`.
     * Values not known yet (a preview) are neither validated nor used.
     */
    async check(olds: Partial<NodeIpsecInputs>, news: NodeIpsecArgsPlain) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const pem = (value: unknown, re: RegExp): boolean => typeof value !== "string" || isUnknown(value) || re.test(value);
        if (!pem(news.certPem, PEM_CERT)) failures.push({ property: "certPem", reason: "must be one PEM certificate" });
        if (!pem(news.caCertPem, PEM_CERT)) failures.push({ property: "caCertPem", reason: "must be one PEM certificate" });
        if (!pem(news.privateKeyPem, PEM_KEY)) failures.push({ property: "privateKeyPem", reason: "must be one PEM private key" });
        let drift: string[] = [];
        let restartServices = false;
        const known = !containsUnknown([news.node, news.systemId, news.transport, news.guard]);
        // A new resource needs no reading: its create installs everything anyway.
        if (failures.length === 0 && known && olds.node !== undefined) {
            const { access, exec, parallelism } = news.transport;
            // A read made earlier in this deployment (the refresh's status, refresh: always) is
            // reused while nothing changed on the node since: one exec per node per run.
            // No retries: a node this read cannot reach is reported as drift, and the apply that
            // follows has the retries (and says what failed).
            const observation = freshObservation(access, news.node) ?? await observeNode({ access, exec: { ...exec, retries: 0 }, parallelism, node: news.node, mode: "none", peerSystemIds: [], waitSeconds: 0 });
            const certsKnown = !isUnknown(news.certPem) && !isUnknown(news.caCertPem);
            const paths = certsKnown ? nodeFilePaths(news.systemId, news.certPem, news.caCertPem) : null;
            // With the certificates not known yet (a rotation in preview) a change is coming anyway:
            // only what is wrong besides the paths is reported.
            const found = nodeDrift({ systemId: news.systemId, paths: paths ?? { certificate: "", privateKey: "", caCert: "" }, guard: news.guard }, observation);
            drift = paths ? found.reasons : found.reasons.filter((r) => !r.startsWith("other_config:"));
            restartServices = found.restartServices;
        }
        const inputs: NodeIpsecInputs = { ...news, drift, restartServices };
        return { inputs, failures };
    },

    async diff(_id: string, olds: NodeIpsecOutputs, news: NodeIpsecInputs) {
        const replaces = olds.node !== news.node ? ["node"] : [];
        const changes =
            replaces.length > 0 ||
            olds.systemId !== news.systemId ||
            changed(olds.installed?.certSha256, isUnknown(news.certPem) ? news.certPem : sha256Hex(news.certPem)) ||
            changed(olds.installed?.caCertSha256, isUnknown(news.caCertPem) ? news.caCertPem : sha256Hex(news.caCertPem)) ||
            JSON.stringify(olds.transport) !== JSON.stringify(news.transport) ||
            olds.guard !== news.guard ||
            (news.drift ?? []).length > 0;
        return { changes, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: NodeIpsecInputs) {
        return { id: `node/${inputs.node}`, outs: await apply(inputs) };
    },

    async update(_id: string, _olds: NodeIpsecOutputs, news: NodeIpsecInputs) {
        return { outs: await apply(news) };
    },

    /** Refresh: nothing here changes by itself; the status resource reads the nodes. */
    async read(id: string, props: NodeIpsecOutputs) {
        return { id, props };
    },

    async delete(_id: string, props: NodeIpsecOutputs) {
        const { access, exec, parallelism } = props.transport;
        const boundary = newBoundary();
        let endpoint;
        try {
            endpoint = await nodeEndpoint(access, props.node, exec);
        } catch (e) {
            if (await nodeIsGone(props.node, props.transport)) return; // the node left the cluster: nothing to clean
            throw e;
        }
        try {
            await limited(parallelism, () => runRemote(access, endpoint, { step: "remove", script: removeScript({ boundary, limits: scriptLimits(exec) }) }, exec));
        } finally {
            markNodeChanged(access, props.node);
        }
    },
};
