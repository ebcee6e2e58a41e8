/**
 * The lab seen as a Kube-OVN cluster: the objects the product reads (Nodes with the
 * `ovn.kubernetes.io/chassis` annotation, one `ovs-ovn` DaemonSet pod per lab node, the
 * `ovn-central` pod carrying `ovn-nb-leader=true`, the kube-ovn-controller Deployment), built
 * from `lab.sh status --json` at the moment of each request, so nodes added or removed in the
 * lab appear at once. A `Scenario` bends that view for tests (a missing or Pending pod, a pod
 * replaced, two NB leaders, a v1.13 controller, ...); every pod keeps the lab target that
 * `pods/exec` runs its command in.
 *
 * Object shapes follow the API reference (core/v1 Pod, Node; apps/v1 Deployment) and what
 * Kube-OVN v1.12 deploys (labels app=ovs / app=ovn-central, component=network, type=infra;
 * containers openvswitch / ovn-central; hostNetwork pods).
 */
import { execFile } from "child_process";
import { createHash } from "crypto";
import * as path from "path";

/** What `lab.sh status --json` prints (see lab/README.md). */
export interface LabView {
    up: boolean;
    stateDir: string;
    prefix: string[];
    central: { target: string; ip: string };
    nodes: Array<{ name: string; systemId: string; ip: string; target: string; pid1: number }>;
}

export const LAB_SCRIPT = path.resolve(__dirname, "..", "lab.sh");
export const KUBE_OVN_IMAGE = "docker.io/kubeovn/kube-ovn:v1.12.35";
export const CHASSIS_ANNOTATION = "ovn.kubernetes.io/chassis";

export function readLab(script = LAB_SCRIPT): Promise<LabView> {
    return new Promise((resolve, reject) => {
        execFile("bash", [script, "status", "--json"], { encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
            if (error) return reject(new Error(`lab.sh status failed: ${stderr || error.message}`));
            try {
                resolve(JSON.parse(stdout) as LabView);
            } catch {
                reject(new Error(`lab.sh status printed no JSON: ${stdout.slice(0, 200)}`));
            }
        });
    });
}

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

/** How a test bends one node's ovs-ovn pod. */
export interface OvsPodChange {
    /** The DaemonSet has no pod on this node. */
    missing?: boolean;
    phase?: PodPhase;
    ready?: boolean;
    /** Being deleted (deletionTimestamp set), still running. */
    terminating?: boolean;
    /** Bumped by `replaceOvsPod`: a new pod (new name, new uid) on the same node. */
    generation?: number;
}

/** An extra ovs-ovn pod, e.g. on a node that is not in the Node list. */
export interface ExtraOvsPod {
    nodeName: string;
    /** The lab pod its exec runs in (null: exec fails, as for a pod whose node is gone). */
    target: string | null;
}

export type ExecFault = "hang" | "drop";

export interface Scenario {
    ovsPods: Record<string, OvsPodChange>;
    extraOvsPods: ExtraOvsPod[];
    /** Nodes served without the chassis annotation. */
    withoutChassis: string[];
    /** Annotation values that differ from the node's real system-id. */
    chassis: Record<string, string>;
    /** ovn-central replicas (the first runs in the lab's central) and how many carry ovn-nb-leader=true. */
    central: { replicas: number; leaders: number };
    /** kube-ovn-controller; null: no such Deployment. */
    controller: { image: string; args: string[] } | null;
    /** Per pod name: pods/exec accepts the connection and then never answers ("hang"), or cuts it after the first output ("drop"). */
    execFaults: Record<string, ExecFault>;
    /** The same, for the next exec into that pod only. */
    execFaultsOnce: Record<string, ExecFault>;
}

export function defaultScenario(): Scenario {
    return {
        ovsPods: {},
        extraOvsPods: [],
        withoutChassis: [],
        chassis: {},
        central: { replicas: 1, leaders: 1 },
        controller: { image: KUBE_OVN_IMAGE, args: ["--default-cidr=10.16.0.0/16", "--node-switch-cidr=100.64.0.0/16", "--network-type=geneve"] },
        execFaults: {},
        execFaultsOnce: {},
    };
}

/** A pod as served, with the lab target its exec runs in. */
export interface ServedPod {
    object: PodObject;
    target: string | null;
}

export interface PodObject {
    apiVersion: "v1";
    kind: "Pod";
    metadata: { name: string; generateName: string; namespace: string; uid: string; resourceVersion: string; creationTimestamp: string; labels: Record<string, string>; ownerReferences: unknown[]; deletionTimestamp?: string };
    spec: { nodeName?: string; hostNetwork: boolean; containers: Array<{ name: string; image: string; command: string[] }>; restartPolicy: string; schedulerName: string; serviceAccountName: string };
    status: Record<string, unknown> & { phase: PodPhase };
}

