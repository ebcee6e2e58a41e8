/**
 * From one observation of a node to what we report about it: is its Geneve traffic protected,
 * and if not, what is missing, what that means, and what to do; per peer, which tunnels are
 * configured and established. Pure functions; the status provider does the I/O.
 */
import type { WaitFor } from "../args";
import type { NodeObservation } from "../observe/nodeObservation";
import { CA_FILE_NAME } from "../node/nodeFiles";
import { CERT_KEYS } from "../node/ovsdbRecord";
import { parseIpsecStatus } from "./ipsecStatus";
import { parseTunnelsShow } from "./tunnelsShow";
import type { IkeDaemonReport, IkeSaReport, TunnelReport } from "./types";

export interface PeerTunnelReport extends TunnelReport {
    /** Node name of the remote end (only tunnels to our nodes are reported). */
    peerNode: string;
    /** An ESTABLISHED IKE SA with this peer (authenticated with our certificates). */
    ikeEstablished: boolean;
    /** INSTALLED CHILD SAs of this tunnel's connections. */
    childSasInstalled: number;
    /** CONFIGURED, IKE SA up, and CHILD SAs installed both ways: traffic is encrypted. */
    established: boolean;
    /**
     * IKE with this peer gets no answer: an IKE SA stayed CONNECTING for seconds (its UDP 500 or
     * 4500 blocked?). Unset: not seen.
     */
    ikeNoAnswer?: boolean;
}

/** Why an IKE SA that stays CONNECTING is stuck, from what `ipsec status` shows of it. */
function unansweredIke(sa: IkeSaReport): string {
    // A responder's half-open SA has no connection yet: the initiator's IKE_AUTH never came.
    if (sa.name === "(unnamed)") return "its IKE_SA_INIT arrived on UDP 500, but its IKE_AUTH (UDP 4500) never did";
    // The initiator sets its own identity only once IKE_SA_INIT was answered.
    if (sa.localId === null || sa.localId === "%any") return "IKE_SA_INIT to its UDP 500 got no answer";
    return "it answered IKE_SA_INIT on UDP 500, but IKE_AUTH to its UDP 4500 got no answer";
}

/**
 * `protected`: IPsec is on and every tunnel to a peer is configured with our certificates and
 * has kernel policies, the daemons run (and the fail-closed guard is in place when wanted);
 * `notProtected`: something of that is missing (`problems`); `unknown`: the node could not be
 * read; `disabled`: IPsec is off cluster-wide (enabled: false).
 */
export const NodeHealth = {
    /** IPsec is on and every tunnel to a peer is configured, with kernel policies. */
    Protected: "protected",
    /** Something is missing (`problems`); `impact` says what it means for traffic. */
    NotProtected: "notProtected",
    /** The node could not be read (`error`). */
    Unknown: "unknown",
    /** IPsec is off cluster-wide (`enabled: false`). */
    Disabled: "disabled",
} as const;
export type NodeHealth = (typeof NodeHealth)[keyof typeof NodeHealth];

/** The fail-closed guard on one node. */
export interface GuardReport {
    /** failClosed and enabled: the guard should be in place. */
    wanted: boolean;
    /** The guard's chain and its jump are in the node's netfilter tables. */
    installed: boolean;
    /** Packets the guard has dropped (plain-text Geneve it stopped). */
    drops: number;
}

/** strongSwan's own counts on one node (`ipsec status`). */
export interface IkeCounts {
    /** IKE SAs up. */
    up: number;
    /** IKE SAs still connecting. */
    connecting: number;
    /** CHILD SAs installed in the kernel. */
    childSasInstalled: number;
}

