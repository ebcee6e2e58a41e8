/**
 * Read-only checks of the cluster, run before any node is touched: the kubeconfig context
 * exists, every node has an OVS pod, there is exactly one NB leader, and the cluster is not a
 * Kube-OVN >= v1.13 with built-in IPsec (whose controller would undo our nb_global change).
 */
import type { NodeSpec } from "../args";
import { ExecPolicy, ResolvedAccess, ResolvedKubectlAccess, scriptLimits } from "../transport/access";
import { centralEndpoint, ovsPodsByNode } from "../transport/endpoints";
import { runKubectl, runRemote } from "../transport/exec";
import { remoteError } from "../transport/remoteError";
import { newBoundary, prelude } from "../transport/scriptKit";
import { parseImageReference } from "./imageReference";
import { checkKubeOvnVersion, parseKubeOvnVersion, sameRelease } from "./kubeOvnVersion";

export interface ClusterFacts {
    /** The Kube-OVN version read from kube-ovn-controller's image, or null when unknown. */
    kubeOvnVersion: string | null;
    /** Value of nb_global ipsec when checked. */
    nbIpsec: boolean | null;
}

interface DeploymentJson {
    spec?: { template?: { spec?: { containers?: Array<{ image?: string; args?: string[]; command?: string[] }> } } };
}

/**
 * Reads kube-ovn-controller's Deployment and refuses what this tool must not touch: Kube-OVN
 * v1.13+ (built-in IPsec), a controller running --enable-ovn-ipsec, a release before IPsec
 * support. When the version cannot be read from the image (no tag, only a digest, a custom
 * tag, no Deployment), it refuses unless `access.kubectl.kubeOvnVersion` says which version it is.
 * Returns the version it went by.
 */
export async function kubeOvnVersionGate(access: ResolvedKubectlAccess, exec: ExecPolicy): Promise<string> {
    const refuse = (detail: string, hint = "do not use kube-ovn-ipsec on this cluster (nothing was changed)") =>
        remoteError({ where: "kubectl", step: "check-kube-ovn-version", detail, transient: false, hint });
    let json: string | null;
    try {
        json = await runKubectl(access, ["get", "deployment", "kube-ovn-controller", "--output=json"], "check-kube-ovn-version", exec);
    } catch (e) {
        if (!(e instanceof Error && /NotFound|not found/.test(e.message))) throw e;
        json = null;
    }
    let image: string | null = null;
    if (json !== null) {
        let parsed: DeploymentJson;
        try {
            parsed = JSON.parse(json) as DeploymentJson;
        } catch {
            throw remoteError({ where: "kubectl", step: "check-kube-ovn-version", detail: "kubectl did not return JSON", transient: true });
        }
        const containers = parsed.spec?.template?.spec?.containers ?? [];
        const flags = containers.flatMap((c) => [...(c.args ?? []), ...(c.command ?? [])]);
        const builtIn = flags.find((f) => /^--enable-ovn-ipsec(=true)?$/.test(f));
        if (builtIn) throw refuse(`kube-ovn-controller runs with ${builtIn}: this cluster manages IPsec itself and would undo our changes`);
        image = containers.map((c) => c.image ?? "").find((i) => i.includes("kube-ovn")) ?? containers[0]?.image ?? null;
    }
    const ref = image === null ? null : parseImageReference(image);
    const fromImage = ref?.tag ? parseKubeOvnVersion(ref.tag) : null;
    const stated = access.kubeOvnVersion === null ? null : parseKubeOvnVersion(access.kubeOvnVersion);
    if (fromImage && stated && !sameRelease(fromImage, stated)) {
        throw refuse(
            `access.kubectl.kubeOvnVersion is ${access.kubeOvnVersion} but kube-ovn-controller runs ${image}`,
            "set access.kubectl.kubeOvnVersion to the version the cluster runs (or remove it), then run again",
        );
    }
    const version = fromImage ?? stated;
    const shown = fromImage ? (ref?.tag ?? "") : (access.kubeOvnVersion ?? "");
    if (version === null) {
        const why = json === null ? `there is no kube-ovn-controller Deployment in namespace ${access.namespace}` : image === null ? "kube-ovn-controller has no container image" : `its image ${JSON.stringify(image)} carries no version tag`;
        throw refuse(
            `cannot tell which Kube-OVN version this cluster runs: ${why}`,
            "set access.kubectl.kubeOvnVersion (e.g. v1.12.22) to the version the cluster runs, then run again (nothing was changed)",
        );
    }
    const verdict = checkKubeOvnVersion(version, shown);
    if (verdict) throw refuse(verdict);
    return shown;
}

async function checkContext(access: ResolvedKubectlAccess, exec: ExecPolicy): Promise<void> {
    if (!access.context) return;
    // `config get-contexts` reads only the kubeconfig: a missing context is named before any API call.
    const contexts = (await runKubectl(access, ["config", "get-contexts", "--output=name"], "check-context", exec)).split("\n").map((s) => s.trim());
    if (!contexts.includes(access.context)) {
        throw remoteError({ where: "kubectl", step: "check-context", detail: `context "${access.context}" is not in the kubeconfig`, transient: false, hint: "set access.kubectl.context to one of `kubectl config get-contexts -o name`" });
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
    const script = `${prelude(boundary, scriptLimits(exec), { name: "read-nb-global", readOnly: true })}
need ovn-nbctl timeout
v=$(ovn-nbctl --timeout="$(cap "$T")" get nb_global . ipsec 2>&1) || fail_cmd read-nb-global "$v" "ovn-nbctl could not read nb_global ipsec (is the NB database up?)"
section facts
printf 'ipsec=%s\\n' "$v"
`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "read-nb-global", script }, exec);
    return /\bipsec=true\b/.test(out.stdout);
}

/** Every read-only check; throws the first blocking problem (naming it), else returns facts. */
export async function checkCluster(access: ResolvedAccess, nodes: readonly NodeSpec[], exec: ExecPolicy): Promise<ClusterFacts> {
    let kubeOvnVersion: string | null;
    if (access.kind === "kubectl") {
        await checkContext(access, exec);
        // In this order, one at a time: the first problem named is always the same one (a wrong
        // token fails the first read), and a refused cluster is refused before its pods are read.
        kubeOvnVersion = await kubeOvnVersionGate(access, exec);
        await checkOvsPods(access, nodes, exec);
    } else {
        kubeOvnVersion = access.kubeOvnVersion;
    }
    const nbIpsec = await readNbIpsec(access, exec);
    return { kubeOvnVersion, nbIpsec };
}

