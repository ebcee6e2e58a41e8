/**
 * From what a node printed (real lab captures, documented hand-made cases) to the per-peer
 * report and the readiness verdict that `waitFor` uses.
 */
import * as fs from "fs";
import * as path from "path";
import { Expectation, RawNodeStatus, describeNode, evaluateNode, summarize } from "../../components/status/nodeStatus";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", name), "utf8");

// The 3-node lab capture: n1's system-id and its two peers, as printed in the fixture.
const N1 = "25941846-9896-421b-a58f-1e030d5a1f5b";
const peers = [
    { name: "kube-ovn-worker", systemId: "8ecc6bc4-06d7-4bd8-a6f3-035eb4c29d4c" },
    { name: "kube-ovn-worker2", systemId: "8525d8a7-2f58-43a0-a3b4-43ae0287724e" },
];
const expect1 = (over: Partial<Expectation> = {}): Expectation => ({ node: "kube-ovn-control-plane", systemId: N1, peers, enabled: true, waitFor: "configured", ...over });
const raw = (over: Partial<RawNodeStatus>): RawNodeStatus => ({
    tunnelsShow: fixture("tunnels-show-3node-configured-n1.txt"),
    tunnelsShowOk: true,
    ipsecStatus: fixture("ipsec-status-routed-only.txt"),
    ipsecStatusOk: true,
    monitorRunning: true,
    ikeDaemonRunning: true,
    ...over,
});

describe("evaluateNode", () => {
    it("a CONFIGURED tunnel to every peer, no IKE yet: configured and ready, nothing established", () => {
        const r = evaluateNode(expect1(), raw({}));
        expect(r.expectedTunnels).toBe(2);
        expect(r.configured).toBe(2);
        expect(r.established).toBe(0);
        expect(r.missingPeers).toEqual([]);
        expect(r.ready).toBe(true);
        expect(r.tunnels.map((t) => t.peerNode).sort()).toEqual(peers.map((p) => p.name).sort());
        expect(r.tunnels.every((t) => t.localName === N1)).toBe(true);
    });

    it("waitFor=established is not met while no CHILD SA is installed", () => {
        expect(evaluateNode(expect1({ waitFor: "established" }), raw({})).ready).toBe(false);
    });

    it("an ESTABLISHED IKE SA alone (the most this kernel allows) is not 'established'", () => {
        const r = evaluateNode(expect1({ waitFor: "established" }), raw({ ipsecStatus: fixture("ipsec-status-ike-established-initiator.txt") }));
        const toWorker = r.tunnels.find((t) => t.peerNode === "kube-ovn-worker");
        expect(toWorker?.ikeEstablished).toBe(true);
        expect(toWorker?.established).toBe(false);
        expect(r.ike.up).toBe(1);
        expect(r.ready).toBe(false);
    });

    it("IKE SA plus INSTALLED CHILD SAs both ways: established, per peer", () => {
        // Hand-made from strongSwan's format: both peers have an ESTABLISHED IKE SA and
        // INSTALLED in and out CHILD SAs (plus a REKEYED one that must not count).
        const r = evaluateNode(expect1({ waitFor: "established" }), raw({ ipsecStatus: fixture("ipsec-status-child-installed-handmade.txt") }));
        for (const t of r.tunnels) {
            expect(t.ikeEstablished).toBe(true);
            expect(t.childSasInstalled).toBe(2);
            expect(t.established).toBe(true);
        }
        expect(r.established).toBe(2);
        expect(r.ready).toBe(true);
    });

    it("a peer without a tunnel is missing, and the node is not ready", () => {
        const extra = { name: "kube-ovn-worker3", systemId: "ffffffff-0000-4000-8000-000000000000" };
        const r = evaluateNode(expect1({ peers: [...peers, extra] }), raw({}));
        expect(r.expectedTunnels).toBe(3);
        expect(r.configured).toBe(2);
        expect(r.missingPeers).toEqual(["kube-ovn-worker3"]);
        expect(r.ready).toBe(false);
        expect(describeNode(r)).toContain("missing: kube-ovn-worker3");
    });

    it("tunnels carrying another node's name do not count for this node", () => {
        const r = evaluateNode(expect1({ systemId: "00000000-0000-4000-8000-000000000000" }), raw({}));
        expect(r.configured).toBe(0);
        expect(r.ready).toBe(false);
    });

    it("disabled: ready once the monitor lists no IPsec tunnel", () => {
        const off = evaluateNode(expect1({ enabled: false }), raw({ tunnelsShow: fixture("tunnels-show-no-tunnels.txt") }));
        expect(off.ready).toBe(true);
        expect(off.expectedTunnels).toBe(0);
        expect(evaluateNode(expect1({ enabled: false }), raw({})).ready).toBe(false);
    });

    it("a monitor that does not answer is never ready, and says so", () => {
        const r = evaluateNode(expect1(), raw({ tunnelsShow: fixture("ovs-appctl-monitor-not-running.txt"), tunnelsShowOk: false, monitorRunning: false }));
        expect(r.ready).toBe(false);
        expect(r.tunnels).toEqual([]);
        expect(describeNode(r)).toContain("ovs-monitor-ipsec NOT running");
    });

    it("INVALID tunnels are reported with their reason in the account", () => {
        const r = evaluateNode(expect1(), raw({ tunnelsShow: fixture("tunnels-show-invalid-removed-handmade.txt") }));
        const invalid = r.tunnels.filter((t) => t.state === "INVALID");
        expect(invalid.length).toBeGreaterThan(0);
        expect(describeNode(r)).toContain(`${invalid[0].interface} INVALID`);
    });
});

describe("summarize", () => {
    it("adds up per-node counts and is ready only when every node is", () => {
        const a = evaluateNode(expect1(), raw({}));
        const b = evaluateNode(expect1({ node: "other" }), raw({ tunnelsShowOk: false, monitorRunning: false }));
        const s = summarize([a, b], true, "configured");
        expect(s).toEqual({ enabled: true, waitFor: "configured", nodes: 2, reachableNodes: 2, tunnelsExpected: 4, configured: 2, established: 0, ready: false });
        expect(summarize([a], true, "configured").ready).toBe(true);
    });
});
