/**
 * Looking at a lab node the way an operator would (ovs-vsctl, tunnels/show, ipsec status,
 * pidfiles), independently of the product's own parsers, so tests compare the product's
 * claims with what the node really shows.
 */
import type { Access, NodeSpec } from "../../components";
import { configFor as labConfigFor } from "../../lab/stackConfig";
import { MONITOR_PROGRAM } from "../../components/node/monitorStart";
import { shellQuote } from "../../components/transport/shellQuote";
import type { StackConfig } from "../../stacks/program";
import { LabNode, LabStatus, podOk, podSh } from "./lab";

let defaultAccess: ((lab: LabStatus) => Access) | null = null;

/**
 * The access configFor uses when a test gives none: the lab's command access, unless a test
 * file runs the same tests through another transport (kubectl through the lab's API stand-in).
 */
export function useDefaultAccess(make: ((lab: LabStatus) => Access) | null): void {
    defaultAccess = make;
}

/** Harness config (`kube-ovn-ipsec:<key>`) for the lab (lab/stackConfig.ts), with overrides. */
export function configFor(lab: LabStatus, over: Omit<Partial<StackConfig>, "nodes"> & { nodes?: Array<LabNode | NodeSpec> } = {}): Record<string, unknown> {
    return labConfigFor(lab, over.access === undefined && defaultAccess ? { ...over, access: defaultAccess(lab) } : over);
}

const target = (lab: LabStatus, node: string) => {
    const n = lab.nodes.find((x) => x.name === node);
    if (!n) throw new Error(`no lab node ${node}`);
    return n.target;
};

export interface OvsCertConfig {
    certificate: string;
    private_key: string;
    ca_cert: string;
}

/** other_config:certificate/private_key/ca_cert ("" when absent). */
export function otherConfig(lab: LabStatus, node: string): OvsCertConfig {
    const out = podOk(lab, target(lab, node), `for k in certificate private_key ca_cert; do printf '%s=%s\\n' "$k" "$(ovs-vsctl --if-exists get Open_vSwitch . other_config:$k | tr -d '"')"; done`);
    const m = Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    return { certificate: m.certificate ?? "", private_key: m.private_key ?? "", ca_cert: m.ca_cert ?? "" };
}

/** Every file the product may leave on a node. */
export function ourFiles(lab: LabStatus, node: string): string[] {
    const out = podSh(lab, target(lab, node), "ls -1d /etc/ipsec.d/certs/kube-ovn-ipsec-* /etc/ipsec.d/private/kube-ovn-ipsec-* /etc/ipsec.d/cacerts/kube-ovn-ipsec-* /etc/ipsec.d/kube-ovn-ipsec-* /etc/ipsec.d/*/*.koi-tmp 2>/dev/null").stdout;
    return out.split("\n").filter(Boolean);
}

/** Live pids of ovs-monitor-ipsec and charon (null when not running). */
export function servicePids(lab: LabStatus, node: string): { monitor: number | null; charon: number | null } {
    const out = podOk(lab, target(lab, node), `for f in /var/run/openvswitch/ovs-monitor-ipsec.pid /var/run/charon.pid; do p=$(cat "$f" 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p" || echo -; done`);
    const [monitor, charon] = out.trim().split("\n").map((s) => (s === "-" ? null : Number(s)));
    return { monitor, charon };
}

export function nbIpsec(lab: LabStatus): string {
    return podOk(lab, lab.central.target, "ovn-nbctl --timeout=10 get nb_global . ipsec").trim();
}

/** A key of nb_global's `options` or `external_ids` as ovn-nbctl prints it ("" when absent). */
export function nbKey(lab: LabStatus, column: "options" | "external_ids", key: string): string {
    return podOk(lab, lab.central.target, `ovn-nbctl --timeout=10 --if-exists get nb_global . ${column}:${key}`).trim();
}

/** The node's strongSwan configuration as the monitor wrote it: its conns, and how many force UDP encapsulation. */
export function strongswanConns(lab: LabStatus, node: string): { conns: number; forceencaps: number; libreswanEncapsulation: number } {
    const conf = podOk(lab, target(lab, node), "cat /etc/ipsec.conf");
    const count = (re: RegExp) => (conf.match(re) ?? []).length;
    return { conns: count(/^conn ovn-/gm), forceencaps: count(/^\s+forceencaps=yes$/gm), libreswanEncapsulation: count(/^\s+encapsulation=yes$/gm) };
}

/** Lines of charon's log (the lab's /var/log/charon.log) that match `pattern`: a grep -E pattern, or with `fixed` a plain string. */
export function charonLogCount(lab: LabStatus, node: LabNode, pattern: string, fixed = false): number {
    return logLineCount(lab, node, "/var/log/charon.log", pattern, fixed);
}

/** Lines of a log file in the pod that match `pattern` (grep -E, or with `fixed` a plain string); 0 when the file is missing. */
function logLineCount(lab: LabStatus, node: LabNode, file: string, pattern: string, fixed: boolean): number {
    return Number(podSh(lab, node.target, `grep -c${fixed ? "F" : "E"} ${shellQuote(pattern)} ${shellQuote(file)}`).stdout.trim() || "0");
}

/** What ovs-monitor-ipsec logs when it restarts strongSwan at its start (`ipsec restart`, with its `sleep 2`). */
export const MONITOR_RESTARTS_IKE = "Restarting StrongSwan";

