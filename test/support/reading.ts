/**
 * An operator's reading of every lab node, independent of the product's scripts and parsers:
 * pidfiles, `tunnels/show` read with plain string matching, our files, OVSDB keys, the guard's
 * rules. The observation tests compare the product's outputs with it, right after a command.
 */
import type { LabNode, LabStatus } from "./lab";
import { podSh } from "./lab";
import { otherConfig, servicePids } from "./node";

export interface TunnelReading {
    remoteName: string;
    localName: string;
    state: string;
    /** Lines under "Kernel policies installed:" for this tunnel. */
    policies: number;
    /** `Custom Options` lists `'forceencaps': 'yes'`. */
    forceencaps: boolean;
}

export interface NodeReading {
    node: string;
    monitor: boolean;
    ike: boolean;
    /** null: tunnels/show did not answer (the monitor is not running). */
    tunnels: TunnelReading[] | null;
    /** other_config points at files that exist, and they are kube-ovn-ipsec's. */
    configOurs: boolean;
    keyMode: string | null;
    /** The 16 hex digits in the names of our files in cacerts/, sorted. */
    trustedCas: string[];
    /** Those of other_config:ca_cert's file name, while our files and their manifest are there. */
    signedBy: string | undefined;
}

/** tunnels/show, block by block, with nothing but string matching. */
export function readTunnels(show: string): TunnelReading[] {
    return show
        .split(/^Interface name: /m)
        .slice(1)
        .map((block) => {
            const head = /^\S+ v\d+ \(([A-Z]+)/.exec(block);
            const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*)$`, "m").exec(block)?.[1].trim() ?? "";
            const policies = block.split(/^Kernel policies installed:\n/m)[1]?.split(/^Kernel security associations installed:/m)[0] ?? "";
            return { state: head?.[1] ?? "", remoteName: field("Remote name"), localName: field("Local name"), policies: policies.split("\n").filter((l) => l.trim() !== "").length, forceencaps: field("Custom Options").includes("'forceencaps': 'yes'") };
        });
}

export function readNode(lab: LabStatus, node: LabNode): NodeReading {
    const pids = servicePids(lab, node.name);
    const show = podSh(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show");
    const conf = otherConfig(lab, node.name);
    const files = [conf.certificate, conf.private_key, conf.ca_cert];
    const ours = files.every((f) => f.includes("/kube-ovn-ipsec-")) && podSh(lab, node.target, files.map((f) => `test -f '${f}'`).join(" && ")).status === 0;
    const mode = ours ? podSh(lab, node.target, `stat -c %a '${conf.private_key}'`).stdout.trim() : null;
    const trustedCas = podSh(lab, node.target, "ls -1 /etc/ipsec.d/cacerts/ 2>/dev/null").stdout.split("\n").flatMap((f) => /^kube-ovn-ipsec-ca-([0-9a-f]{16})\.pem$/.exec(f)?.[1] ?? []).sort();
    const manifest = podSh(lab, node.target, "test -f /etc/ipsec.d/kube-ovn-ipsec-manifest").status === 0;
    const signedBy = ours && manifest ? /kube-ovn-ipsec-ca-([0-9a-f]{16})\.pem$/.exec(conf.ca_cert)?.[1] : undefined;
    return { node: node.name, monitor: pids.monitor !== null, ike: pids.charon !== null, tunnels: show.status === 0 ? readTunnels(show.stdout) : null, configOurs: ours, keyMode: mode, trustedCas, signedBy };
}

/** What the reading says of the node's protection: everything in place, a policy for every peer. */
export function protectedByReading(r: NodeReading, self: LabNode, peers: readonly LabNode[]): boolean {
    if (!r.monitor || !r.ike || !r.configOurs || r.keyMode !== "600" || r.tunnels === null) return false;
    return peers.every((p) => r.tunnels?.some((t) => t.remoteName === p.systemId && t.localName === self.systemId && t.state === "CONFIGURED" && t.policies > 0));
}

/** CONFIGURED tunnels from this node to the given peers, by the reading. */
export function configuredByReading(r: NodeReading, peers: readonly LabNode[]): number {
    return peers.filter((p) => r.tunnels?.some((t) => t.remoteName === p.systemId && t.state === "CONFIGURED")).length;
}