export interface NodeStatusReport {
    /** Kubernetes node name. */
    node: string;
    /** OVS system-id of the node (its certificate CN). */
    systemId: string;
    /** RFC 3339 time this node was read. */
    observedAt: string;
    /** protected, notProtected, unknown or disabled. */
    health: NodeHealth;
    /** false when the node could not be read; `error` says why. */
    reachable: boolean;
    /** Why the node could not be read (unset when it could). */
    error?: string;
    /** What the node lacks, one sentence each (empty when protected). */
    problems: string[];
    /** What is odd on the node but does not change its protection, nor anything a run repairs. */
    warnings: string[];
    /** What it means for the node's traffic (unset when protected). */
    impact?: string;
    /** What to do about it (unset when nothing is to be done). */
    action?: string;
    /** ovs-monitor-ipsec answers on its control socket. */
    monitorRunning: boolean;
    /** strongSwan's charon answers `ipsec status`. */
    ikeDaemonRunning: boolean;
    /** other_config points at our files, which are intact (key mode 600). */
    configIntact: boolean;
    /** The fail-closed guard: wanted (failClosed and enabled), installed, packets dropped. */
    guard: GuardReport;
    /** Kernel IPsec policies on the node (unset: unknown). */
    xfrmPolicies?: number;
    /** Tunnels to peers; above FULL_TUNNEL_TABLE_NODES nodes only those not healthy (status/tunnelTable.ts). */
    tunnels: PeerTunnelReport[];
    /** Healthy tunnels to peers left out of `tunnels` (0 up to FULL_TUNNEL_TABLE_NODES nodes). */
    tunnelsOmitted: number;
    /** IPsec tunnels to nodes that are not in this stack (not detailed). */
    otherTunnels: number;
    /** tunnels/show was longer than we read: the counts are from its beginning. */
    truncated: boolean;
    /** strongSwan's IKE and CHILD SA counts on this node. */
    ike: IkeCounts;
    /** Peers this node should have an IPsec tunnel to (0 when IPsec is disabled). */
    expectedTunnels: number;
    /** Peers with a CONFIGURED tunnel of ours. */
    configured: number;
    /** Peers whose traffic is encrypted both ways (IKE SA and CHILD SAs). */
    established: number;
    /** Peer node names without a protected tunnel from this node. */
    missingPeers: string[];
    /** Whether this node meets the condition that was waited for. */
    ready: boolean;
    /** The CAs of a node that could be read (first 16 hex digits of each CA certificate's sha256). */
    ca?: NodeCaReport;
}

export interface NodeCaReport {
    /** The CA of the certificate kube-ovn-ipsec installed (from its manifest; unset: none). */
    signedBy?: string;
    /** The CA files of ours strongSwan trusts on the node: one, or two during a CA rotation. */
    trusted: string[];
}

/**
 * Where a CA change stands, from what every node that could be read shows: `trusting` (not every
 * node trusts the current CA yet), `reissuing` (every node trusts it, not every node's certificate
 * is signed by it yet), `retiring` (every certificate is, an older CA is still trusted somewhere),
 * `none` (one CA, everywhere).
 */
export const CaRotationPhase = { None: "none", Trusting: "trusting", Reissuing: "reissuing", Retiring: "retiring" } as const;
export type CaRotationPhase = (typeof CaRotationPhase)[keyof typeof CaRotationPhase];

/** The fingerprint of the CA file of ours that a manifest path names. */
function caFingerprintOf(path: string | null | undefined): string | undefined {
    const name = /\/([^/]+)$/.exec(path ?? "")?.[1];
    return name === undefined ? undefined : CA_FILE_NAME.exec(name)?.[1];
}

export function caRotationPhase(reports: readonly NodeStatusReport[], current: string | undefined): CaRotationPhase {
    const read = reports.map((r) => r.ca).filter((c): c is NodeCaReport => c !== undefined);
    if (current === undefined || read.length === 0) return "none";
    if (read.some((c) => !c.trusted.includes(current))) return "trusting";
    if (read.some((c) => c.signedBy !== undefined && c.signedBy !== current)) return "reissuing";
    if (read.some((c) => c.trusted.some((t) => t !== current))) return "retiring";
    return "none";
}

