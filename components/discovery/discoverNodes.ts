/**
 * Finds the nodes and their OVS system-ids, for programs that do not list nodes by hand.
 * With kubectl: every running OVS pod's node, its `ovn.kubernetes.io/chassis` annotation, and
 * the system-id the pod itself reports (they must agree). With command access: every target
 * in `access.command.targets.nodes`, asked directly. Read-only.
 */
import type { Access, NodeSpec } from "../args";
import { ExecPolicy, ResolvedAccess, ResolvedKubectlAccess, scriptLimits } from "../transport/access";
import { parseOvsdbString } from "../transport/ovsdbString";
import { nodeEndpoints, ovsPodsByNode } from "../transport/endpoints";
import { runKubectl, runRemote } from "../transport/exec";
import { errorMessage, remoteError } from "../transport/remoteError";
import { newBoundary, parseFacts, parseSections, prelude } from "../transport/scriptKit";
import { mapSettled } from "../util/concurrency";
import { describeValue, isSystemId, resolveAccess } from "../validation";

export const CHASSIS_ANNOTATION = "ovn.kubernetes.io/chassis";

export interface DiscoverOptions {
    /** Per-command timeout in seconds (default 30). */
    execTimeoutSeconds?: number;
    /** Retries of transient failures (default 2). */
    retries?: number;
    /** Nodes asked at once (default 10). */
    parallelism?: number;
}

interface NodeListJson {
    items?: Array<{ metadata?: { name?: string; annotations?: Record<string, string> } }>;
}

async function chassisAnnotations(access: ResolvedKubectlAccess, exec: ExecPolicy): Promise<Map<string, string>> {
    const json = await runKubectl(access, ["get", "nodes", "--output=json"], "list-nodes", exec);
    let parsed: NodeListJson;
    try {
        parsed = JSON.parse(json) as NodeListJson;
    } catch {
        throw remoteError({ where: "kubectl", step: "list-nodes", detail: "kubectl did not return JSON", transient: true });
    }
    const out = new Map<string, string>();
    for (const item of parsed.items ?? []) {
        const name = item.metadata?.name;
        const chassis = item.metadata?.annotations?.[CHASSIS_ANNOTATION];
        if (name && chassis) out.set(name, chassis);
    }
    return out;
}

async function readSystemId(access: ResolvedAccess, endpoint: Parameters<typeof runRemote>[1], exec: ExecPolicy): Promise<string> {
    const boundary = newBoundary();
    const script = `${prelude(boundary, scriptLimits(exec), { name: "read-system-id", readOnly: true })}
need ovs-vsctl timeout
v=$(vsctl get Open_vSwitch . external_ids:system-id 2>&1) || fail_cmd read-system-id "$v" "ovs-vsctl could not read external_ids:system-id"
section facts
printf 'system_id=%s\\n' "$v"
`;
    const out = await runRemote(access, endpoint, { step: "read-system-id", script }, exec);
    return parseOvsdbString(parseFacts(parseSections(out.stdout, boundary).get("facts")).system_id ?? "") ?? "";
}

export async function discoverNodes(access: Access = {}, options: DiscoverOptions = {}): Promise<NodeSpec[]> {
    const resolved = resolveAccess(access);
    const exec: ExecPolicy = { timeoutSeconds: options.execTimeoutSeconds ?? 30, retries: options.retries ?? 2 };
    const parallelism = options.parallelism ?? 10;

    let names: string[];
    let annotations = new Map<string, string>();
    if (resolved.kind === "kubectl") {
        const [pods, chassis] = await Promise.all([ovsPodsByNode(resolved, exec), chassisAnnotations(resolved, exec)]);
        names = [...pods.keys()];
        annotations = chassis;
        if (names.length === 0) {
            throw remoteError({ where: "kubectl", step: "discover-nodes", detail: `no running pod with label ${resolved.ovsPodSelector} in namespace ${resolved.namespace}`, transient: false, hint: "check access.kubectl.namespace and that Kube-OVN is installed" });
        }
    } else {
        names = Object.keys(resolved.targets.nodes);
    }
    names.sort();
    const endpoints = await nodeEndpoints(resolved, names, exec);
    const settled = await mapSettled(names, parallelism, async (name): Promise<NodeSpec> => {
        const endpoint = endpoints.get(name);
        if (!endpoint || endpoint instanceof Error) throw endpoint ?? new Error(`no endpoint for ${name}`);
        const fromPod = await readSystemId(resolved, endpoint, exec);
        if (!isSystemId(fromPod)) throw new Error(`[${name}] the OVS pod reports system-id ${describeValue(fromPod)}, which is not a valid system-id`);
        if (resolved.kind === "kubectl") {
            const annotated = annotations.get(name);
            if (annotated === undefined) throw new Error(`[${name}] the node has no ${CHASSIS_ANNOTATION} annotation: is kube-ovn-cni running there?`);
            if (annotated !== fromPod) {
                throw new Error(`[${name}] annotation ${CHASSIS_ANNOTATION}=${describeValue(annotated)} but the OVS pod reports system-id ${describeValue(fromPod)}: the node was reinstalled; let Kube-OVN reconcile it (restart kube-ovn-cni on the node) and run again`);
            }
        }
        return { name, systemId: fromPod };
    });
    const failures = settled.flatMap((s) => (s.ok ? [] : [errorMessage(s.error)]));
    if (failures.length > 0) throw new Error(`node discovery failed on ${failures.length} of ${names.length} node(s):\n  ${failures.join("\n  ")}`);
    return settled.map((s) => (s.ok ? s.value : { name: "", systemId: "" }));
}