/** Lines of the node's ovs-monitor-ipsec log that contain `text` (a plain string). */
export function monitorLogCount(lab: LabStatus, node: LabNode, text: string): number {
    return logLineCount(lab, node, "/var/log/openvswitch/ovs-monitor-ipsec.log", text, true);
}

/**
 * Gives the pod an ovs-monitor-ipsec that does not know `--no-restart-ike-daemon`, as OVS before
 * 2.15: a copy of the real one with that option renamed (same behaviour otherwise), bind-mounted
 * over the program in the pod's own mount namespace, so it lasts until the pod restarts.
 */
export function monitorWithoutQuickStart(lab: LabStatus, node: LabNode): void {
    const copy = "/root/ovs-monitor-ipsec.without-no-restart";
    podOk(
        lab,
        node.target,
        `sed 's/"--no-restart-ike-daemon",/"--koi-lab-renamed", dest="no_restart_ike_daemon",/' ${shellQuote(MONITOR_PROGRAM)} > ${copy} && chmod 0755 ${copy} && ! grep -q -e --no-restart-ike-daemon ${copy} && grep -q koi-lab-renamed ${copy} && mount --bind ${copy} ${shellQuote(MONITOR_PROGRAM)}`,
    );
}

export interface TunnelHeader {
    interface: string;
    state: string;
    localName: string;
    remoteName: string;
    localCert: string;
}

/** The per-tunnel facts of tunnels/show, read with plain string matching. */
export function tunnelHeaders(show: string): TunnelHeader[] {
    return show
        .split(/^Interface name: /m)
        .slice(1)
        .map((block) => {
            const head = /^(\S+) v\d+ \(([A-Z]+)/.exec(block);
            const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*)$`, "m").exec(block)?.[1].trim() ?? "";
            return { interface: head?.[1] ?? "", state: head?.[2] ?? "", localName: field("Local name"), remoteName: field("Remote name"), localCert: field("Local cert") };
        });
}

/** One UDP datagram to the peer's Geneve port: hits the IPsec policy and makes charon start IKE. */
export function triggerIke(lab: LabStatus, from: LabNode, to: LabNode): void {
    podOk(lab, from.target, `python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"koi", ("${to.ip}", 6081))'`);
}

/**
 * Asks charon to negotiate every routed outbound connection now (`ipsec up`), without waiting
 * for traffic. Needed after a rotation in the lab: without ESP each failed CHILD SA leaves a
 * larval (acquire) state that blocks traffic-triggered IKE for that reqid for
 * xfrm_acq_expires (165 s, charon's default); on a real node the SA replaces it.
 */
export function ikeUp(lab: LabStatus, node: LabNode): void {
    podOk(lab, node.target, `for c in $(ipsec status | sed -n 's/^\\(ovn-[^{]*-out-[0-9]*\\){.*ROUTED.*/\\1/p' | sort -u); do timeout 15 ipsec up "$c" >/dev/null 2>&1 || true; done`);
}

/**
 * Starts IKE from `from` to `to` in the background (`ipsec up` of its outbound connection, at
 * most `seconds`), so that a negotiation that gets no answer keeps trying while the test looks.
 * Not traffic-triggered: a trap policy stays silent while an earlier acquire state lives.
 */
export function ikeUpInBackground(lab: LabStatus, from: LabNode, to: LabNode, seconds = 60): void {
    const iface = `ovn-${to.systemId.slice(0, 6)}-0`;
    podOk(lab, from.target, `c=$(ipsec status | sed -n 's/^\\(${iface}-out-[0-9]*\\){.*ROUTED.*/\\1/p' | head -n 1); [ -n "$c" ] || { echo "no routed connection ${iface}-out-*" >&2; exit 1; }; (timeout ${seconds} ipsec up "$c" </dev/null >/dev/null 2>&1 &)`);
}

/** Deletes every IKE SA of the node (`ipsec down name[id]`), so that the next IKE authenticates afresh. */
export function ikeDownAll(lab: LabStatus, node: LabNode): void {
    podOk(lab, node.target, `for sa in $(ipsec status | sed -n 's/^ *\\([^ []*\\[[0-9]*\\]\\): [A-Z]*.*\\.\\.\\..*/\\1/p' | sort -u); do timeout 10 ipsec down "$sa" >/dev/null 2>&1 || true; done`);
}

/**
 * System-ids of the peers with an ESTABLISHED IKE SA in `ipsec status` (authenticated with
 * certificates: the IDs are the certificates' CNs). With `sinceMs`, only SAs younger than that.
 */
export function ikePeers(lab: LabStatus, node: LabNode, sinceMs?: number): string[] {
    const out = podSh(lab, node.target, "ipsec status").stdout;
    const peers: string[] = [];
    for (const m of out.matchAll(/^\s*\S+\[\d+\]: ESTABLISHED (\d+) (second|minute|hour)s? ago, [^[]+\[[^\]]*\]\.\.\.[^[]+\[([^\]]*)\]/gm)) {
        const age = Number(m[1]) * (m[2] === "second" ? 1 : m[2] === "minute" ? 60 : 3600);
        if (sinceMs !== undefined && age > (Date.now() - sinceMs) / 1000 + 1) continue;
        if (!peers.includes(m[3])) peers.push(m[3]);
    }
    return peers;
}

/** Polls a condition every 200 ms until it holds or the time is up (then throws, naming it). */
export async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (condition()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}