export interface StatusSummary {
    /** nb_global ipsec as this run set it. */
    enabled: boolean;
    /** The condition that was waited for. */
    waitFor: WaitFor;
    /** RFC 3339: when the last node was read. */
    observedAt: string;
    /** Nodes in the stack. */
    nodes: number;
    /** Nodes whose health is protected. */
    protectedNodes: number;
    /** Nodes whose health is notProtected. */
    notProtectedNodes: number;
    /** Nodes that could not be read. */
    unknownNodes: number;
    /** Nodes that could be read. */
    reachableNodes: number;
    /** N-1 per node when enabled, 0 when disabled. */
    tunnelsExpected: number;
    /** Sum of the nodes' configured peers. */
    configured: number;
    /** Sum of the nodes' established peers. */
    established: number;
    /** Every node meets the condition (`waitFor`, or `configured` when waitFor is none). */
    ready: boolean;
    /** The current CA, and where a change of it stands. */
    ca?: StatusCaSummary;
}

export interface StatusCaSummary {
    /** The CA every node certificate of the program is signed by (first 16 hex digits of its sha256). */
    current: string;
    /** none, trusting, reissuing or retiring (see CaRotationPhase). */
    rotation: CaRotationPhase;
}

export interface Peer {
    name: string;
    systemId: string;
}

export interface Expectation {
    node: string;
    systemId: string;
    peers: Peer[];
    enabled: boolean;
    waitFor: WaitFor;
    failClosed: boolean;
    /** UDP encapsulation should be forced on every tunnel (natTraversal). */
    natTraversal: boolean;
    /** The current CA's fingerprint (unset in states written before it existed). */
    caFingerprint?: string;
}

const EMPTY_IKE: IkeDaemonReport = { ikeUp: 0, ikeConnecting: 0, ikeSas: [], childSas: [], routed: 0 };

/** Connection names of a tunnel in strongSwan: `<interface>-in-<n>` / `<interface>-out-<n>`. */
function connectionsOf(tunnel: TunnelReport, ike: IkeDaemonReport, direction: "in" | "out"): number {
    const prefix = `${tunnel.interface}-${direction}-`;
    return ike.childSas.filter((c) => c.name.startsWith(prefix) && c.state === "INSTALLED").length;
}

function parsedTunnels(o: NodeObservation): TunnelReport[] | null {
    if (!o.tunnelsShow.ok) return null;
    try {
        return parseTunnelsShow(o.tunnelsShow.text);
    } catch {
        return null;
    }
}

function parsedIke(o: NodeObservation): IkeDaemonReport {
    if (!o.ipsecStatus.ok) return EMPTY_IKE;
    try {
        return parseIpsecStatus(o.ipsecStatus.text);
    } catch {
        return EMPTY_IKE;
    }
}

/** Problems with our configuration on the node, from the observation alone. */
function configProblems(o: NodeObservation): string[] {
    const problems: string[] = [];
    const set = CERT_KEYS.filter((k) => o.otherConfig[k] !== null);
    if (set.length === 0) problems.push("OVSDB other_config has no certificate/private_key/ca_cert");
    if (o.manifest === null) {
        problems.push(o.ourFiles === 0 ? "kube-ovn-ipsec's certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)" : "the manifest of kube-ovn-ipsec's files is missing");
        return problems;
    }
    const manifest = o.manifest;
    if (set.length > 0 && CERT_KEYS.some((k) => o.otherConfig[k] !== manifest[k])) problems.push("OVSDB other_config does not point at the files kube-ovn-ipsec installed");
    for (const k of CERT_KEYS) {
        if (o.files[k] === "missing") problems.push(`${manifest[k] ?? k} is missing`);
        else if (o.files[k] === "changed") problems.push(`${manifest[k] ?? k} was changed`);
    }
    if (o.files.private_key !== "missing" && o.privateKeyMode !== "600") problems.push(`the private key file has mode ${o.privateKeyMode ?? "?"}, not 600`);
    return problems;
}

function listNames(names: readonly string[]): string {
    return names.length <= 10 ? names.join(", ") : `${names.slice(0, 10).join(", ")} and ${names.length - 10} more`;
}

/** CONFIGURED, with our name (this node's system-id) on this end. */
export function isOurConfiguredTunnel(systemId: string, t: PeerTunnelReport): boolean {
    return t.state === "CONFIGURED" && t.localName === systemId;
}

