/**
 * Reading a node: one exec of the observe script, under the host-wide limit, remembered for
 * the rest of this deployment (host/hostState.ts) so that whoever asks next (the status after
 * the node's own check) can reuse it while nothing changed on the node since.
 * An observation never throws: a node that cannot be read is an observation saying so.
 */
import { hostState, limited } from "../host/hostState";
import { ExecPolicy, ResolvedAccess, scriptLimits } from "../transport/access";
import { Endpoint, runRemote } from "../transport/exec";
import { nodeEndpoint } from "../transport/endpoints";
import { errorMessage } from "../transport/remoteError";
import { newBoundary } from "../transport/scriptKit";
import { NodeObservation, parseObservation, unreadableNode } from "./nodeObservation";
import { WaitMode, observeScript } from "./observeScript";

export interface ObserveRequest {
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
    node: string;
    /** What to wait for in the pod before reporting ("none": report at once). */
    mode: WaitMode;
    peerSystemIds: readonly string[];
    waitSeconds: number;
    /** An endpoint already looked up (status looks up every pod with one API call). */
    endpoint?: Endpoint;
}

/** Which cluster a resource talks to: nodes of different clusters never share observations. */
export function clusterKey(access: ResolvedAccess): string {
    return access.kind === "kubectl"
        ? JSON.stringify(["kubectl", access.kubeconfig, access.context, access.namespace])
        : JSON.stringify(["command", access.prefix, access.targets.central]);
}

export function nodeKey(access: ResolvedAccess, node: string): string {
    const target = access.kind === "command" ? access.targets.nodes[node] ?? node : node;
    return `${clusterKey(access)}/${target}`;
}

async function readNode(req: ObserveRequest): Promise<NodeObservation> {
    const boundary = newBoundary();
    const started = new Date();
    try {
        const stdout = await limited(req.parallelism, async () => {
            const endpoint = req.endpoint ?? (await nodeEndpoint(req.access, req.node, req.exec));
            const limits = scriptLimits(req.exec, req.waitSeconds);
            const script = observeScript({ boundary, limits, mode: req.mode, peerSystemIds: req.peerSystemIds, waitSeconds: req.waitSeconds });
            const result = await runRemote(req.access, endpoint, { step: "observe", script, timeoutSeconds: req.exec.timeoutSeconds + Math.max(0, Math.floor(req.waitSeconds)) }, req.exec);
            return result.stdout;
        });
        return parseObservation(req.node, stdout, boundary, new Date());
    } catch (e) {
        return unreadableNode(req.node, errorMessage(e), started);
    }
}

/**
 * Reads a node now. Concurrent plain reads of one node share one exec (a check and a refresh
 * of the same node in one deployment ask at the same moment).
 */
export async function observeNode(req: ObserveRequest): Promise<NodeObservation> {
    const state = hostState();
    const key = nodeKey(req.access, req.node);
    const plain = req.mode === "none" || req.waitSeconds <= 0;
    const running = plain ? state.inflight[key] : undefined;
    if (running) return running;
    const read = readNode(req).then((value) => {
        state.observations[key] = { at: Date.parse(value.observedAt), value };
        return value;
    });
    if (plain) {
        state.inflight[key] = read;
        void read.finally(() => {
            if (state.inflight[key] === read) state.inflight[key] = undefined;
        });
    }
    return read;
}

/**
 * This deployment's last observation of a node, if it was made after the last change we made
 * to that node and to the cluster's nb_global ipsec; else null (ask again).
 */
export function freshObservation(access: ResolvedAccess, node: string): NodeObservation | null {
    const state = hostState();
    const seen = state.observations[nodeKey(access, node)];
    if (!seen || !seen.value.reachable) return null;
    const changed = Math.max(state.changedAt[nodeKey(access, node)] ?? 0, state.switchChangedAt[clusterKey(access)] ?? 0);
    return seen.at > changed ? seen.value : null;
}

/** Our command changed this node (or may have: it failed midway): later readers must ask again. */
export function markNodeChanged(access: ResolvedAccess, node: string): void {
    hostState().changedAt[nodeKey(access, node)] = Date.now();
}

/** nb_global ipsec changed: every node's tunnels change with it. */
export function markSwitchChanged(access: ResolvedAccess): void {
    hostState().switchChangedAt[clusterKey(access)] = Date.now();
}
