/**
 * What is wrong with a node compared with what this stack wants there, from one observation.
 * Pure: the node provider's check calls it before deciding, and its reasons become an input
 * (`drift`) so that `pulumi preview` shows which nodes will be repaired and why.
 *
 * Reasons are stable sentences (no times, no counters that move by themselves), so a node that
 * stays healthy keeps an empty list and a no-change run shows no change.
 */
import type { NodeObservation } from "../observe/nodeObservation";
import { parseTunnelsShow } from "../status/tunnelsShow";
import { NodeFilePaths } from "./nodeFiles";
import { CERT_KEYS, CertKey } from "./ovsdbRecord";

export interface DesiredNode {
    systemId: string;
    paths: NodeFilePaths;
    /** The fail-closed guard must be in place. */
    guard: boolean;
}

export interface Drift {
    /** Empty when the node is as desired. */
    reasons: string[];
    /** The daemons run but the kernel has no policy for a configured tunnel: restart them. */
    restartServices: boolean;
}

const KEY_NAMES: Record<CertKey, string> = { certificate: "certificate", private_key: "private key", ca_cert: "CA certificate" };

function desiredPath(paths: NodeFilePaths, key: CertKey): string {
    return key === "certificate" ? paths.certificate : key === "private_key" ? paths.privateKey : paths.caCert;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Tunnels the monitor lists as CONFIGURED without any kernel policy (null: cannot tell). */
function unprotectedTunnels(o: NodeObservation): number | null {
    if (!o.tunnelsShow.ok || o.tunnelsShow.truncated) return null;
    try {
        return parseTunnelsShow(o.tunnelsShow.text).filter((t) => t.state === "CONFIGURED" && t.policies === 0).length;
    } catch {
        return null;
    }
}

export function nodeDrift(want: DesiredNode, o: NodeObservation): Drift {
    if (!o.reachable) return { reasons: [`the node cannot be read: ${o.error ?? "unknown error"}`], restartServices: false };
    const reasons: string[] = [];
    if (o.systemId !== want.systemId) {
        reasons.push(`its OVS system-id is ${JSON.stringify(o.systemId)}, not ${JSON.stringify(want.systemId)}`);
    }
    const set = CERT_KEYS.filter((k) => o.otherConfig[k] !== null);
    if (set.length === 0) {
        reasons.push("other_config:certificate/private_key/ca_cert are not set");
    } else {
        for (const k of CERT_KEYS) {
            const v = o.otherConfig[k];
            if (v !== desiredPath(want.paths, k)) reasons.push(`other_config:${k} is ${v === null ? "not set" : JSON.stringify(v)}, not ${desiredPath(want.paths, k)}`);
        }
    }
    if (o.manifest === null) {
        if (o.ourFiles === 0) reasons.push("our certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)");
        else reasons.push("the manifest of our files is missing");
    } else {
        for (const k of CERT_KEYS) {
            if (o.files[k] === "missing") reasons.push(`the ${KEY_NAMES[k]} file is missing`);
            else if (o.files[k] === "changed") reasons.push(`the ${KEY_NAMES[k]} file was changed`);
            else if (o.files[k] !== "ok") reasons.push(`the ${KEY_NAMES[k]} file cannot be checked`);
        }
        if (o.files.private_key !== "missing" && o.privateKeyMode !== "600") reasons.push(`the private key file has mode ${o.privateKeyMode ?? "?"}, not 600`);
    }
    // Only an observation that reports the file says anything about it (older scripts did not).
    if (o.strongswanSettings === "missing") reasons.push("kube-ovn-ipsec's strongSwan settings file (xfrm_acq_expires) is missing");
    else if (o.strongswanSettings === "changed") reasons.push("kube-ovn-ipsec's strongSwan settings file (xfrm_acq_expires) was changed");
    if (!o.monitorRunning) reasons.push("ovs-monitor-ipsec is not running");
    if (!o.ikeDaemonRunning) reasons.push("the IKE daemon (strongSwan charon) is not running");

    let restartServices = false;
    if (o.monitorRunning && o.ikeDaemonRunning) {
        const bare = unprotectedTunnels(o);
        if (bare !== null && bare > 0) {
            reasons.push(`${bare} configured tunnel(s) have no kernel IPsec policy`);
            restartServices = true;
        }
    }

    const g = o.guard;
    // (Geneve interfaces naming remote addresses that are not IP addresses are left out of the
    // guard and reported by the status as a warning: no run can repair them, so they are no drift.)
    if (want.guard) {
        if (!g.tool) reasons.push("iptables is not in the pod (failClosed needs it)");
        else if (g.jumps === 0 || !g.chain) reasons.push("the fail-closed guard is not installed");
        else if (g.jumps > 1) reasons.push(`the fail-closed guard is hooked into OUTPUT ${g.jumps} times`);
        else if (!sameSet(g.addresses, g.wanted)) reasons.push(`the fail-closed guard covers [${g.addresses.join(", ")}], the node's Geneve peers are [${g.wanted.join(", ")}]`);
    } else if (g.jumps > 0 || g.chain) {
        reasons.push("a fail-closed guard is installed but not wanted (failClosed is off, or IPsec is disabled)");
    }
    return { reasons, restartServices };
}
