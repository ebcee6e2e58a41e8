/**
 * Hostile and wrong input, one row per case: each is refused with a clear error before anything
 * changes on any node, and each row proves it (no command reached any node, nodes unchanged).
 */
import { Harness, HarnessError } from "../../tools/engine/engine";
import { ExecProxy } from "../support/execProxy";
import { FakeCluster, FakeKubeApi, startFakeKubeApi } from "../support/fakeKubeApi";
import { LabStatus, freshLab, labAccess, labOk, podOk, NO_PREVIEW } from "../support/lab";
import { configFor, otherConfig, ourFiles, servicePids } from "../support/node";

jest.setTimeout(120_000);

let lab: LabStatus;
const proxy = new ExecProxy();

const HOSTILE: Array<[string, string]> = [
    ["shell metacharacters", "a;reboot&&$(id)`x`|b>c"],
    ["a newline", "a\nb"],
    ["quotes", `a'b"c`],
    ["a flag", "--kubeconfig=/etc/shadow"],
    ["unicode", "nöde-ü"],
    ["a very long string", "a".repeat(300)],
];

type Over = (lab: LabStatus) => Record<string, unknown>;
const cmdAccess = (lab: LabStatus, targets?: Record<string, string>) => {
    const a = proxy.wrap(labAccess(lab));
    return { command: targets ? { ...a, targets: { ...a.targets, nodes: { ...a.targets.nodes, ...targets } } } : a };
};
const withNode = (lab: LabStatus, i: number, patch: Partial<{ name: string; systemId: string }>) => lab.nodes.map((n, j) => (j === i ? { ...n, ...patch } : n));

// [case, config over the lab's, what the error must say]
const INPUT_ROWS: Array<[string, Over, RegExp]> = [
    ...HOSTILE.map(([what, v]): [string, Over, RegExp] => [`node name with ${what}`, (l) => ({ nodes: withNode(l, 0, { name: v }), access: cmdAccess(l, { [v]: "x" }) }), /nodes\[0\]\.name .*must be a Kubernetes node name/]),
    ...HOSTILE.map(([what, v]): [string, Over, RegExp] => [`system-id with ${what}`, (l) => ({ nodes: withNode(l, 1, { systemId: v }) }), /nodes\[1\]\.systemId .*must be an OVS system-id/]),
    ...HOSTILE.map(([what, v]): [string, Over, RegExp] => [`organization with ${what}`, () => ({ certificate: { organization: v } }), /certificate\.organization .*must be 1-64/]),
    ...HOSTILE.map(([what, v]): [string, Over, RegExp] => [`namespace with ${what}`, () => ({ access: { kubectl: { namespace: v } } }), /access\.kubectl\.namespace .*must be a Kubernetes namespace/]),
    ...HOSTILE.filter(([what]) => what !== "a flag").map(([what, v]): [string, Over, RegExp] => [`context with ${what}`, () => ({ access: { kubectl: { context: v } } }), /access\.kubectl\.context .*must be a kubeconfig context name/]),
    ["context that is a flag", () => ({ access: { kubectl: { context: "--insecure-skip-tls-verify" } } }), /access\.kubectl\.context "--insecure-skip-tls-verify": must be a kubeconfig context name/],
    ...HOSTILE.map(([what, v]): [string, Over, RegExp] => [`target with ${what}`, (l) => ({ access: cmdAccess(l, { [l.nodes[0].name]: v }) }), /access\.command\.targets\.nodes\..* must be a target/]),
    ["duplicate nodes", (l) => ({ nodes: [l.nodes[0], l.nodes[0], l.nodes[1]] }), /nodes\[1\]\.name ".*": duplicate of nodes\[0\]/],
    ["an empty node list", () => ({ nodes: [] }), /nodes \[\]: must name at least one node/],
    ["a missing kubeconfig file", () => ({ access: { kubectl: { kubeconfig: "/nonexistent/kubeconfig" } } }), /access\.kubectl\.kubeconfig "\/nonexistent\/kubeconfig": does not exist/],
];

const healthyCluster = (lab: LabStatus): FakeCluster => ({
    namespace: "kube-system",
    pods: [
        ...lab.nodes.map((n, i) => ({ name: `ovs-ovn-${i}`, labels: { app: "ovs" }, nodeName: n.name })),
        { name: "ovn-central-0", labels: { app: "ovn-central", "ovn-nb-leader": "true" }, nodeName: lab.nodes[0].name },
        { name: "ovn-central-1", labels: { app: "ovn-central", "ovn-nb-leader": "false" }, nodeName: lab.nodes[1].name },
    ],
    nodes: lab.nodes.map((n) => ({ name: n.name, annotations: { "ovn.kubernetes.io/chassis": n.systemId } })),
    deployments: [{ name: "kube-ovn-controller", image: "kubeovn/kube-ovn:v1.12.22" }],
});

