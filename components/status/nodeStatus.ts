/**
 * From what a node printed to what we report: per-peer tunnels, whether each is configured
 * and established, and whether the node meets the condition we are waiting for.
 * Pure functions; the status provider does the I/O.
 */
import type { WaitFor } from "../args";
import { parseIpsecStatus } from "./ipsecStatus";
import { parseTunnelsShow } from "./tunnelsShow";
import type { IkeDaemonReport, TunnelReport } from "./types";

export interface PeerTunnelReport extends TunnelReport {
    /** Node name of the remote end, when its system-id is one of ours. */
    peerNode: string | null;
    /** An ESTABLISHED IKE SA with this peer (authenticated with our certificates). */
    ikeEstablished: boolean;
    /** INSTALLED CHILD SAs of this tunnel's connections. */
    childSasInstalled: number;
    /** CONFIGURED, IKE SA up, and CHILD SAs installed both ways: traffic is encrypted. */
    established: boolean;
}

export interface NodeStatusReport {
    node: string;
    systemId: string;
    /** false when the node could not be asked; `error` says why. */
    reachable: boolean;
    error: string | null;
    monitorRunning: boolean;
    ikeDaemonRunning: boolean;
    tunnels: PeerTunnelReport[];
    ike: { up: number; connecting: number; childSasInstalled: number };
    /** Peers this node should have an IPsec tunnel to (0 when IPsec is disabled). */
    expectedTunnels: number;
    configured: number;
    established: number;
    /** Peer node names without a CONFIGURED tunnel from this node. */
    missingPeers: string[];
    /** Whether this node meets the condition that was waited for. */
    ready: boolean;
}

export interface StatusSummary {
    enabled: boolean;
    waitFor: WaitFor;
    nodes: number;
    reachableNodes: number;
    /** N-1 per node when enabled, 0 when disabled. */
    tunnelsExpected: number;
    configured: number;
    established: number;
    /** Every node meets the condition (`waitFor`, or `configured` when waitFor is none). */
    ready: boolean;
}

export interface Peer {
    name: string;
    systemId: string;
}

/** What a node printed, as the status script frames it. */
export interface RawNodeStatus {
    tunnelsShow: string;
    tunnelsShowOk: boolean;
    ipsecStatus: string;
    ipsecStatusOk: boolean;
    monitorRunning: boolean;
    ikeDaemonRunning: boolean;
}

export interface Expectation {
    node: string;
    systemId: string;
    peers: Peer[];
    enabled: boolean;
    waitFor: WaitFor;
}

const EMPTY_IKE: IkeDaemonReport = { ikeUp: 0, ikeConnecting: 0, ikeSas: [], childSas: [], routed: 0 };

/** Connection names of a tunnel in strongSwan: `<interface>-in-<n>` / `<interface>-out-<n>`. */
function connectionsOf(tunnel: TunnelReport, ike: IkeDaemonReport, direction: "in" | "out"): number {
    const prefix = `${tunnel.interface}-${direction}-`;
    return ike.childSas.filter((c) => c.name.startsWith(prefix) && c.state === "INSTALLED").length;
}

