/**
 * The lab's own floor for the flag flip: how long OVN, ovs-monitor-ipsec and strongSwan take to
 * go from `nb_global ipsec=<value>` to every node showing the result, with no tool in between.
 * One exec of `ovn-nbctl set` on the central, then on every node at once an in-pod loop that
 * checks `tunnels/show` every 0.1 s (what the product's status script does, without the
 * engine, the provider host and the preflight/switch steps around it). No product code runs
 * and nothing is counted as the product's: it is the reference the product's flip is
 * compared with, on the same machine and lab.
 */
import { spawn } from "child_process";
import { LabStatus, podOk } from "../test/support/lab";

const NO_TUNNELS = "No tunnels configured with IPsec";

/** Runs `sh -c script` in a pod without blocking the event loop (so pods run at once). */
function podAsync(lab: LabStatus, target: string, script: string): Promise<number | null> {
    const argv = lab.prefix.map((a) => a.split("{target}").join(target));
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], [...argv.slice(1), "sh", "-c", script], { stdio: "ignore" });
        child.on("error", reject);
        child.on("exit", (code) => resolve(code));
    });
}

/** The in-pod wait: until the node shows the state `enabled` asks for (30 s at most). */
function waitScript(enabled: boolean, peers: number): string {
    const ready = enabled
        ? `[ "$(ovs-appctl -t ovs-monitor-ipsec tunnels/show 2>/dev/null | grep -c '^Interface name: .*(CONFIGURED)$')" -ge ${peers} ]`
        : `[ "$(ovs-appctl -t ovs-monitor-ipsec tunnels/show 2>/dev/null)" = '${NO_TUNNELS}' ]`;
    return `end=$(( $(date +%s) + 30 )); until ${ready}; do [ "$(date +%s)" -lt "$end" ] || exit 1; sleep 0.1; done`;
}

/** Runs `script` on every node at once; the names of the nodes where it did not exit 0. */
async function onEveryNode(lab: LabStatus, script: string): Promise<string[]> {
    const codes = await Promise.all(lab.nodes.map((n) => podAsync(lab, n.target, script)));
    return lab.nodes.filter((_, i) => codes[i] !== 0).map((n) => n.name);
}

/** Milliseconds from setting nb_global ipsec until every node shows it. */
export async function flagFloorMs(lab: LabStatus, enabled: boolean): Promise<number> {
    const t0 = performance.now();
    podOk(lab, lab.central.target, `ovn-nbctl --timeout=10 set nb_global . ipsec=${enabled}`);
    const failed = await onEveryNode(lab, waitScript(enabled, lab.nodes.length - 1));
    const ms = performance.now() - t0;
    if (failed.length > 0) throw new Error(`lab floor (ipsec=${enabled}): ${failed.join(", ")} did not get there within 30 s`);
    return ms;
}

/**
 * The floor for a no-change `up`: on every node at once, one exec that makes the reads the
 * product's observe script makes (OVSDB keys, tunnels/show, the IKE daemon, the kernel's
 * policies, the netfilter rules), output discarded. Milliseconds until all have returned.
 */
export async function readFloorMs(lab: LabStatus): Promise<number> {
    const reads = [
        "ovs-vsctl --timeout=10 get Open_vSwitch . other_config external_ids",
        "ovs-appctl -t ovs-monitor-ipsec tunnels/show",
        "ipsec status",
        "ip xfrm policy",
        "iptables -S",
    ].map((c) => `${c} >/dev/null 2>&1`);
    const t0 = performance.now();
    const failed = await onEveryNode(lab, reads.join("; ") + "; exit 0");
    const ms = performance.now() - t0;
    if (failed.length > 0) throw new Error(`lab read floor: the exec into ${failed.join(", ")} failed`);
    return ms;
}
