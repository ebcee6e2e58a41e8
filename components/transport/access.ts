import type { ScriptLimits } from "./scriptKit";

/**
 * How commands reach the pods, after validation and defaults: plain JSON, because it travels
 * into the dynamic providers' inputs and state.
 */

export interface ResolvedKubectlAccess {
    kind: "kubectl";
    kubectl: string;
    kubeconfig: string | null;
    context: string | null;
    namespace: string;
    ovsPodSelector: string;
    ovsContainer: string;
    centralPodSelector: string;
    centralContainer: string;
    /** The version the user says the cluster runs; used when the image tag cannot tell. */
    kubeOvnVersion: string | null;
}

export interface ResolvedCommandAccess {
    kind: "command";
    prefix: string[];
    targets: { central: string; nodes: Record<string, string> };
    scriptVia: "argv" | "stdin";
    kubeOvnVersion: string | null;
}

export type ResolvedAccess = ResolvedKubectlAccess | ResolvedCommandAccess;

/** Per-command bounds, shared by every remote step. */
export interface ExecPolicy {
    /** Kill one remote command after this many seconds. */
    timeoutSeconds: number;
    /** Extra attempts after a transient failure. */
    retries: number;
}

/**
 * A script's own budget: it ends (and releases the node lock) before the exec is killed, so a
 * retry never overlaps with the attempt it replaces. `extraSeconds` is time the script is
 * allowed on purpose (a status wait); the exec timeout of that call grows by the same amount.
 */
export function scriptLimits(exec: ExecPolicy, extraSeconds = 0): ScriptLimits {
    const margin = Math.max(2, Math.ceil(exec.timeoutSeconds / 10));
    const own = Math.max(1, exec.timeoutSeconds - margin);
    // One OVSDB call never takes more than a third of the script: a hung database is reported
    // by the script, naming the step, not as a bare kill of the whole exec.
    return { budgetSeconds: own + Math.max(0, Math.floor(extraSeconds)), ovsdbTimeoutSeconds: Math.max(1, Math.min(10, Math.floor(own / 3))) };
}

export const DEFAULT_NAMESPACE = "kube-system";
export const TARGET_PLACEHOLDER = "{target}";
