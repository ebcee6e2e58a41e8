/**
 * The read-only cluster checks (the Preflight's checkCluster) and discoverNodes through the REAL
 * kubectl against the lab's API stand-in: a healthy cluster passes and its NB leader is really
 * asked; each wrong cluster is refused with a clear error before any node is touched (the
 * stand-in's request log shows no exec into an OVS pod); node discovery checks each pod's
 * system-id against its node's chassis annotation.
 */
import * as path from "path";
import { discoverNodes } from "../../components";
import { checkCluster } from "../../components/cluster/clusterChecks";
import { ExecPolicy } from "../../components/transport/access";
import { nodeEndpoint } from "../../components/transport/endpoints";
import { defaultScenario } from "../../lab/kubeApi/cluster";
import { startKubeApi } from "../../lab/kubeApi/server";
import { KubectlUnderTest, accessFor, execAttempts, execsServed, startKubectlUnderTest } from "../support/kubeApi";
import { LabStatus, freshLab, labNodes, labOk } from "../support/lab";
import { nbIpsec, otherConfig } from "../support/node";

jest.setTimeout(120_000);

let lab: LabStatus;
let k: KubectlUnderTest;
const exec: ExecPolicy = { timeoutSeconds: 20, retries: 0 };

beforeAll(async () => {
    lab = freshLab(3);
    k = await startKubectlUnderTest();
});
afterAll(async () => {
    await k?.close();
    labOk("down");
});
afterEach(() => {
    Object.assign(k.api.scenario, defaultScenario());
});

const nodes = () => labNodes(lab);
const check = async (access = k.access) => checkCluster(access, nodes(), exec).then(
    () => null,
    (e: Error) => e,
);
const podsNamed = async (app: string) => (await k.api.objects()).pods.filter((p) => p.object.metadata.labels.app === app).map((p) => p.object.metadata.name);

