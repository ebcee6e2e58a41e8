/**
 * State shared by every kube-ovn-ipsec provider in one dynamic-provider host process.
 *
 * Pulumi runs one dynamic-provider host per deployment (a preview, an update, a refresh), and
 * each of our dynamic resources reaches it as its own serialized closure: module-level
 * variables are NOT shared between the node, switch and status providers. What must be shared
 * lives here, on `globalThis` under one well-known key:
 *
 *   - one limiter per `parallelism` value: at most that many node commands at once, whichever
 *     provider runs them (apply, remove, observe, status);
 *   - the observations made in this deployment, and when each node (and the switch) last
 *     changed: the status reuses a node's observation instead of asking again when nothing
 *     changed since, so a run that changes nothing costs one read per node.
 *
 * Only plain data and closures are stored, so copies of this module from different providers
 * can use the same object.
 */
import { Limiter, createLimiter } from "../util/concurrency";
import type { NodeObservation } from "../observe/nodeObservation";

export interface HostState {
    limiters: Record<string, Limiter>;
    /** Latest observation per node key (see `nodeKey`), with the in-flight read, if any. */
    observations: Record<string, { at: number; value: NodeObservation } | undefined>;
    inflight: Record<string, Promise<NodeObservation> | undefined>;
    /** When our last command that changes a node finished, per node key (ms since epoch). */
    changedAt: Record<string, number | undefined>;
    /** When nb_global ipsec last changed in this process, per cluster key. */
    switchChangedAt: Record<string, number | undefined>;
}

// A string, not a Symbol: the closure serializer cannot carry a captured Symbol value.
const KEY = "__kubeOvnIpsecHostStateV1";

export function hostState(): HostState {
    const g = globalThis as unknown as Record<string, HostState | undefined>;
    let state = g[KEY];
    if (!state) {
        state = { limiters: {}, observations: {}, inflight: {}, changedAt: {}, switchChangedAt: {} };
        g[KEY] = state;
    }
    return state;
}

/** Runs a node command under the host-wide limit for `parallelism`. */
export function limited<T>(parallelism: number, task: () => Promise<T>): Promise<T> {
    const limiters = hostState().limiters;
    const key = String(parallelism);
    const limiter = limiters[key] ?? (limiters[key] = createLimiter(parallelism));
    return limiter.run(task);
}
