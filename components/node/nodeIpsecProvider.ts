/**
 * Dynamic provider of one node's IPsec configuration (serialized into the stack; runs in
 * Pulumi's dynamic-provider host). Every operation is one exec round trip into the node's OVS
 * pod. The private key is an input (secret) and travels on stdin; it is never an output.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ExecPolicy, ResolvedAccess, ovsdbTimeoutFor, serviceTimeoutFor } from "../transport/access";
import { nodeEndpoint } from "../transport/endpoints";
import { runKubectl, runRemote } from "../transport/exec";
import { isRemoteError } from "../transport/remoteError";
import { newBoundary, parseFacts, parseSections } from "../transport/scriptKit";
import { Limiter, createLimiter } from "../util/concurrency";
import { isUnknownInput } from "../util/unknown";
import { FILE_PREFIX, IPSEC_DIR, nodeFilePaths, sha256Hex } from "./nodeFiles";
import { PreviousConfig, applyPayload, applyScript, readScript, removeScript } from "./nodeScripts";

/** How this node is reached: one input (and one output), to keep properties per node few. */
export interface NodeTransport {
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
}

/** Inputs, as the engine passes them (secrets already unwrapped). */
export interface NodeIpsecInputs {
    node: string;
    systemId: string;
    transport: NodeTransport;
    caCertPem: string;
    certPem: string;
    privateKeyPem: string;
}

/** What the node reported the last time we asked (apply or refresh). */
export interface NodeLiveState {
    systemId: string;
    /** other_config points at exactly the files we installed. */
    configured: boolean;
    /** The installed files have the content we sent (by sha256). */
    filesIntact: boolean;
    /** Mode of the private key file, e.g. `600`. */
    privateKeyMode: string;
    monitorRunning: boolean;
    ikeDaemonRunning: boolean;
    /** Set when the node could not be read (refresh only). */
    error: string | null;
}

/** What was installed on the node: paths and digests of public certificates. */
export interface NodeInstalled {
    certificatePath: string;
    privateKeyPath: string;
    caCertPath: string;
    certSha256: string;
    caCertSha256: string;
    /** Services this component started (and so stops on delete). */
    startedMonitor: boolean;
    startedIkeDaemon: boolean;
    /** other_config values found before the first apply, restored on delete. */
    previous: PreviousConfig | null;
}

/** Outputs (state): no key material. Few properties on purpose (each costs the SDK promises). */
export interface NodeIpsecOutputs {
    node: string;
    systemId: string;
    transport: NodeTransport;
    installed: NodeInstalled;
    /** Private key file digest (a secret output): lets refresh see a replaced key file. */
    privateKeyFileSha256: string;
    live: NodeLiveState;
}


// One limiter per parallelism value, shared by every node resource this provider serves:
// the engine may run many resources at once, the nodes still see at most `parallelism` execs.
const limiters: Record<number, Limiter> = {};
function limited<T>(parallelism: number, task: () => Promise<T>): Promise<T> {
    const limiter = limiters[parallelism] ?? (limiters[parallelism] = createLimiter(parallelism));
    return limiter.run(task);
}

function liveFrom(facts: Record<string, string>, expected: NodeInstalled, privateKeyFileSha256: string): NodeLiveState {
    return {
        systemId: facts.system_id ?? "",
        configured:
            facts.other_config_certificate === expected.certificatePath &&
            facts.other_config_private_key === expected.privateKeyPath &&
            facts.other_config_ca_cert === expected.caCertPath,
        filesIntact:
            facts.sha256_certificate === expected.certSha256 &&
            facts.sha256_ca_cert === expected.caCertSha256 &&
            facts.sha256_private_key === privateKeyFileSha256,
        privateKeyMode: facts.mode_private_key ?? "",
        monitorRunning: facts.monitor_running === "1",
        ikeDaemonRunning: facts.ike_running === "1",
        error: null,
    };
}

function isOurPath(path: string): boolean {
    return path.startsWith(`${IPSEC_DIR}/`) && path.includes(`/${FILE_PREFIX}`);
}