export interface ClusterObjects {
    namespace: string;
    pods: ServedPod[];
    nodes: unknown[];
    deployments: unknown[];
}

// Kubernetes' random-suffix alphabet (k8s.io/apimachinery/pkg/util/rand): no vowels, no 0/1/3.
const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
function suffix(seed: string, length: number): string {
    const digest = createHash("sha256").update(seed).digest();
    let out = "";
    for (let i = 0; i < length; i++) out += ALPHABET[digest[i] % ALPHABET.length];
    return out;
}
function uid(seed: string): string {
    const h = createHash("sha256").update(`uid/${seed}`).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const STARTED = new Date().toISOString().replace(/\.\d+Z$/, "Z");

function pod(args: {
    name: string;
    generateName: string;
    namespace: string;
    labels: Record<string, string>;
    owner: { kind: string; name: string };
    container: string;
    nodeName: string | null;
    hostIP: string;
    phase: PodPhase;
    ready: boolean;
    terminating: boolean;
    serviceAccount: string;
}): PodObject {
    const running = args.phase === "Running";
    const status: PodObject["status"] = {
        phase: args.phase,
        conditions: [
            { type: "PodScheduled", status: args.nodeName ? "True" : "False" },
            { type: "Ready", status: args.ready && running ? "True" : "False" },
        ],
        containerStatuses: [
            {
                name: args.container,
                image: KUBE_OVN_IMAGE,
                ready: args.ready && running,
                started: running,
                restartCount: 0,
                state: running ? { running: { startedAt: STARTED } } : { waiting: { reason: "ContainerCreating" } },
            },
        ],
    };
    if (args.nodeName) Object.assign(status, { hostIP: args.hostIP, podIP: args.hostIP, podIPs: [{ ip: args.hostIP }], startTime: STARTED });
    const object: PodObject = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            name: args.name,
            generateName: args.generateName,
            namespace: args.namespace,
            uid: uid(args.name),
            resourceVersion: String(1000 + (createHash("sha256").update(args.name).digest()[0] ?? 0)),
            creationTimestamp: STARTED,
            labels: args.labels,
            ownerReferences: [{ apiVersion: "apps/v1", kind: args.owner.kind, name: args.owner.name, uid: uid(args.owner.name), controller: true, blockOwnerDeletion: true }],
        },
        spec: {
            hostNetwork: true,
            containers: [{ name: args.container, image: KUBE_OVN_IMAGE, command: [args.container === "openvswitch" ? "/kube-ovn/start-ovs.sh" : "/kube-ovn/start-db.sh"] }],
            restartPolicy: "Always",
            schedulerName: "default-scheduler",
            serviceAccountName: args.serviceAccount,
        },
        status,
    };
    if (args.nodeName) object.spec.nodeName = args.nodeName;
    if (args.terminating) object.metadata.deletionTimestamp = STARTED;
    return object;
}