/** A tunnel protects its peer only when it is ours, CONFIGURED, and the kernel has its policies. */
export function protectsPeer(systemId: string, t: PeerTunnelReport): boolean {
    return isOurConfiguredTunnel(systemId, t) && t.policies > 0;
}

export function evaluateNode(expect: Expectation, o: NodeObservation): NodeStatusReport {
    const base = {
        node: expect.node,
        systemId: expect.systemId,
        observedAt: o.observedAt,
        reachable: o.reachable,
        error: o.error ?? undefined,
        monitorRunning: o.monitorRunning,
        ikeDaemonRunning: o.ikeDaemonRunning,
        xfrmPolicies: o.xfrmPolicies ?? undefined,
        truncated: o.tunnelsShow.truncated,
    };
    const guardWanted = expect.failClosed && expect.enabled;
    const guardInstalled = o.guard.jumps >= 1 && o.guard.chain;
    const expectedTunnels = expect.enabled ? expect.peers.length : 0;
    if (!o.reachable) {
        return {
            ...base,
            health: "unknown",
            problems: [`the node cannot be read: ${o.error ?? "unknown error"}`],
            warnings: [],
            impact: `it is unknown whether Geneve traffic between ${expect.node} and its ${expect.peers.length} peer(s) is protected`,
            action: "check the node's ovs-ovn pod (kubectl -n kube-system get pods -l app=ovs -o wide) and run `pulumi up` again",
            configIntact: false,
            guard: { wanted: guardWanted, installed: false, drops: 0 },
            tunnels: [],
            tunnelsOmitted: 0,
            otherTunnels: 0,
            ike: { up: 0, connecting: 0, childSasInstalled: 0 },
            expectedTunnels,
            configured: 0,
            established: 0,
            missingPeers: expect.enabled ? expect.peers.map((p) => p.name) : [],
            ready: false,
        };
    }

    const all = parsedTunnels(o);
    const ike = parsedIke(o);
    const peerBySystemId = new Map(expect.peers.map((p) => [p.systemId, p.name]));
    const reports: PeerTunnelReport[] = [];
    let otherTunnels = 0;
    for (const t of all ?? []) {
        const peerNode = t.remoteName === undefined ? undefined : peerBySystemId.get(t.remoteName);
        if (peerNode === undefined) {
            otherTunnels++;
            continue;
        }
        const ikeEstablished = ike.ikeSas.some((sa) => sa.state === "ESTABLISHED" && sa.remoteId === t.remoteName && (t.remoteIp === undefined || sa.remoteIp === t.remoteIp));
        const inbound = connectionsOf(t, ike, "in");
        const outbound = connectionsOf(t, ike, "out");
        reports.push({ ...t, peerNode, ikeEstablished, childSasInstalled: inbound + outbound, established: t.state === "CONFIGURED" && ikeEstablished && inbound > 0 && outbound > 0 });
    }

    // IKE SAs that stayed CONNECTING while the observe script watched: named per peer, by address.
    const stuck = new Map<string, IkeSaReport>();
    for (const sa of ike.ikeSas) if (sa.state === "CONNECTING" && sa.remoteIp !== null && o.ikeStuck.includes(`${sa.name}[${sa.id}]`) && !stuck.has(sa.remoteIp)) stuck.set(sa.remoteIp, sa);
    const unanswered: string[] = [];
    for (const t of reports) {
        const sa = t.remoteIp === undefined ? undefined : stuck.get(t.remoteIp);
        if (sa === undefined || t.established) continue;
        t.ikeNoAnswer = true;
        unanswered.push(`IKE with ${t.peerNode} (${t.remoteIp}) gets no answer: ${unansweredIke(sa)}`);
    }

    const ours = (t: PeerTunnelReport) => isOurConfiguredTunnel(expect.systemId, t);
    const configuredPeers = new Set(reports.filter(ours).map((t) => t.peerNode));
    const protectedPeers = new Set(reports.filter((t) => protectsPeer(expect.systemId, t)).map((t) => t.peerNode));
    const establishedPeers = new Set(reports.filter((t) => ours(t) && t.established).map((t) => t.peerNode));
    const config = configProblems(o);
    const problems: string[] = [];
    const warnings: string[] = [];
    if (!o.monitorRunning) problems.push("ovs-monitor-ipsec is not running");
    if (!o.ikeDaemonRunning) problems.push("the IKE daemon (strongSwan charon) is not running");
    problems.push(...config);

    // Not a problem (the traffic is still encrypted), but the node is not ready: an up waits for
    // the monitor to reconfigure the tunnels, and fails naming them if it never does.
    const unforced = expect.enabled && expect.natTraversal ? reports.filter((t) => ours(t) && t.forceEncapsulation !== true).map((t) => t.peerNode) : [];
    const missingPeers = expect.enabled ? expect.peers.filter((p) => !protectedPeers.has(p.name)).map((p) => p.name) : [];
    if (expect.enabled) {
        if (all === null && o.monitorRunning) problems.push("ovs-monitor-ipsec did not answer tunnels/show");
        const unconfigured = expect.peers.filter((p) => !configuredPeers.has(p.name)).map((p) => p.name);
        const noPolicy = expect.peers.filter((p) => configuredPeers.has(p.name) && !protectedPeers.has(p.name)).map((p) => p.name);
        if (unconfigured.length > 0 && o.monitorRunning) problems.push(`no CONFIGURED IPsec tunnel to ${listNames(unconfigured)}`);
        if (noPolicy.length > 0) problems.push(`no kernel IPsec policy for the tunnel(s) to ${listNames(noPolicy)}`);
        if (guardWanted && !guardInstalled) problems.push("the fail-closed guard is not installed");
        // Not a problem either: nothing is sent in plain text (the policies hold it), but nothing
        // reaches that peer. Said with the impact and what to do.
        warnings.push(...unanswered);
        if (unforced.length > 0) warnings.push(`UDP encapsulation is not forced on the tunnel(s) to ${listNames(unforced)} (natTraversal): OVN has not passed nb_global options:ipsec_forceencaps to them yet, or this OVN does not support it (seen working on OVN 23.03)`);
        if (guardWanted && o.guard.invalid.length > 0) warnings.push(`Geneve interfaces with remote addresses that are not IP addresses are not covered by the fail-closed guard: ${o.guard.invalid.map((a) => JSON.stringify(a)).join(", ")}`);
    }

    const health: NodeHealth = !expect.enabled ? "disabled" : problems.length === 0 ? "protected" : "notProtected";
    let impact: string | undefined;
    let action: string | undefined;
    if (health === "notProtected") {
        const k = o.monitorRunning && o.ikeDaemonRunning ? missingPeers.length : expect.peers.length;
        let how: string;
        if (guardInstalled) how = "the fail-closed guard drops it instead of sending it in plain text";
        else if (!o.monitorRunning && (o.xfrmPolicies ?? 0) > 0) how = `the kernel still holds ${o.xfrmPolicies} IPsec policies left by the stopped daemons: traffic uses their SAs until those expire, then it is dropped, or sent in plain text once the policies are gone`;
        else how = "it is sent in plain text";
        impact =
            k === 0
                ? `Geneve traffic between ${expect.node} and its ${expect.peers.length} peer(s) is protected now, but the node is not set up as kube-ovn-ipsec left it (see problems): it may stop being protected`
                : `Geneve traffic between ${expect.node} and ${k === expect.peers.length ? "its" : `${k} of its`} ${expect.peers.length} peer(s) is not protected: ${how}`;
        action = "run `pulumi up`: it repairs this node (files, OVSDB keys, daemons, guard) and touches no healthy node";
    } else if (health === "protected" && unanswered.length > 0) {
        const peersHeld = reports.filter((t) => t.ikeNoAnswer === true).map((t) => t.peerNode);
        impact = `Geneve traffic between ${expect.node} and ${listNames(peersHeld)} is held by the IPsec policies (dropped, never sent in plain text) until IKE gets through`;
        action = "open UDP 500 and 4500 between the nodes' tunnel addresses (firewalls, security groups, network policies on the hosts), as Kube-OVN's IPsec page requires; IKE retries by itself";
    } else if (health === "disabled") {
        impact = "IPsec is off cluster-wide (enabled: false): Geneve traffic is not encrypted";
        // Certificates and daemons are kept while disabled, so that enabling again is quick.
        action = problems.length > 0 ? "run `pulumi up`: it restores what is missing, so that enabling IPsec again is quick" : undefined;
    }

    let ready: boolean;
    // Disabled: ready once the monitor's own reply lists no tunnel. No reply, or text that is not
    // a tunnels/show reply (all === null), proves nothing.
    if (!expect.enabled) ready = all !== null && all.length === 0;
    else if (expect.waitFor === "established") ready = health === "protected" && unforced.length === 0 && establishedPeers.size === expect.peers.length;
    else ready = health === "protected" && unforced.length === 0;

    return {
        ...base,
        health,
        problems,
        warnings,
        impact,
        action,
        configIntact: config.length === 0,
        guard: { wanted: guardWanted, installed: guardInstalled, drops: o.guard.drops },
        tunnels: reports,
        tunnelsOmitted: 0,
        otherTunnels,
        ike: { up: ike.ikeUp, connecting: ike.ikeConnecting, childSasInstalled: ike.childSas.filter((c) => c.state === "INSTALLED").length },
        expectedTunnels,
        configured: expect.enabled ? configuredPeers.size : 0,
        established: expect.enabled ? establishedPeers.size : 0,
        missingPeers,
        ready,
        ca: { signedBy: caFingerprintOf(o.manifest?.ca_cert), trusted: o.trustedCas },
    };
}