async function apply(inputs: NodeIpsecInputs, olds: NodeIpsecOutputs | null): Promise<NodeIpsecOutputs> {
    const { access, exec, parallelism } = inputs.transport;
    const paths = nodeFilePaths(inputs.systemId, inputs.certPem, inputs.caCertPem);
    const sha256 = { certificate: sha256Hex(inputs.certPem), privateKey: sha256Hex(inputs.privateKeyPem), caCert: sha256Hex(inputs.caCertPem) };
    const boundary = newBoundary();
    const result = await limited(parallelism, async () =>
        runRemote(
            access,
            await nodeEndpoint(access, inputs.node, exec),
            {
                step: "apply",
                script: applyScript({ boundary, systemId: inputs.systemId, paths, sha256, ovsdbTimeoutSeconds: ovsdbTimeoutFor(exec), serviceTimeoutSeconds: serviceTimeoutFor(exec) }),
                stdin: applyPayload(inputs.caCertPem, inputs.certPem, inputs.privateKeyPem),
            },
            exec,
        ),
    );
    const sections = parseSections(result.stdout, boundary);
    const before = parseFacts(sections.get("previous"));
    const started = parseFacts(sections.get("started"));
    // Remember what was there before us only once (on the first apply); later applies see our own paths.
    let previous = olds ? olds.installed.previous : null;
    if (!olds && before.certificate && !isOurPath(before.certificate)) {
        previous = { certificate: before.certificate, privateKey: before.private_key ?? "", caCert: before.ca_cert ?? "" };
    }
    const installed: NodeInstalled = {
        certificatePath: paths.certificate,
        privateKeyPath: paths.privateKey,
        caCertPath: paths.caCert,
        certSha256: sha256.certificate,
        caCertSha256: sha256.caCert,
        startedMonitor: (olds?.installed.startedMonitor ?? false) || started.monitor === "1",
        startedIkeDaemon: (olds?.installed.startedIkeDaemon ?? false) || started.ike === "1",
        previous,
    };
    return {
        node: inputs.node,
        systemId: inputs.systemId,
        transport: inputs.transport,
        installed,
        privateKeyFileSha256: sha256.privateKey,
        live: liveFrom(parseFacts(sections.get("facts")), installed, sha256.privateKey),
    };
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

function sameJson(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/;
const PEM_KEY = /^-----BEGIN (RSA |EC )?PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END (RSA |EC )?PRIVATE KEY-----\n?$/;

export const nodeIpsecProvider: pulumi.dynamic.ResourceProvider = {
    /** Re-checks what matters at the node boundary; reasons never include the values. */
    async check(_olds: NodeIpsecInputs, news: NodeIpsecInputs) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        // In a preview, values not known yet arrive as the unknown sentinel: nothing to check yet.
        const known = (v: unknown): v is string => typeof v === "string" && !isUnknownInput(v);
        if (known(news.certPem) && !PEM_CERT.test(news.certPem)) failures.push({ property: "certPem", reason: "must be one PEM certificate" });
        if (known(news.caCertPem) && !PEM_CERT.test(news.caCertPem)) failures.push({ property: "caCertPem", reason: "must be one PEM certificate" });
        if (known(news.privateKeyPem) && !PEM_KEY.test(news.privateKeyPem)) failures.push({ property: "privateKeyPem", reason: "must be one PEM private key" });
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: NodeIpsecOutputs, news: NodeIpsecInputs) {
        const replaces = olds.node !== news.node ? ["node"] : [];
        const drifted = olds.live !== undefined && (!olds.live.configured || !olds.live.filesIntact || !olds.live.monitorRunning || !olds.live.ikeDaemonRunning);
        const changes =
            replaces.length > 0 ||
            olds.systemId !== news.systemId ||
            olds.installed.certSha256 !== sha256Hex(news.certPem) ||
            olds.installed.caCertSha256 !== sha256Hex(news.caCertPem) ||
            olds.privateKeyFileSha256 !== sha256Hex(news.privateKeyPem) ||
            !sameJson(olds.transport, news.transport) ||
            drifted;
        return { changes, replaces, deleteBeforeReplace: true };
    },

    async create(inputs: NodeIpsecInputs) {
        const outs = await apply(inputs, null);
        return { id: `node/${inputs.node}`, outs };
    },

    async update(_id: string, olds: NodeIpsecOutputs, news: NodeIpsecInputs) {
        return { outs: await apply(news, olds) };
    },

    /** Refresh: what the node has now. An unreachable node is reported, not fatal. */
    async read(id: string, props: NodeIpsecOutputs) {
        const { access, exec, parallelism } = props.transport;
        const boundary = newBoundary();
        try {
            const result = await limited(parallelism, async () =>
                runRemote(access, await nodeEndpoint(access, props.node, exec), { step: "read", script: readScript({ boundary, ovsdbTimeoutSeconds: ovsdbTimeoutFor(exec), serviceTimeoutSeconds: serviceTimeoutFor(exec) }) }, exec),
            );
            return { id, props: { ...props, live: liveFrom(parseFacts(parseSections(result.stdout, boundary).get("facts")), props.installed, props.privateKeyFileSha256) } };
        } catch (e) {
            const error = e instanceof Error ? e.message : String(e);
            return { id, props: { ...props, live: { ...props.live, configured: false, error } } };
        }
    },

    async delete(_id: string, props: NodeIpsecOutputs) {
        const { access, exec, parallelism } = props.transport;
        const { previous, startedMonitor, startedIkeDaemon } = props.installed;
        const boundary = newBoundary();
        let endpoint;
        try {
            endpoint = await nodeEndpoint(access, props.node, exec);
        } catch (e) {
            if (await nodeIsGone(props.node, props.transport)) return; // the node left the cluster: nothing to clean
            throw e;
        }
        await limited(parallelism, () =>
            runRemote(
                access,
                endpoint,
                {
                    step: "remove",
                    script: removeScript({ boundary, restore: previous, stopMonitor: startedMonitor, stopIkeDaemon: startedIkeDaemon, ovsdbTimeoutSeconds: ovsdbTimeoutFor(exec), serviceTimeoutSeconds: serviceTimeoutFor(exec) }),
                },
                exec,
            ),
        );
    },
};
