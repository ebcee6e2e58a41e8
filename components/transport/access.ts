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
 * ovs-vsctl / ovs-appctl / ovn-nbctl inside a script give up well before the exec itself is
 * killed, so a hung OVSDB is reported by the script (naming the step), not as a bare timeout.
 */
export function ovsdbTimeoutFor(exec: ExecPolicy): number {
    return Math.max(1, Math.min(10, Math.floor(exec.timeoutSeconds / 3)));
}

/** One `service ... start|stop` inside a script: bounded below the exec timeout. */
export function serviceTimeoutFor(exec: ExecPolicy): number {
    return Math.max(3, exec.timeoutSeconds - 5);
}

export const DEFAULT_NAMESPACE = "kube-system";
export const TARGET_PLACEHOLDER = "{target}";
