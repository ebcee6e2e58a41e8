/**
 * The whole lifecycle once more with kubectl access: the very tests and assertions of
 * test/lifecycle/lifecycle.test.ts (enable, flag flip, rotation, join/leave, destroy, a stale
 * system-id, the established timeout), with every cluster read and node step going through the
 * real kubectl, the lab's API stand-in and WebSocket exec into the lab's pods instead of the
 * command transport. Only the default access of configFor changes.
 */
import type { Access } from "../../components";
import { KubectlUnderTest, startKubectlUnderTest } from "../support/kubeApi";
import { keyFingerprints, leaksIn } from "../support/keyMaterial";
import { labStatus, podOk } from "../support/lab";
import { useDefaultAccess } from "../support/node";

let k: KubectlUnderTest | undefined;

useDefaultAccess((): Access => {
    if (!k) throw new Error("the API stand-in is not started");
    return { kubectl: { binary: k.access.kubectl, kubeconfig: k.kubeconfig, context: k.api.contextName } };
});

// Registers the lifecycle's hooks and tests (its beforeAll starts a fresh lab, then ours starts the stand-in).
require("../lifecycle/lifecycle.test");

beforeAll(async () => {
    k = await startKubectlUnderTest();
});
afterAll(async () => {
    await k?.close();
    useDefaultAccess(null);
});

describe("through kubectl", () => {
    it("every node and the NB leader were reached by kubectl exec through the stand-in, and nothing else", () => {
        const execs = (k as KubectlUnderTest).api.requests.filter((r) => r.exec);
        const nodes = new Set(execs.filter((r) => r.exec?.pod.startsWith("ovs-ovn-")).map((r) => r.exec?.node));
        // 3 nodes, and a 4th that joined and left.
        expect(nodes.size).toBeGreaterThanOrEqual(4);
        expect(execs.some((r) => r.exec?.pod.startsWith("ovn-central-"))).toBe(true);
        // Each exec served was a `kubectl exec` run (some runs end before the upgrade, e.g. a replaced pod).
        const runs = (k as KubectlUnderTest).argvLog().filter((a) => a.split("\n").includes("exec"));
        expect(runs.length).toBeGreaterThanOrEqual(execs.length);
    });

    it("no private key in any argv kubectl got or any request the API saw, across the whole lifecycle", () => {
        const api = (k as KubectlUnderTest).api;
        // The keys the nodes hold now (installed by the last runs), read through the lab's own transport.
        const lab = labStatus();
        const keys = lab.nodes.map((n) => podOk(lab, n.target, `cat "$(ovs-vsctl get Open_vSwitch . other_config:private_key | tr -d '"')"`));
        expect(keys.every((key) => key.includes("PRIVATE KEY"))).toBe(true);
        const fingerprints = keyFingerprints(keys);
        const places: Array<[string, string]> = [
            ["kubectl argv", (k as KubectlUnderTest).argvLog().join("\n")],
            ["API requests", JSON.stringify(api.requests)],
        ];
        expect(places.flatMap(([where, text]) => leaksIn(text, fingerprints).map((l) => `${where}: ${l}`))).toEqual([]);
        // They reached the nodes on stdin: the applies streamed at least a key's worth each.
        const applies = api.requests.filter((r) => r.exec && r.exec.stdinBytes > 0);
        expect(applies.length).toBeGreaterThanOrEqual(lab.nodes.length);
        expect(Math.min(...applies.map((r) => r.exec?.stdinBytes ?? 0))).toBeGreaterThan(Math.min(...keys.map((key) => key.length)));
    });
});
