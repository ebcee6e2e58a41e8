/**
 * Small state (issue 9 item 4), without a lab: what a dynamic resource stores of its provider,
 * and how the status output grows with the number of nodes. The lab's whole-state numbers are
 * asserted in test/lifecycle/installedCopy.test.ts (a user's project) and measured by the bench.
 */
import { KubeOvnIpsec } from "../../components";
import type { NodeStatusReport, PeerTunnelReport } from "../../components/status/nodeStatus";
import { FULL_TUNNEL_TABLE_NODES, withTunnelTable } from "../../components/status/tunnelTable";
import { captureGraph } from "../support/graph";

const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));

describe("what a dynamic resource stores of its provider", () => {
    it("is a stub of at most 4 KB (stored in inputs and outputs: at most 8 KB per resource), the same at 3 and 100 nodes", async () => {
        const sizes = async (n: number) => {
            const nodes = Array.from({ length: n }, (_, i) => ({ name: `w${i}`, systemId: `sid-${i}` }));
            const { registrations, error } = await captureGraph((opts) => new KubeOvnIpsec("ipsec", { nodes }, opts));
            if (error) throw error;
            const dynamic = registrations.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
            for (const r of dynamic) {
                // It captures nothing but these (a captured module, e.g. through a compiled
                // `exports.X`, would be serialized as a `require` of a path the package does not export).
                const captured = [...String(r.inputs.__provider).matchAll(/with\(\{ (.*?) \}\)/g)].flatMap((m) => m[1].split(", ").map((kv) => kv.slice(0, kv.indexOf(":"))));
                // (`provider`: the SDK's own `() => provider`.)
                expect([...new Set(captured)].sort()).toEqual(["MODULE_ID", "arguments", "forward", "provider", "target", "this"]);
            }
            return new Map(dynamic.map((r) => [r.type.split(":").pop() as string, bytes(r.inputs.__provider)]));
        };
        const three = await sizes(3);
        expect([...three.keys()].sort()).toEqual(["CaRetire", "CaTrust", "IpsecReadiness", "IpsecStatus", "IpsecSwitch", "NodeIpsec", "Preflight"]);
        for (const [type, size] of three) expect({ type, small: size <= 4096 }).toEqual({ type, small: true });
        expect(await sizes(100)).toEqual(three);
    });
});

/** A node's report as the status provider makes it, with every one of its n-1 tunnels healthy. */
function report(i: number, n: number): NodeStatusReport {
    const tunnel = (j: number): PeerTunnelReport => ({
        interface: `ovn-${String(j).padStart(6, "0")}-0`,
        version: 1,
        state: "CONFIGURED",
        tunnelType: "geneve",
        localIp: `10.0.${i >> 8}.${i & 255}`,
        remoteIp: `10.0.${j >> 8}.${j & 255}`,
        addressFamily: "IPv4",
        localCert: `/etc/ipsec.d/certs/kube-ovn-ipsec-sid-${i}.pem`,
        localName: `sid-${i}`,
        localKey: `/etc/ipsec.d/private/kube-ovn-ipsec-sid-${i}.pem`,
        remoteName: `sid-${j}`,
        caCert: "/etc/ipsec.d/cacerts/kube-ovn-ipsec-ca.pem",
        ofport: j + 1,
        policies: 2,
        securityAssociations: 0,
        activeConnections: 0,
        peerNode: `w${j}`,
        ikeEstablished: false,
        childSasInstalled: 0,
        established: false,
    });
    const tunnels = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).map(tunnel);
    return {
        node: `w${i}`,
        systemId: `sid-${i}`,
        observedAt: "2026-12-01T10:00:00.000Z",
        health: "protected",
        reachable: true,
        problems: [],
        warnings: [],
        monitorRunning: true,
        ikeDaemonRunning: true,
        configIntact: true,
        guard: { wanted: false, installed: false, drops: 0 },
        xfrmPolicies: 2 * (n - 1),
        tunnels,
        tunnelsOmitted: 0,
        otherTunnels: 0,
        truncated: false,
        ike: { up: 0, connecting: 0, childSasInstalled: 0 },
        expectedTunnels: n - 1,
        configured: n - 1,
        established: 0,
        missingPeers: [],
        ready: true,
    };
}

describe("the status output", () => {
    const cluster = (n: number) => Array.from({ length: n }, (_, i) => report(i, n));

    it(`lists every tunnel up to ${FULL_TUNNEL_TABLE_NODES} nodes`, () => {
        const reports = cluster(FULL_TUNNEL_TABLE_NODES);
        expect(withTunnelTable(reports, true, "configured")).toEqual(reports);
    });

    it("above that, per node its counts and, in full, only the tunnels that are not healthy", () => {
        const reports = cluster(100);
        const broken: PeerTunnelReport = { ...reports[7].tunnels[3], state: "INVALID", stateDetail: "certificate not found" };
        reports[7] = { ...reports[7], tunnels: reports[7].tunnels.map((t, j) => (j === 3 ? broken : t)) };
        const kept = withTunnelTable(reports, true, "configured");
        expect(kept.map((r) => r.tunnels.length)).toEqual(reports.map((_, i) => (i === 7 ? 1 : 0)));
        expect(kept[7].tunnels).toEqual([broken]);
        expect(kept.map((r) => r.tunnelsOmitted)).toEqual(reports.map((_, i) => (i === 7 ? 98 : 99)));
        // The counts are untouched.
        expect(kept.map(({ tunnels: _t, tunnelsOmitted: _o, ...counts }) => counts)).toEqual(reports.map(({ tunnels: _t, tunnelsOmitted: _o, ...counts }) => counts));
        // Waiting for `established`, a configured tunnel without its SAs is not healthy: listed.
        expect(withTunnelTable(reports, true, "established").map((r) => r.tunnels.length)).toEqual(reports.map(() => 99));
        // IPsec off: every tunnel left is a leftover, listed.
        expect(withTunnelTable(reports, false, "configured")).toEqual(reports);
    });

    it("grows linearly with the number of nodes when they are healthy (bytes per node the same at 100 and 400)", () => {
        const perNode = (n: number) => bytes(withTunnelTable(cluster(n), true, "configured")) / n;
        const [hundred, more] = [perNode(100), perNode(400)];
        expect(more / hundred).toBeLessThan(1.05);
        expect(hundred).toBeLessThan(1024);
        // What one node's full table would be at 1000 nodes, for scale: N-1 rows.
        expect(bytes(report(0, 1000).tunnels)).toBeGreaterThan(300 * 1024);
    });
});