/** The cluster as the API serves it right now. */
export function clusterObjects(lab: LabView, scenario: Scenario, namespace = "kube-system"): ClusterObjects {
    const network = { component: "network", type: "infra" };
    const pods: ServedPod[] = [];
    for (const node of lab.nodes) {
        const change = scenario.ovsPods[node.name] ?? {};
        if (change.missing) continue;
        const name = `ovs-ovn-${suffix(`${node.target}/${node.pid1}/${change.generation ?? 0}`, 5)}`;
        const object = pod({
            name,
            generateName: "ovs-ovn-",
            namespace,
            labels: { app: "ovs", ...network, "controller-revision-hash": "7b9d8c6f5", "pod-template-generation": "1" },
            owner: { kind: "DaemonSet", name: "ovs-ovn" },
            container: "openvswitch",
            nodeName: node.name,
            hostIP: node.ip,
            phase: change.phase ?? "Running",
            ready: change.ready ?? true,
            terminating: change.terminating ?? false,
            serviceAccount: "ovn-ovs",
        });
        pods.push({ object, target: node.target });
    }
    for (const extra of scenario.extraOvsPods) {
        const object = pod({
            name: `ovs-ovn-${suffix(`extra/${extra.nodeName}`, 5)}`,
            generateName: "ovs-ovn-",
            namespace,
            labels: { app: "ovs", ...network, "controller-revision-hash": "7b9d8c6f5", "pod-template-generation": "1" },
            owner: { kind: "DaemonSet", name: "ovs-ovn" },
            container: "openvswitch",
            nodeName: extra.nodeName,
            hostIP: "10.213.0.99",
            phase: "Running",
            ready: true,
            terminating: false,
            serviceAccount: "ovn-ovs",
        });
        pods.push({ object, target: extra.target });
    }
    const hash = suffix("ovn-central/replicaset", 10);
    for (let i = 0; i < scenario.central.replicas; i++) {
        // Kube-OVN runs ovn-central on control-plane nodes; in the lab every replica execs in the lab's one central.
        const onNode = lab.nodes[i % Math.max(1, lab.nodes.length)]?.name ?? null;
        const object = pod({
            name: `ovn-central-${hash}-${suffix(`central/${i}/${lab.nodes[0]?.pid1 ?? 0}`, 5)}`,
            generateName: `ovn-central-${hash}-`,
            namespace,
            labels: { app: "ovn-central", ...network, "pod-template-hash": hash, "ovn-nb-leader": i < scenario.central.leaders ? "true" : "false", "ovn-sb-leader": i === 0 ? "true" : "false", "ovn-northd-leader": i === 0 ? "true" : "false" },
            owner: { kind: "ReplicaSet", name: `ovn-central-${hash}` },
            container: "ovn-central",
            nodeName: onNode,
            hostIP: lab.central.ip,
            phase: "Running",
            ready: true,
            terminating: false,
            serviceAccount: "ovn",
        });
        pods.push({ object, target: lab.central.target });
    }

    const nodes = lab.nodes.map((n, i) => {
        const annotations: Record<string, string> = { "ovn.kubernetes.io/allocated": "true", "ovn.kubernetes.io/ip_address": n.ip };
        if (!scenario.withoutChassis.includes(n.name)) annotations[CHASSIS_ANNOTATION] = scenario.chassis[n.name] ?? n.systemId;
        const labels: Record<string, string> = { "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "kube-ovn/role": i === 0 ? "master" : "" };
        if (i === 0) labels["node-role.kubernetes.io/control-plane"] = "";
        return {
            apiVersion: "v1",
            kind: "Node",
            metadata: { name: n.name, uid: uid(`node/${n.name}`), resourceVersion: "900", creationTimestamp: STARTED, labels, annotations },
            spec: {},
            status: {
                addresses: [
                    { type: "InternalIP", address: n.ip },
                    { type: "Hostname", address: n.name },
                ],
                conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }],
                nodeInfo: { kubeletVersion: "v1.32.0", osImage: "kube-ovn-ipsec lab", containerRuntimeVersion: "lab://namespaces" },
            },
        };
    });

    const deployments = scenario.controller
        ? [
              {
                  apiVersion: "apps/v1",
                  kind: "Deployment",
                  metadata: { name: "kube-ovn-controller", namespace, uid: uid("deploy/kube-ovn-controller"), resourceVersion: "800", generation: 1, creationTimestamp: STARTED, labels: { "app.kubernetes.io/name": "kube-ovn-controller" } },
                  spec: {
                      replicas: 1,
                      selector: { matchLabels: { app: "kube-ovn-controller" } },
                      template: {
                          metadata: { labels: { app: "kube-ovn-controller", component: "network", type: "infra" } },
                          spec: { containers: [{ name: "kube-ovn-controller", image: scenario.controller.image, imagePullPolicy: "IfNotPresent", command: ["/kube-ovn/start-controller.sh"], args: scenario.controller.args }] },
                      },
                  },
                  status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 },
              },
          ]
        : [];
    return { namespace, pods, nodes, deployments };
}

/** Field values a pod can be selected by (pkg/registry/core/pod/strategy.go, ToSelectableFields). */
export const POD_FIELDS = ["metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"];
export function podFields(p: PodObject): Record<string, string> {
    return {
        "metadata.name": p.metadata.name,
        "metadata.namespace": p.metadata.namespace,
        "spec.nodeName": p.spec.nodeName ?? "",
        "spec.restartPolicy": p.spec.restartPolicy,
        "spec.schedulerName": p.spec.schedulerName,
        "spec.serviceAccountName": p.spec.serviceAccountName,
        "spec.hostNetwork": String(p.spec.hostNetwork),
        "status.phase": p.status.phase,
        "status.podIP": String(p.status.podIP ?? ""),
        "status.nominatedNodeName": "",
    };
}
/** Nodes: metadata.name, spec.unschedulable (pkg/registry/core/node/strategy.go). */
export const NODE_FIELDS = ["metadata.name", "spec.unschedulable"];
/** Generic fields every resource supports (metadata.name, metadata.namespace). */
export const GENERIC_FIELDS = ["metadata.name", "metadata.namespace"];
