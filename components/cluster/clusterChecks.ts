/**
 * Read-only checks of the cluster, run before any node is touched: the kubeconfig context
 * exists, every node has an OVS pod, there is exactly one NB leader, and the cluster is not a
 * Kube-OVN >= v1.13 with built-in IPsec (whose controller would undo our nb_global change).
 */
import type { NodeSpec } from "../args";
import { ExecPolicy, ResolvedAccess, ResolvedKubectlAccess, ovsdbTimeoutFor } from "../transport/access";
import { centralEndpoint, ovsPodsByNode } from "../transport/endpoints";
import { runKubectl, runRemote } from "../transport/exec";
import { remoteError } from "../transport/remoteError";
import { newBoundary, prelude } from "../transport/scriptKit";
import { checkKubeOvnVersion } from "./kubeOvnVersion";

export interface ClusterFacts {
    /** The Kube-OVN version read from kube-ovn-controller's image, or null when unknown. */
    kubeOvnVersion: string | null;
    /** Value of nb_global ipsec when checked. */
    nbIpsec: boolean | null;
}

interface DeploymentJson {
    spec?: { template?: { spec?: { containers?: Array<{ image?: string; args?: string[]; command?: string[] }> } } };
}

/** Reads kube-ovn-controller's Deployment; refuses v1.13+ or a controller running built-in IPsec. */
export async function kubeOvnVersionGate(access: ResolvedKubectlAccess, exec: ExecPolicy): Promise<string | null> {
    let json: string;
    try {
        json = await runKubectl(access, ["get", "deployment", "kube-ovn-controller", "--output=json"], "check-kube-ovn-version", exec);
    } catch (e) {
        // No controller Deployment in this namespace: nothing to read a version from.
        if (e instanceof Error && /NotFound|not found/.test(e.message)) return null;
        throw e;
    }
    let parsed: DeploymentJson;
    try {
        parsed = JSON.parse(json) as DeploymentJson;
    } catch {
        throw remoteError({ where: "kubectl", step: "check-kube-ovn-version", detail: "kubectl did not return JSON", transient: true });
    }
    const containers = parsed.spec?.template?.spec?.containers ?? [];
    const flags = containers.flatMap((c) => [...(c.args ?? []), ...(c.command ?? [])]);
    const builtIn = flags.find((f) => /^--enable-ovn-ipsec(=true)?$/.test(f));
    const image = containers.map((c) => c.image ?? "").find((i) => i.includes("kube-ovn")) ?? containers[0]?.image ?? "";
    const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : null;
    const verdict = builtIn
        ? `kube-ovn-controller runs with ${builtIn}: this cluster manages IPsec itself and would undo our changes`
        : tag
          ? checkKubeOvnVersion(tag)
          : null;
    if (verdict) {
        throw remoteError({
            where: "kubectl",
            step: "check-kube-ovn-version",
            detail: verdict,
            transient: false,
            hint: "do not use kube-ovn-ipsec on this cluster (nothing was changed)",
        });
    }
    return tag;
}

async function checkContext(access: ResolvedKubectlAccess, exec: ExecPolicy): Promise<void> {
    if (!access.context) return;
    // `config get-contexts` reads only the kubeconfig: a missing context is named before any API call.
    const contexts = (await runKubectl(access, ["config", "get-contexts", "--output=name"], "check-context", exec)).split("\n").map((s) => s.trim());
    if (!contexts.includes(access.context)) {
        throw remoteError({ where: "kubectl", step: "check-context", detail: `context "${access.context}" is not in the kubeconfig`, transient: false, hint: "set access.context to one of `kubectl config get-contexts -o name`" });
    }
}

async function checkOvsPods(access: ResolvedKubectlAccess, nodes: readonly NodeSpec[], exec: ExecPolicy): Promise<void> {
    const pods = await ovsPodsByNode(access, exec);
    const missing = nodes.filter((n) => !pods.has(n.name)).map((n) => n.name);
    if (missing.length === 0) return;
    throw remoteError({
        where: "kubectl",
        step: "check-ovs-pods",
        detail:
            pods.size === 0
                ? `namespace ${access.namespace} has no running pod with label ${access.ovsPodSelector}`
                : `no running OVS pod (label ${access.ovsPodSelector}) on ${missing.length} node(s): ${missing.slice(0, 20).join(", ")}${missing.length > 20 ? ", ..." : ""}`,
        transient: false,
        hint: "check access.namespace and that Kube-OVN's ovs-ovn DaemonSet runs on every listed node, or remove those nodes from the list",
    });
}

/** On the central: ovn-nbctl works and nb_global is readable. */
async function readNbIpsec(access: ResolvedAccess, exec: ExecPolicy): Promise<boolean> {
    const boundary = newBoundary();
    const script = `${prelude(boundary, ovsdbTimeoutFor(exec))}
command -v ovn-nbctl >/dev/null 2>&1 || fail $PERMANENT preflight "ovn-nbctl not found: the target is not an ovn-central pod"
v=$(ovn-nbctl --timeout="$T" get nb_global . ipsec 2>&1) || fail $TRANSIENT read-nb-global "ovn-nbctl cannot read nb_global (is the NB database up?): $(printf '%s' "$v" | oneline)"
section facts
printf 'ipsec=%s\\n' "$v"
`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "read-nb-global", script }, exec);
    return /\bipsec=true\b/.test(out.stdout);
}

/** Every read-only check; throws the first blocking problem (naming it), else returns facts. */
export async function checkCluster(access: ResolvedAccess, nodes: readonly NodeSpec[], exec: ExecPolicy): Promise<ClusterFacts> {
    let kubeOvnVersion: string | null = null;
    if (access.kind === "kubectl") {
        await checkContext(access, exec);
        const [version] = await Promise.all([kubeOvnVersionGate(access, exec), checkOvsPods(access, nodes, exec)]);
        kubeOvnVersion = version;
    } else {
        kubeOvnVersion = access.kubeOvnVersion;
    }
    const nbIpsec = await readNbIpsec(access, exec);
    return { kubeOvnVersion, nbIpsec };
}