describe("checkCluster", () => {
    it("a healthy v1.12 cluster passes; the NB leader is asked through kubectl exec, and answers what the central holds", async () => {
        const since = k.api.requests.length;
        const facts = await checkCluster(k.access, nodes(), exec);
        expect(facts).toEqual({ kubeOvnVersion: "v1.12.35", nbIpsec: nbIpsec(lab) === "true" });
        expect(execsServed(k.api, since).map((e) => [e.pod, e.exitCode])).toEqual([[(await podsNamed("ovn-central"))[0], 0]]);
    });

    it.each([
        ["missing", { missing: true }],
        ["Pending", { phase: "Pending" as const }],
        ["being deleted", { terminating: true }],
    ])("a node whose ovs-ovn pod is %s is named, and nothing is executed", async (_what, change) => {
        const bad = lab.nodes[1].name;
        k.api.scenario.ovsPods[bad] = change;
        const since = k.api.requests.length;
        const e = await check();
        expect(e?.message.split("\n")[0]).toBe(`[kubectl] step "check-ovs-pods" failed: no running OVS pod (label app=ovs) on 1 node(s): ${bad}`);
        expect(execAttempts(k.api, since)).toEqual([]);
        // The same node, asked for its endpoint (what every node step does first):
        const step = await nodeEndpoint(k.access, bad, exec).catch((x: Error) => x);
        expect((step as Error).message.split("\n")[0]).toBe(`[${bad}] step "find-ovs-pod" failed: no running pod with label app=ovs on node ${bad} in namespace kube-system`);
    });

    it("two NB leaders: both named, nothing executed", async () => {
        k.api.scenario.central = { replicas: 3, leaders: 2 };
        const since = k.api.requests.length;
        const e = await check();
        const leaders = (await k.api.objects()).pods.filter((p) => p.object.metadata.labels["ovn-nb-leader"] === "true").map((p) => p.object.metadata.name);
        expect(leaders).toHaveLength(2);
        expect(e?.message.split("\n")[0]).toBe(`[ovn-central] step "find-nb-leader" failed: 2 pods carry ovn-nb-leader=true (${leaders.join(", ")}); expected exactly one`);
        expect(execAttempts(k.api, since)).toEqual([]);
    });

    it("three ovn-central replicas, one leader: the leader is the one asked", async () => {
        k.api.scenario.central = { replicas: 3, leaders: 1 };
        const since = k.api.requests.length;
        await checkCluster(k.access, nodes(), exec);
        const leader = (await k.api.objects()).pods.find((p) => p.object.metadata.labels["ovn-nb-leader"] === "true")!.object.metadata.name;
        expect(execsServed(k.api, since).map((e) => e.pod)).toEqual([leader]);
    });

    it.each([
        ["a v1.13 image", { image: "docker.io/kubeovn/kube-ovn:v1.13.0", args: [] }, /Kube-OVN v1\.13\.0 has built-in IPsec \(v1\.13\+\)/],
        ["a v1.16 image", { image: "docker.io/kubeovn/kube-ovn:v1.16.2", args: [] }, /Kube-OVN v1\.16\.2 has built-in IPsec/],
        ["--enable-ovn-ipsec=true", { image: "registry.local/kube-ovn:custom", args: ["--enable-ovn-ipsec=true"] }, /runs with --enable-ovn-ipsec=true: this cluster manages IPsec itself/],
        ["--enable-ovn-ipsec", { image: "docker.io/kubeovn/kube-ovn:v1.12.35", args: ["--default-cidr=10.16.0.0/16", "--enable-ovn-ipsec"] }, /runs with --enable-ovn-ipsec: this cluster manages IPsec itself/],
    ])("the v1.13+ guard refuses %s before any exec", async (_what, controller, expected) => {
        k.api.scenario.controller = controller;
        const since = k.api.requests.length;
        const e = await check();
        expect(e?.message).toMatch(/^\[kubectl\] step "check-kube-ovn-version" failed/);
        expect(e?.message).toMatch(expected);
        expect(e?.message).toContain("nothing was changed");
        expect(execAttempts(k.api, since)).toEqual([]);
    });

    it.each([
        ["a v1.12 image", { image: "docker.io/kubeovn/kube-ovn:v1.12.22", args: [] }, "v1.12.22"],
        ["a v1.11.4 image", { image: "kubeovn/kube-ovn:v1.11.4", args: [] }, "v1.11.4"],
        ["--enable-ovn-ipsec=false", { image: "docker.io/kubeovn/kube-ovn:v1.12.35", args: ["--enable-ovn-ipsec=false"] }, "v1.12.35"],
    ])("the guard lets %s through", async (_what, controller, version) => {
        k.api.scenario.controller = controller;
        expect((await checkCluster(k.access, nodes(), exec)).kubeOvnVersion).toBe(version);
    });

    it("no kube-ovn-controller Deployment: refused, unless access.kubeOvnVersion says which version it is", async () => {
        k.api.scenario.controller = null;
        const e = await checkCluster(k.access, nodes(), exec).then(() => null, (x: Error) => x);
        expect(e?.message).toMatch(/step "check-kube-ovn-version" failed: cannot tell which Kube-OVN version this cluster runs: there is no kube-ovn-controller Deployment in namespace kube-system/);
        expect((await checkCluster({ ...k.access, kubeOvnVersion: "v1.12.35" }, nodes(), exec)).kubeOvnVersion).toBe("v1.12.35");
    });

    it("a wrong token: 401, one line naming kubeconfig, context and what to do, before any node is touched", async () => {
        const bad = k.api.writeKubeconfig(path.join(k.dir, "wrong-token"), { token: "koi-lab.expired" });
        const before = lab.nodes.map((n) => otherConfig(lab, n.name));
        const since = k.api.requests.length;
        const e = await check(accessFor(bad));
        expect(e?.message).toMatch(/^\[kubectl\] step "check-kube-ovn-version" failed \(exit 1, 1 attempt\): Unauthorized: /);
        expect(e?.message).toContain(`context "kube-ovn-ipsec-lab" of kubeconfig ${bad}; renew them`);
        expect(e?.message.split("\n")).toHaveLength(1);
        expect(k.api.requests.slice(since).map((r) => r.status)).toEqual(expect.arrayContaining([401]));
        expect(k.api.requests.slice(since).every((r) => r.status === 401)).toBe(true);
        expect(lab.nodes.map((n) => otherConfig(lab, n.name))).toEqual(before);
    });

    it("the API server down: a clear error naming it, retried, nothing changed", async () => {
        const gone = await startKubeApi();
        const kubeconfig = gone.writeKubeconfig(path.join(k.dir, "down"));
        await gone.close();
        const nbBefore = nbIpsec(lab);
        const e = await checkCluster(accessFor(kubeconfig), nodes(), { timeoutSeconds: 20, retries: 1 }).then(
            () => null,
            (x: Error) => x,
        );
        expect(e?.message.split("\n")[0]).toMatch(new RegExp(`^\\[kubectl\\] step "check-[a-z-]+" failed \\(exit 1, 2 attempts\\): the API server ${new URL(gone.url).host.replace(/\./g, "\\.")} of context "kube-ovn-ipsec-lab" of kubeconfig ${kubeconfig} refused the connection$`));
        expect(e?.message).toContain("what to do: check that the API server is up");
        expect(nbIpsec(lab)).toBe(nbBefore);
    });
});