export function evaluateNode(expect: Expectation, raw: RawNodeStatus): NodeStatusReport {
    const tunnels = raw.tunnelsShowOk ? parseTunnelsShow(raw.tunnelsShow) : [];
    const ike = raw.ipsecStatusOk ? parseIpsecStatus(raw.ipsecStatus) : EMPTY_IKE;
    const peerBySystemId = new Map(expect.peers.map((p) => [p.systemId, p.name]));

    const reports: PeerTunnelReport[] = tunnels.map((t) => {
        const ikeEstablished = ike.ikeSas.some(
            (sa) => sa.state === "ESTABLISHED" && sa.remoteId === t.remoteName && (t.remoteIp === null || sa.remoteIp === t.remoteIp),
        );
        const inbound = connectionsOf(t, ike, "in");
        const outbound = connectionsOf(t, ike, "out");
        return {
            ...t,
            peerNode: t.remoteName === null ? null : peerBySystemId.get(t.remoteName) ?? null,
            ikeEstablished,
            childSasInstalled: inbound + outbound,
            established: t.state === "CONFIGURED" && ikeEstablished && inbound > 0 && outbound > 0,
        };
    });

    // A tunnel counts for a peer only when it is ours: CONFIGURED with our name on this end.
    const good = (t: PeerTunnelReport) => t.state === "CONFIGURED" && t.localName === expect.systemId;
    const configuredPeers = new Set(reports.filter((t) => good(t) && t.peerNode !== null).map((t) => t.peerNode));
    const establishedPeers = new Set(reports.filter((t) => good(t) && t.established && t.peerNode !== null).map((t) => t.peerNode));
    const expectedTunnels = expect.enabled ? expect.peers.length : 0;
    const configured = expect.enabled ? configuredPeers.size : 0;
    const established = expect.enabled ? establishedPeers.size : 0;

    let ready: boolean;
    if (!expect.enabled) {
        // Disabled is reached when the monitor answers and lists no IPsec tunnel at all.
        ready = raw.tunnelsShowOk && tunnels.length === 0;
    } else if (expect.waitFor === "established") {
        ready = raw.monitorRunning && established === expectedTunnels;
    } else {
        ready = raw.monitorRunning && configured === expectedTunnels;
    }

    return {
        node: expect.node,
        systemId: expect.systemId,
        reachable: true,
        error: null,
        monitorRunning: raw.monitorRunning,
        ikeDaemonRunning: raw.ikeDaemonRunning,
        tunnels: reports,
        ike: { up: ike.ikeUp, connecting: ike.ikeConnecting, childSasInstalled: ike.childSas.filter((c) => c.state === "INSTALLED").length },
        expectedTunnels,
        configured,
        established,
        missingPeers: expect.enabled ? expect.peers.filter((p) => !configuredPeers.has(p.name)).map((p) => p.name) : [],
        ready,
    };
}

export function unreachableNode(expect: Expectation, error: string): NodeStatusReport {
    return {
        node: expect.node,
        systemId: expect.systemId,
        reachable: false,
        error,
        monitorRunning: false,
        ikeDaemonRunning: false,
        tunnels: [],
        ike: { up: 0, connecting: 0, childSasInstalled: 0 },
        expectedTunnels: expect.enabled ? expect.peers.length : 0,
        configured: 0,
        established: 0,
        missingPeers: expect.enabled ? expect.peers.map((p) => p.name) : [],
        ready: false,
    };
}

export function summarize(reports: NodeStatusReport[], enabled: boolean, waitFor: WaitFor): StatusSummary {
    const sum = (f: (r: NodeStatusReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    return {
        enabled,
        waitFor,
        nodes: reports.length,
        reachableNodes: reports.filter((r) => r.reachable).length,
        tunnelsExpected: sum((r) => r.expectedTunnels),
        configured: sum((r) => r.configured),
        established: sum((r) => r.established),
        ready: reports.every((r) => r.ready),
    };
}

/** One line per node: what it reached. Used in timeout errors. */
export function describeNode(r: NodeStatusReport): string {
    if (!r.reachable) return `${r.node}: unreachable: ${r.error ?? "unknown error"}`;
    const parts = [
        `${r.node}:`,
        r.expectedTunnels > 0 ? `${r.configured}/${r.expectedTunnels} tunnels CONFIGURED, ${r.established}/${r.expectedTunnels} established` : `${r.tunnels.length} IPsec tunnels listed`,
        `(ovs-monitor-ipsec ${r.monitorRunning ? "running" : "NOT running"}, IKE daemon ${r.ikeDaemonRunning ? "running" : "NOT running"}, IKE SAs up ${r.ike.up}, CHILD SAs installed ${r.ike.childSasInstalled})`,
    ];
    if (r.missingPeers.length > 0) parts.push(`missing: ${r.missingPeers.slice(0, 10).join(", ")}${r.missingPeers.length > 10 ? ", ..." : ""}`);
    const bad = r.tunnels.filter((t) => t.state !== "CONFIGURED");
    if (bad.length > 0) parts.push(`not configured: ${bad.slice(0, 5).map((t) => `${t.interface} ${t.state}${t.stateDetail ? ` (${t.stateDetail})` : ""}`).join("; ")}`);
    return parts.join(" ");
}
