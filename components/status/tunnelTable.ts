/**
 * How much of the per-tunnel table the status keeps: every tunnel of every node is N*(N-1) rows
 * (a million at 1000 nodes), in the state and the stack outputs. Up to FULL_TUNNEL_TABLE_NODES
 * nodes the status lists every tunnel; above, each node keeps its counts (configured,
 * established, missingPeers, ...) and, in full, only the tunnels that are not healthy (with
 * IPsec disabled: every tunnel, each is a leftover): so the
 * status grows with the number of nodes and of problems, not with N^2.
 */
import type { WaitFor } from "../args";
import { NodeStatusReport, PeerTunnelReport, protectsPeer } from "./nodeStatus";

/** Up to this many nodes, every tunnel is listed (20 nodes: at most 380 rows). */
export const FULL_TUNNEL_TABLE_NODES = 20;

/** Configured with this node's certificate, with kernel policies (and established if waited for). */
export function isHealthyTunnel(report: NodeStatusReport, tunnel: PeerTunnelReport, waitFor: WaitFor): boolean {
    return protectsPeer(report.systemId, tunnel) && (waitFor !== "established" || tunnel.established);
}

/** The reports as the status keeps them (`tunnelsOmitted`: healthy tunnels not listed). */
export function withTunnelTable(reports: NodeStatusReport[], enabled: boolean, waitFor: WaitFor): NodeStatusReport[] {
    // With IPsec off, every tunnel left is the problem: all listed.
    if (reports.length <= FULL_TUNNEL_TABLE_NODES || !enabled) return reports;
    return reports.map((r) => {
        const listed = r.tunnels.filter((t) => !isHealthyTunnel(r, t, waitFor));
        return { ...r, tunnels: listed, tunnelsOmitted: r.tunnelsOmitted + (r.tunnels.length - listed.length) };
    });
}
