/**
 * Asks every node for its IPsec status, in parallel with a bound, optionally waiting for a
 * condition until a deadline. One unreachable node never hides the others' reports.
 */
import type { NodeSpec, WaitFor } from "../args";
import { ExecPolicy, ResolvedAccess, ovsdbTimeoutFor } from "../transport/access";
import { nodeEndpoints } from "../transport/endpoints";
import { Endpoint, runRemote } from "../transport/exec";
import { errorMessage, isRemoteError } from "../transport/remoteError";
import { newBoundary } from "../transport/scriptKit";
import { mapSettled } from "../util/concurrency";
import { Expectation, NodeStatusReport, evaluateNode, unreachableNode } from "./nodeStatus";
import { WaitMode, parseStatusOutput, statusScript } from "./statusScript";

export interface CollectRequest {
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
    nodes: NodeSpec[];
    enabled: boolean;
    /** What to wait for; `none` asks once. */
    waitFor: WaitFor;
    /** Absolute deadline (ms since epoch) for the wait. */
    deadline: number;
}

function waitMode(enabled: boolean, waitFor: WaitFor): WaitMode {
    if (waitFor === "none") return "none";
    return enabled ? waitFor : "disabled";
}

async function collectNode(req: CollectRequest, expect: Expectation, endpoint: Endpoint): Promise<NodeStatusReport> {
    const mode = waitMode(req.enabled, req.waitFor);
    for (;;) {
        const waitSeconds = Math.max(0, Math.floor((req.deadline - Date.now()) / 1000));
        const boundary = newBoundary();
        const result = await runRemote(
            req.access,
            endpoint,
            {
                step: "read-status",
                script: statusScript({ boundary, ovsdbTimeoutSeconds: ovsdbTimeoutFor(req.exec), mode, peerSystemIds: expect.peers.map((p) => p.systemId), waitSeconds }),
                // The exec may legitimately last as long as the in-pod wait.
                timeoutSeconds: waitSeconds + req.exec.timeoutSeconds,
            },
            req.exec,
        );
        const report = evaluateNode(expect, parseStatusOutput(result.stdout, boundary));
        if (report.ready || mode === "none" || Date.now() >= req.deadline) return report;
        // The pod's quick check and our parse disagreed (a tunnel changing while it printed):
        // pause briefly so that disagreement cannot turn into a hot loop, then ask again.
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, req.deadline - Date.now()))));
    }
}

/** Status of every node; never throws for a single node, it reports it unreachable instead. */
export async function collectStatus(req: CollectRequest): Promise<NodeStatusReport[]> {
    const names = req.nodes.map((n) => n.name);
    const expectations: Expectation[] = req.nodes.map((n) => ({
        node: n.name,
        systemId: n.systemId,
        peers: req.nodes.filter((p) => p.name !== n.name),
        enabled: req.enabled,
        waitFor: req.waitFor,
    }));
    let endpoints: Map<string, Endpoint | Error>;
    try {
        endpoints = await nodeEndpoints(req.access, names, req.exec);
    } catch (e) {
        // The pod list itself failed (API down): every node is unreachable for the same reason.
        const message = errorMessage(e);
        return expectations.map((x) => unreachableNode(x, message));
    }
    const settled = await mapSettled(expectations, req.parallelism, async (expect) => {
        const endpoint = endpoints.get(expect.node);
        if (!endpoint || endpoint instanceof Error) throw endpoint ?? new Error("no endpoint");
        return collectNode(req, expect, endpoint);
    });
    return settled.map((s, i) => {
        if (s.ok) return s.value;
        return unreachableNode(expectations[i], isRemoteError(s.error) || s.error instanceof Error ? errorMessage(s.error) : String(s.error));
    });
}