// [case, how the cluster is wrong, the access' extra fields, what the error must say]
const CLUSTER_ROWS: Array<[string, (c: FakeCluster) => void, Record<string, unknown>, RegExp]> = [
    ["an unknown context", () => undefined, { context: "prod" }, /step "check-context" failed: context "prod" is not in the kubeconfig/],
    ["a namespace without OVS pods", (c) => void (c.pods = c.pods.filter((p) => p.labels.app !== "ovs")), {}, /namespace kube-system has no running pod with label app=ovs/],
    ["no NB leader", (c) => void (c.pods = c.pods.filter((p) => p.labels["ovn-nb-leader"] !== "true")), {}, /no running pod with label ovn-nb-leader=true/],
    ["two NB leaders", (c) => void (c.pods[c.pods.length - 1].labels["ovn-nb-leader"] = "true"), {}, /2 pods carry ovn-nb-leader=true .*expected exactly one/],
    ["a Kube-OVN v1.13 cluster", (c) => void (c.deployments[0].image = "kubeovn/kube-ovn:v1.13.4"), {}, /Kube-OVN v1\.13\.4 has built-in IPsec/],
];

interface NodeView {
    conf: ReturnType<typeof otherConfig>;
    files: string[];
    pids: ReturnType<typeof servicePids>;
}
const views = (): NodeView[] => lab.nodes.map((n) => ({ conf: otherConfig(lab, n.name), files: ourFiles(lab, n.name), pids: servicePids(lab, n.name) }));
let pristine: NodeView[];
let nbBefore: string;

beforeAll(() => {
    lab = freshLab(2);
    pristine = views();
    nbBefore = podOk(lab, lab.central.target, "ovn-nbctl get nb_global . ipsec");
});
afterAll(() => labOk("down"));

async function failingUp(config: Record<string, unknown>): Promise<HarnessError> {
    const h = new Harness({ stack: "hostile", upDefaults: NO_PREVIEW });
    try {
        const e = await h.up({ config }).then(
            () => new Error("the run succeeded"),
            (x: unknown) => x as Error,
        );
        expect(e).toBeInstanceOf(HarnessError);
        return e as HarnessError;
    } finally {
        await h.close();
    }
}

describe("wrong arguments", () => {
    it.each(INPUT_ROWS)("%s", async (_case, over, expected) => {
        proxy.clear();
        const error = await failingUp(configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) }, ...over(lab) }));
        expect(error.programError).toMatch(/^ValidationError: kube-ovn-ipsec: invalid arguments, nothing was changed:/m);
        expect(error.programError).toMatch(expected);
        // Nothing ran anywhere, and no resource was even registered with a provider.
        expect(proxy.records()).toEqual([]);
        expect(error.result.journal.filter((j) => j.op === "create")).toEqual([]);
    });
});

describe("a wrong cluster (real kubectl, a stub API server)", () => {
    let api: FakeKubeApi;
    afterEach(async () => api?.close());

    it.each(CLUSTER_ROWS)("%s", async (_case, spoil, extra, expected) => {
        const cluster = healthyCluster(lab);
        spoil(cluster);
        api = await startFakeKubeApi(cluster);
        const error = await failingUp(configFor(lab, { access: { kubectl: { kubeconfig: api.kubeconfig, ...extra } }, retries: 0 }));
        // The preflight stopped the run: no node step was even attempted, no exec reached a pod.
        expect(error.failures.map((f) => f.name)).toEqual(["kube-ovn-ipsec-preflight"]);
        expect(error.failures[0].message).toMatch(expected);
        expect(error.result.journal.filter((j) => j.type.endsWith(":NodeIpsec") && j.op === "create")).toEqual([]);
        expect(api.requests.filter((r) => r.includes("/exec"))).toEqual([]);
    });
});

describe("a node whose system-id is not the one configured", () => {
    it("is refused by that node's step; that node is unchanged", async () => {
        proxy.clear();
        const stale = lab.nodes[1];
        const error = await failingUp(configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) }, nodes: withNode(lab, 1, { systemId: "00000000-0000-4000-8000-000000000bad" }) }));
        const failure = error.failures.find((f) => f.name === `kube-ovn-ipsec-${stale.name}`);
        expect(failure?.message).toContain(`[${stale.name}] step "check-system-id" failed (exit 3, 1 attempt): OVS system-id is '${stale.systemId}' but the certificate is for '00000000-0000-4000-8000-000000000bad'`);
        expect(views()[1]).toEqual(pristine[1]);
    });
});

describe("after every row", () => {
    it("the stale-id row configured only the healthy node; every other row changed nothing", () => {
        const now = views();
        expect(now[1]).toEqual(pristine[1]);
        expect(now[0].conf.certificate).toMatch(/kube-ovn-ipsec-/);
        expect(podOk(lab, lab.central.target, "ovn-nbctl get nb_global . ipsec")).toBe(nbBefore);
    });
});
