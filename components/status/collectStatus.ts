/**
 * Every node's status, in parallel (bounded by the host-wide node limit), optionally waiting
 * for a condition until a deadline. A node's observation from earlier in this deployment is
 * reused when nothing changed on it (or on nb_global) since, so a run that changes nothing
 * reads each node once. One unreachable node never hides the others' reports.
 */
import type { NodeSpec, WaitFor } from "../args";
import { freshObservation, observeNode } from "../observe/observeNode";
import type { WaitMode } from "../observe/observeScript";
import { ExecPolicy, ResolvedAccess } from "../transport/access";
import { nodeEndpoints } from "../transport/endpoints";
import type { Endpoint } from "../transport/exec";
import { errorMessage } from "../transport/remoteError";
import { unreadableNode } from "../observe/nodeObservation";
import { Expectation, NodeStatusReport, evaluateNode } from "./nodeStatus";

export interface CollectRequest {
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
    nodes: NodeSpec[];
    enabled: boolean;
    failClosed: boolean;
    /** UDP encapsulation should be forced on every tunnel (unset in states written before it existed: false). */
    natTraversal?: boolean;
    /** The current CA's fingerprint (nodeFiles.fingerprint of its PEM). */
    caFingerprint?: string;
    /** What to wait for; `none` asks once. */
    waitFor: WaitFor;
    /** Absolute deadline (ms since epoch) for the wait. */
    deadline: number;
    /** Use this deployment's earlier observations of unchanged nodes (not on refresh). */
    reuse: boolean;
}

function waitMode(enabled: boolean, waitFor: WaitFor): WaitMode {
    if (waitFor === "none") return "none";
    return enabled ? waitFor : "disabled";
}

async function collectNode(req: CollectRequest, expect: Expectation, endpoint: Endpoint): Promise<NodeStatusReport> {
    const mode = waitMode(req.enabled, req.waitFor);
    if (req.reuse) {
        const seen = freshObservation(req.access, expect.node);
        if (seen) {
            const report = evaluateNode(expect, seen);
            if (report.ready || mode === "none") return report;
        }
    }
    for (;;) {
        const waitSeconds = mode === "none" ? 0 : Math.max(0, Math.floor((req.deadline - Date.now()) / 1000));
        const observation = await observeNode({ access: req.access, exec: req.exec, parallelism: req.parallelism, node: expect.node, mode, peerSystemIds: expect.peers.map((p) => p.systemId), waitSeconds, endpoint });
        const report = evaluateNode(expect, observation);
        if (report.ready || mode === "none" || !observation.reachable || Date.now() >= req.deadline) return report;
        // The pod's quick check and our verdict disagreed (a tunnel changing while it printed, a
        // policy not yet in the kernel): pause briefly so that this cannot become a hot loop.
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, req.deadline - Date.now()))));
    }
}

/** Status of every node; never throws for a single node, it reports it unknown instead. */
export async function collectStatus(req: CollectRequest): Promise<NodeStatusReport[]> {
    const names = req.nodes.map((n) => n.name);
    const expectations: Expectation[] = req.nodes.map((n) => ({
        node: n.name,
        systemId: n.systemId,
        peers: req.nodes.filter((p) => p.name !== n.name),
        enabled: req.enabled,
        waitFor: req.waitFor,
        failClosed: req.failClosed,
        natTraversal: req.natTraversal ?? false,
        caFingerprint: req.caFingerprint,
    }));
    let endpoints: Map<string, Endpoint | Error>;
    try {
        endpoints = await nodeEndpoints(req.access, names, req.exec);
    } catch (e) {
        // The pod list itself failed (API down): every node is unknown for the same reason.
        const message = errorMessage(e);
        return expectations.map((x) => evaluateNode(x, unreadableNode(x.node, message, new Date())));
    }
    return Promise.all(
        expectations.map(async (expect) => {
            const endpoint = endpoints.get(expect.node);
            if (!endpoint || endpoint instanceof Error) return evaluateNode(expect, unreadableNode(expect.node, errorMessage(endpoint ?? new Error("no endpoint")), new Date()));
            try {
                return await collectNode(req, expect, endpoint);
            } catch (e) {
                return evaluateNode(expect, unreadableNode(expect.node, errorMessage(e), new Date()));
            }
        }),
    );
}
