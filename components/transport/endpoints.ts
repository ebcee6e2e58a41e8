/**
 * Finds where to run: the OVS pod of a node, the OVN NB leader. Pods are looked up at the
 * moment of use (DaemonSet pods are replaced; a pod name is never identity) and never stored.
 */
import { ExecPolicy, ResolvedAccess, ResolvedKubectlAccess } from "./access";
import { Endpoint, runKubectl } from "./exec";
import { remoteError } from "./remoteError";

export const CENTRAL_LABEL = "ovn-central";

/** What we read of a pod from `kubectl get pods -o json`. */
export interface PodInfo {
    name: string;
    nodeName: string | null;
    phase: string;
    deleting: boolean;
    ready: boolean;
}

interface PodListJson {
    items?: Array<{
        metadata?: { name?: string; deletionTimestamp?: string };
        spec?: { nodeName?: string };
        status?: { phase?: string; containerStatuses?: Array<{ ready?: boolean }> };
    }>;
}

const POD_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function parsePodList(json: string): PodInfo[] {
    let parsed: PodListJson;
    try {
        parsed = JSON.parse(json) as PodListJson;
    } catch {
        throw remoteError({ where: "kubectl", step: "list-pods", detail: "kubectl did not return JSON", transient: true });
    }
    return (parsed.items ?? [])
        .map((item) => ({
            name: item.metadata?.name ?? "",
            nodeName: item.spec?.nodeName ?? null,
            phase: item.status?.phase ?? "Unknown",
            deleting: item.metadata?.deletionTimestamp !== undefined,
            ready: (item.status?.containerStatuses ?? []).every((c) => c.ready === true),
        }))
        // A name from the API still becomes an argv element: only accept real pod names.
        .filter((pod) => POD_NAME.test(pod.name));
}

/** Running, not being deleted: a pod we can exec into. */
function usable(pod: PodInfo): boolean {
    return pod.phase === "Running" && !pod.deleting;
}

export async function listPods(access: ResolvedKubectlAccess, selector: string, step: string, policy: ExecPolicy, node?: string): Promise<PodInfo[]> {
    const args = ["get", "pods", `--selector=${selector}`, "--output=json"];
    // Node names are validated DNS-1123 names: safe inside a field selector.
    if (node !== undefined) args.push(`--field-selector=spec.nodeName=${node}`);
    return parsePodList(await runKubectl(access, args, step, policy));
}

/** OVS pods by node name (one API call for any number of nodes). */
export async function ovsPodsByNode(access: ResolvedKubectlAccess, policy: ExecPolicy): Promise<Map<string, PodInfo>> {
    const byNode = new Map<string, PodInfo>();
    for (const pod of await listPods(access, access.ovsPodSelector, "list-ovs-pods", policy)) {
        if (!pod.nodeName || !usable(pod)) continue;
        byNode.set(pod.nodeName, pod);
    }
    return byNode;
}

function noOvsPod(access: ResolvedKubectlAccess, node: string) {
    return remoteError({
        where: node,
        step: "find-ovs-pod",
        detail: `no running pod with label ${access.ovsPodSelector} on node ${node} in namespace ${access.namespace}`,
        transient: false,
        hint: "check that Kube-OVN's ovs-ovn DaemonSet runs on this node, and access.kubectl.namespace / access.kubectl.ovsPodSelector",
    });
}

/** The endpoint of one node's OVS pod, looked up now. */
export async function nodeEndpoint(access: ResolvedAccess, node: string, policy: ExecPolicy): Promise<Endpoint> {
    if (access.kind === "command") {
        const target = access.targets.nodes[node];
        if (!target) {
            throw remoteError({ where: node, step: "find-target", detail: "access.command.targets.nodes has no entry for this node", transient: false, hint: "add the node to access.command.targets.nodes" });
        }
        return { kind: "target", label: node, target };
    }
    const pods = await listPods(access, access.ovsPodSelector, "find-ovs-pod", policy, node);
    const pod = pods.find((p) => p.nodeName === node && usable(p));
    if (!pod) throw noOvsPod(access, node);
    return { kind: "pod", label: node, pod: pod.name, container: access.ovsContainer, relookup: () => nodeEndpoint(access, node, policy) };
}

/** Endpoints of many nodes with one API call; nodes without a pod map to the error. */
export async function nodeEndpoints(access: ResolvedAccess, nodes: readonly string[], policy: ExecPolicy): Promise<Map<string, Endpoint | Error>> {
    const out = new Map<string, Endpoint | Error>();
    if (access.kind === "command") {
        for (const node of nodes) out.set(node, await nodeEndpoint(access, node, policy).catch((e: Error) => e));
        return out;
    }
    const byNode = await ovsPodsByNode(access, policy);
    for (const node of nodes) {
        const pod = byNode.get(node);
        out.set(node, pod ? { kind: "pod", label: node, pod: pod.name, container: access.ovsContainer, relookup: () => nodeEndpoint(access, node, policy) } : noOvsPod(access, node));
    }
    return out;
}

/** The pod that runs ovn-nbctl: the NB leader, which must be exactly one. */
export async function centralEndpoint(access: ResolvedAccess, policy: ExecPolicy): Promise<Endpoint> {
    if (access.kind === "command") return { kind: "target", label: CENTRAL_LABEL, target: access.targets.central };
    const leaders = (await listPods(access, access.centralPodSelector, "find-nb-leader", policy)).filter(usable);
    if (leaders.length !== 1) {
        throw remoteError({
            where: CENTRAL_LABEL,
            step: "find-nb-leader",
            detail:
                leaders.length === 0
                    ? `no running pod with label ${access.centralPodSelector} in namespace ${access.namespace}`
                    : `${leaders.length} pods carry ${access.centralPodSelector} (${leaders.map((p) => p.name).join(", ")}); expected exactly one`,
            // A leader election in progress settles by itself.
            transient: leaders.length > 1,
            hint: "check the ovn-central pods (kubectl -n " + access.namespace + " get pods -l app=ovn-central --show-labels) and run again",
        });
    }
    return { kind: "pod", label: CENTRAL_LABEL, pod: leaders[0].name, container: access.centralContainer, relookup: () => centralEndpoint(access, policy) };
}