export function summarize(reports: NodeStatusReport[], enabled: boolean, waitFor: WaitFor, caFingerprint?: string): StatusSummary {
    const sum = (f: (r: NodeStatusReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    const latest = reports.reduce((t, r) => (r.observedAt > t ? r.observedAt : t), "");
    return {
        enabled,
        waitFor,
        observedAt: latest,
        nodes: reports.length,
        protectedNodes: reports.filter((r) => r.health === "protected").length,
        notProtectedNodes: reports.filter((r) => r.health === "notProtected").length,
        unknownNodes: reports.filter((r) => r.health === "unknown").length,
        reachableNodes: reports.filter((r) => r.reachable).length,
        tunnelsExpected: sum((r) => r.expectedTunnels),
        configured: sum((r) => r.configured),
        established: sum((r) => r.established),
        ready: reports.every((r) => r.ready),
        ca: caFingerprint === undefined ? undefined : { current: caFingerprint, rotation: caRotationPhase(reports, caFingerprint) },
    };
}

/** One line per node: what it reached, what is missing, what it means. Used in errors. */
export function describeNode(r: NodeStatusReport): string {
    if (!r.reachable) return `${r.node}: unknown: ${r.error ?? "unknown error"}`;
    const parts = [
        `${r.node}:`,
        r.expectedTunnels > 0 ? `${r.configured}/${r.expectedTunnels} tunnels CONFIGURED, ${r.established}/${r.expectedTunnels} established` : `${r.tunnels.length + r.tunnelsOmitted + r.otherTunnels} IPsec tunnels listed`,
        `(ovs-monitor-ipsec ${r.monitorRunning ? "running" : "NOT running"}, IKE daemon ${r.ikeDaemonRunning ? "running" : "NOT running"}, IKE SAs up ${r.ike.up}, CHILD SAs installed ${r.ike.childSasInstalled})`,
    ];
    if (r.problems.length > 0) parts.push(`missing: ${r.problems.join("; ")}`);
    if (r.warnings.length > 0) parts.push(`warnings: ${r.warnings.join("; ")}`);
    const bad = r.tunnels.filter((t) => t.state !== "CONFIGURED");
    if (bad.length > 0) parts.push(`not configured: ${bad.slice(0, 5).map((t) => `${t.interface} ${t.state}${t.stateDetail ? ` (${t.stateDetail})` : ""}`).join("; ")}`);
    if (r.impact) parts.push(`=> ${r.impact}`);
    return parts.join(" ");
}
