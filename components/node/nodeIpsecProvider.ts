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
import { FILE_PREFIX, IPSEC_DIR, nodeFilePaths, sha256Hex } from "./nodeFiles";
import { PreviousConfig, applyPayload, applyScript, readScript, removeScript } from "./nodeScripts";

/** Inputs, as the engine passes them (secrets already unwrapped). */
export interface NodeIpsecInputs {
    node: string;
    systemId: string;
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
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

/** Outputs (state): no key material, only paths and digests of public certificates. */
export interface NodeIpsecOutputs {
    node: string;
    systemId: string;
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
    certificatePath: string;
    privateKeyPath: string;
    caCertPath: string;
    certSha256: string;
    caCertSha256: string;
    /** Private key file digest: lets refresh see a tampered key without storing the key. */
    privateKeyFileSha256: string;
    startedMonitor: boolean;
    startedIkeDaemon: boolean;
    previous: PreviousConfig | null;
    live: NodeLiveState;
}


// One limiter per parallelism value, shared by every node resource this provider serves:
// the engine may run many resources at once, the nodes still see at most `parallelism` execs.
const limiters: Record<number, Limiter> = {};
function limited<T>(parallelism: number, task: () => Promise<T>): Promise<T> {
    const limiter = limiters[parallelism] ?? (limiters[parallelism] = createLimiter(parallelism));
    return limiter.run(task);
}

function liveFrom(facts: Record<string, string>, expected: { certificatePath: string; privateKeyPath: string; caCertPath: string; certSha256: string; caCertSha256: string; privateKeyFileSha256: string }): NodeLiveState {
    return {
        systemId: facts.system_id ?? "",
        configured:
            facts.other_config_certificate === expected.certificatePath &&
            facts.other_config_private_key === expected.privateKeyPath &&
            facts.other_config_ca_cert === expected.caCertPath,
        filesIntact:
            facts.sha256_certificate === expected.certSha256 &&
            facts.sha256_ca_cert === expected.caCertSha256 &&
            facts.sha256_private_key === expected.privateKeyFileSha256,
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
    const paths = nodeFilePaths(inputs.systemId, inputs.certPem, inputs.caCertPem);
    const sha256 = { certificate: sha256Hex(inputs.certPem), privateKey: sha256Hex(inputs.privateKeyPem), caCert: sha256Hex(inputs.caCertPem) };
    const boundary = newBoundary();
    const result = await limited(inputs.parallelism, async () =>
        runRemote(
            inputs.access,
            await nodeEndpoint(inputs.access, inputs.node, inputs.exec),
            {
                step: "apply",
                script: applyScript({ boundary, systemId: inputs.systemId, paths, sha256, ovsdbTimeoutSeconds: ovsdbTimeoutFor(inputs.exec), serviceTimeoutSeconds: serviceTimeoutFor(inputs.exec) }),
                stdin: applyPayload(inputs.caCertPem, inputs.certPem, inputs.privateKeyPem),
            },
            inputs.exec,
        ),
    );
    const sections = parseSections(result.stdout, boundary);
    const before = parseFacts(sections.get("previous"));
    const started = parseFacts(sections.get("started"));
    // Remember what was there before us only once (on the first apply); later applies see our own paths.
    let previous = olds ? olds.previous : null;
    if (!olds && before.certificate && !isOurPath(before.certificate)) {
        previous = { certificate: before.certificate, privateKey: before.private_key ?? "", caCert: before.ca_cert ?? "" };
    }
    const expected = {
        certificatePath: paths.certificate,
        privateKeyPath: paths.privateKey,
        caCertPath: paths.caCert,
        certSha256: sha256.certificate,
        caCertSha256: sha256.caCert,
        privateKeyFileSha256: sha256.privateKey,
    };
    return {
        node: inputs.node,
        systemId: inputs.systemId,
        access: inputs.access,
        exec: inputs.exec,
        parallelism: inputs.parallelism,
        ...expected,
        startedMonitor: (olds?.startedMonitor ?? false) || started.monitor === "1",
        startedIkeDaemon: (olds?.startedIkeDaemon ?? false) || started.ike === "1",
        previous,
        live: liveFrom(parseFacts(sections.get("facts")), expected),
    };
}

/** With kubectl, a node whose Node object is gone has nothing left to clean. */
async function nodeIsGone(inputs: Pick<NodeIpsecOutputs, "node" | "access" | "exec">): Promise<boolean> {
    if (inputs.access.kind !== "kubectl") return false;
    try {
        await runKubectl(inputs.access, ["get", "node", inputs.node, "--output=name"], "check-node", { ...inputs.exec, retries: 0 });
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
        if (typeof news.certPem === "string" && !PEM_CERT.test(news.certPem)) failures.push({ property: "certPem", reason: "must be one PEM certificate" });
        if (typeof news.caCertPem === "string" && !PEM_CERT.test(news.caCertPem)) failures.push({ property: "caCertPem", reason: "must be one PEM certificate" });
        if (typeof news.privateKeyPem === "string" && !PEM_KEY.test(news.privateKeyPem)) failures.push({ property: "privateKeyPem", reason: "must be one PEM private key" });
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: NodeIpsecOutputs, news: NodeIpsecInputs) {
        const replaces = olds.node !== news.node ? ["node"] : [];
        const drifted = olds.live !== undefined && (!olds.live.configured || !olds.live.filesIntact || !olds.live.monitorRunning || !olds.live.ikeDaemonRunning);
        const changes =
            replaces.length > 0 ||
            olds.systemId !== news.systemId ||
            olds.certSha256 !== sha256Hex(news.certPem) ||
            olds.caCertSha256 !== sha256Hex(news.caCertPem) ||
            olds.privateKeyFileSha256 !== sha256Hex(news.privateKeyPem) ||
            !sameJson(olds.access, news.access) ||
            !sameJson(olds.exec, news.exec) ||
            olds.parallelism !== news.parallelism ||
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
        const boundary = newBoundary();
        try {
            const result = await limited(props.parallelism, async () =>
                runRemote(props.access, await nodeEndpoint(props.access, props.node, props.exec), { step: "read", script: readScript({ boundary, ovsdbTimeoutSeconds: ovsdbTimeoutFor(props.exec), serviceTimeoutSeconds: serviceTimeoutFor(props.exec) }) }, props.exec),
            );
            return { id, props: { ...props, live: liveFrom(parseFacts(parseSections(result.stdout, boundary).get("facts")), props) } };
        } catch (e) {
            const error = e instanceof Error ? e.message : String(e);
            return { id, props: { ...props, live: { ...props.live, configured: false, error } } };
        }
    },

    async delete(_id: string, props: NodeIpsecOutputs) {
        const boundary = newBoundary();
        let endpoint;
        try {
            endpoint = await nodeEndpoint(props.access, props.node, props.exec);
        } catch (e) {
            if (await nodeIsGone(props)) return; // the node left the cluster: nothing to clean
            throw e;
        }
        await limited(props.parallelism, () =>
            runRemote(
                props.access,
                endpoint,
                {
                    step: "remove",
                    script: removeScript({ boundary, restore: props.previous, stopMonitor: props.startedMonitor, stopIkeDaemon: props.startedIkeDaemon, ovsdbTimeoutSeconds: ovsdbTimeoutFor(props.exec), serviceTimeoutSeconds: serviceTimeoutFor(props.exec) }),
                },
                props.exec,
            ),
        );
    },
};
