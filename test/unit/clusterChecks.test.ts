/**
 * The read-only cluster checks (Preflight) through the REAL kubectl against a minimal API
 * server: each wrong cluster is refused with a clear error, and no exec ever reaches a pod.
 */
import { checkCluster } from "../../components/cluster/clusterChecks";
import { ResolvedKubectlAccess } from "../../components/transport/access";
import { discoverNodes } from "../../components";
import { FakeCluster, FakeKubeApi, startFakeKubeApi } from "../support/fakeKubeApi";

const nodes = [
    { name: "node-a", systemId: "aaaaaaaa-0000-4000-8000-000000000001" },
    { name: "node-b", systemId: "bbbbbbbb-0000-4000-8000-000000000002" },
];
const healthy = (): FakeCluster => ({
    namespace: "kube-system",
    pods: [
        { name: "ovs-ovn-aaaaa", labels: { app: "ovs" }, nodeName: "node-a" },
        { name: "ovs-ovn-bbbbb", labels: { app: "ovs" }, nodeName: "node-b" },
        { name: "ovn-central-1", labels: { app: "ovn-central", "ovn-nb-leader": "true" }, nodeName: "node-a" },
        { name: "ovn-central-2", labels: { app: "ovn-central", "ovn-nb-leader": "false" }, nodeName: "node-b" },
    ],
    nodes: nodes.map((n) => ({ name: n.name, annotations: { "ovn.kubernetes.io/chassis": n.systemId } })),
    deployments: [{ name: "kube-ovn-controller", image: "docker.io/kubeovn/kube-ovn:v1.12.22" }],
});
const exec = { timeoutSeconds: 10, retries: 0 };

let api: FakeKubeApi;
afterEach(async () => api?.close());

async function check(cluster: FakeCluster, over: Partial<ResolvedKubectlAccess> = {}): Promise<Error> {
    api = await startFakeKubeApi(cluster);
    const access: ResolvedKubectlAccess = {
        kind: "kubectl",
        kubectl: "kubectl",
        kubeconfig: api.kubeconfig,
        context: "fake",
        namespace: "kube-system",
        ovsPodSelector: "app=ovs",
        ovsContainer: "openvswitch",
        centralPodSelector: "ovn-nb-leader=true",
        kubeOvnVersion: null,
        centralContainer: "ovn-central",
        ...over,
    };
    const result = await checkCluster(access, nodes, exec).then(
        () => new Error("no error"),
        (e: Error) => e,
    );
    return result;
}

// kubectl tries a websocket GET, then falls back to a SPDY POST: count exec targets, not requests.
const execs = () => [...new Set(api.requests.filter((r) => r.includes("/exec?")).map((r) => r.split("?")[0].split(" ")[1]))];