describe("discoverNodes", () => {
    const discover = () => discoverNodes({ kubectl: { binary: k.access.kubectl, kubeconfig: k.kubeconfig, context: "kube-ovn-ipsec-lab" } }, { retries: 0, execTimeoutSeconds: 20 });
    const failed = async () => (await discover().then(() => new Error("discovered"), (e: Error) => e)).message;

    it("finds every lab node with the system-id its pod reports, asking each pod once", async () => {
        const since = k.api.requests.length;
        expect(await discover()).toEqual([...nodes()].sort((a, b) => a.name.localeCompare(b.name)));
        expect(execsServed(k.api, since).map((e) => e.pod).sort()).toEqual((await podsNamed("ovs")).sort());
    });

    it("a node without the chassis annotation is named; the others were still asked", async () => {
        const bare = lab.nodes[2].name;
        k.api.scenario.withoutChassis = [bare];
        const since = k.api.requests.length;
        const message = await failed();
        expect(message).toBe(`node discovery failed on 1 of 3 node(s):\n  [${bare}] the node has no ovn.kubernetes.io/chassis annotation: is kube-ovn-cni running there?`);
        expect(execsServed(k.api, since)).toHaveLength(3);
    });

    it("an annotation that is not the pod's system-id: the node was reinstalled", async () => {
        const stale = lab.nodes[0];
        k.api.scenario.chassis = { [stale.name]: "0badc0de-0000-4000-8000-000000000000" };
        expect(await failed()).toContain(`[${stale.name}] annotation ovn.kubernetes.io/chassis="0badc0de-0000-4000-8000-000000000000" but the OVS pod reports system-id "${stale.systemId}": the node was reinstalled`);
    });

    it("an ovs-ovn pod on a node that is not in the Node list is named", async () => {
        k.api.scenario.extraOvsPods = [{ nodeName: "kube-ovn-worker9", target: lab.nodes[0].target }];
        expect(await failed()).toBe("node discovery failed on 1 of 4 node(s):\n  [kube-ovn-worker9] the node has no ovn.kubernetes.io/chassis annotation: is kube-ovn-cni running there?");
    });

    it("a node whose ovs-ovn pod is not Running is left out (it cannot be configured now)", async () => {
        k.api.scenario.ovsPods[lab.nodes[1].name] = { phase: "Pending" };
        expect((await discover()).map((n) => n.name)).toEqual(nodes().filter((n) => n.name !== lab.nodes[1].name).map((n) => n.name).sort());
    });
});
