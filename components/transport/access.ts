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

export const DEFAULT_NAMESPACE = "kube-system";
export const TARGET_PLACEHOLDER = "{target}";