describe("checkCluster with kubectl", () => {
    it("an unknown context is named before any API call", async () => {
        const e = await check(healthy(), { context: "prod" });
        expect(e.message).toMatch(/step "check-context" failed: context "prod" is not in the kubeconfig/);
        expect(e.message).toContain("what to do: set access.kubectl.context");
        expect(api.requests).toEqual([]);
    });

    it("a namespace without OVS pods", async () => {
        const cluster = healthy();
        cluster.pods = cluster.pods.filter((p) => p.labels.app !== "ovs");
        const e = await check(cluster);
        expect(e.message).toMatch(/step "check-ovs-pods" failed: namespace kube-system has no running pod with label app=ovs/);
        expect(execs()).toEqual([]);
    });

    it("a node without an OVS pod is named", async () => {
        const cluster = healthy();
        cluster.pods = cluster.pods.filter((p) => p.name !== "ovs-ovn-bbbbb");
        const e = await check(cluster);
        expect(e.message).toMatch(/no running OVS pod \(label app=ovs\) on 1 node\(s\): node-b/);
        expect(execs()).toEqual([]);
    });

    it("no NB leader", async () => {
        const cluster = healthy();
        cluster.pods = cluster.pods.filter((p) => p.labels["ovn-nb-leader"] !== "true");
        const e = await check(cluster);
        expect(e.message).toMatch(/\[ovn-central\] step "find-nb-leader" failed: no running pod with label ovn-nb-leader=true in namespace kube-system/);
        expect(execs()).toEqual([]);
    });

    it("two NB leaders", async () => {
        const cluster = healthy();
        cluster.pods[3].labels["ovn-nb-leader"] = "true";
        const e = await check(cluster);
        expect(e.message).toMatch(/2 pods carry ovn-nb-leader=true \(ovn-central-1, ovn-central-2\); expected exactly one/);
        expect(execs()).toEqual([]);
    });

    it.each([
        ["a v1.13 image", { image: "docker.io/kubeovn/kube-ovn:v1.13.0" }, /Kube-OVN v1\.13\.0 has built-in IPsec \(v1\.13\+\)/],
        ["a v1.14 image", { image: "kubeovn/kube-ovn:v1.14.2-mc" }, /Kube-OVN v1\.14\.2-mc has built-in IPsec/],
        ["built-in IPsec switched on", { image: "registry.local/kube-ovn:custom", args: ["--enable-ovn-ipsec=true"] }, /runs with --enable-ovn-ipsec=true: this cluster manages IPsec itself/],
        ["a release without IPsec", { image: "kubeovn/kube-ovn:v1.10.2" }, /predates IPsec support/],
        // The digest is not a tag: the tag before it decides.
        ["a digest-pinned v1.13 image", { image: "docker.io/kubeovn/kube-ovn:v1.13.0@sha256:" + "ab".repeat(32) }, /Kube-OVN v1\.13\.0 has built-in IPsec/],
        ["a v1.13 image from a registry with a port", { image: "registry.local:5000/kubeovn/kube-ovn:v1.13.4" }, /Kube-OVN v1\.13\.4 has built-in IPsec/],
        // Unknown versions are refused, saying how to state one.
        ["an image pinned only by digest", { image: "kubeovn/kube-ovn@sha256:" + "cd".repeat(32) }, /cannot tell which Kube-OVN version this cluster runs: its image "kubeovn\/kube-ovn@sha256:cdcd.*" carries no version tag[\s\S]*set access\.kubectl\.kubeOvnVersion/],
        ["an image with no tag", { image: "registry.local:5000/kubeovn/kube-ovn" }, /carries no version tag/],
        ["a custom tag", { image: "registry.local/kube-ovn:custom-build" }, /carries no version tag/],
    ])("refuses %s", async (_name, deployment, expected) => {
        const cluster = healthy();
        cluster.deployments = [{ name: "kube-ovn-controller", ...deployment }];
        const e = await check(cluster);
        expect(e.message).toMatch(/step "check-kube-ovn-version" failed/);
        expect(e.message).toMatch(expected);
        expect(e.message).toContain("nothing was changed");
        expect(execs()).toEqual([]);
    });

    it("no kube-ovn-controller Deployment: refused unless the version is stated", async () => {
        const cluster = healthy();
        cluster.deployments = [];
        const e = await check(cluster);
        expect(e.message).toMatch(/cannot tell which Kube-OVN version this cluster runs: there is no kube-ovn-controller Deployment in namespace kube-system/);
        expect(execs()).toEqual([]);
        await api.close();
        // Stated: the checks go on (to the NB leader read, which this fake API cannot serve).
        const stated = await check(cluster, { kubeOvnVersion: "v1.12.35" });
        expect(stated.message).toMatch(/\[ovn-central\] step "read-nb-global" failed/);
    });

    it.each([
        ["a digest-pinned image, version stated", "kubeovn/kube-ovn@sha256:" + "ef".repeat(32), "v1.12.22"],
        ["a custom tag, version stated", "registry.local/kube-ovn:custom-build", "v1.12.22"],
        ["a v1.12 image with a digest", "docker.io/kubeovn/kube-ovn:v1.12.22@sha256:" + "01".repeat(32), undefined],
    ])("accepts %s", async (_name, image, stated) => {
        const cluster = healthy();
        cluster.deployments = [{ name: "kube-ovn-controller", image }];
        const e = await check(cluster, stated === undefined ? {} : { kubeOvnVersion: stated });
        expect(e.message).toMatch(/\[ovn-central\] step "read-nb-global" failed/);
    });

    it("a stated version that contradicts the image is refused", async () => {
        const cluster = healthy();
        cluster.deployments = [{ name: "kube-ovn-controller", image: "docker.io/kubeovn/kube-ovn:v1.11.9" }];
        const e = await check(cluster, { kubeOvnVersion: "v1.12.22" });
        expect(e.message).toMatch(/access\.kubectl\.kubeOvnVersion is v1\.12\.22 but kube-ovn-controller runs docker\.io\/kubeovn\/kube-ovn:v1\.11\.9/);
        expect(execs()).toEqual([]);
    });

    it("a healthy v1.12 cluster passes every read and only then asks the NB leader", async () => {
        const e = await check(healthy());
        // The fake API does not serve exec: the first exec is the NB read on the leader.
        expect(e.message).toMatch(/\[ovn-central\] step "read-nb-global" failed/);
        expect(execs()).toHaveLength(1);
        expect(execs()).toEqual(["/api/v1/namespaces/kube-system/pods/ovn-central-1/exec"]);
        // The script travels in the exec URL (API audit logs see it): it must never hold a secret.
        expect(api.requests.find((r) => r.includes("/exec?"))).toContain("container=ovn-central");
    });
});

describe("discoverNodes with kubectl", () => {
    it("lists the OVS pods' nodes, then asks each pod for its system-id", async () => {
        api = await startFakeKubeApi(healthy());
        const e = await discoverNodes({ kubectl: { kubeconfig: api.kubeconfig } }, { retries: 0, execTimeoutSeconds: 10 }).catch((x: Error) => x);
        expect(e).toBeInstanceOf(Error);
        // Both nodes were asked (one exec each, in the OVS pods), each failure named.
        expect((e as Error).message).toMatch(/node discovery failed on 2 of 2 node\(s\)/);
        expect((e as Error).message).toContain("[node-a]");
        expect((e as Error).message).toContain("[node-b]");
        expect(execs().sort()).toEqual([
            "/api/v1/namespaces/kube-system/pods/ovs-ovn-aaaaa/exec",
            "/api/v1/namespaces/kube-system/pods/ovs-ovn-bbbbb/exec",
        ]);
    });
});
