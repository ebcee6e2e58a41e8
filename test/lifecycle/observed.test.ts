/**
 * Observed, not remembered (issue 8), on 3 lab nodes with real daemons: after every command the
 * outputs equal an independent reading of the nodes taken right after it; what a Kube-OVN v1.12
 * cluster does to a node (an ovs-ovn restart, a reboot) is detected by refresh and by up, shown
 * by preview, and repaired by up in one exec on that node without touching the others; the
 * fail-closed guard drops Geneve that would leave without IPsec.
 *
 * The tests run in order and share the lab and the stack, like successive commands on one stack.
 */
import { execFile } from "child_process";
import { promisify } from "util";
import type { IpsecStatus, NodeStatusReport } from "../../components";
import { GUARD_CHAIN } from "../../components/node/guardRules";
import { STARTED_MARKER } from "../../components/node/nodeFiles";
import { purposeOf } from "../../components/transport/scriptKit";
import { Harness, HarnessError, UpResult, unwrapMap } from "../../tools/engine/engine";
import { ExecProxy } from "../support/execProxy";
import { LabNode, LabStatus, REPO, freshLab, labAccess, labOk, podOk, podSh } from "../support/lab";
import { configFor, nbIpsec, otherConfig, servicePids } from "../support/node";
import { NodeReading, configuredByReading, protectedByReading, readNode } from "../support/reading";
import { iptablesRules, ruleCounter, sendGeneveDatagram } from "../support/wire";

jest.setTimeout(240_000);

let lab: LabStatus;
let h: Harness;
const proxy = new ExecProxy();
const cfg = (over: Record<string, unknown> = {}) => configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) }, ...over });
const peersOf = (n: LabNode) => lab.nodes.filter((p) => p.name !== n.name);
const victim = () => lab.nodes[1];

/** The stack outputs as the state holds them (after a refresh --run-program too). */
function stackOutputs(): { status: IpsecStatus; nodes: Array<{ name: string; live: { health: string | null; observedAt: string | null } }> } {
    const stack = h.state.resources.find((r) => r.kind === "stack");
    if (!stack) throw new Error("no stack in the state");
    return unwrapMap(stack.outputs) as ReturnType<typeof stackOutputs>;
}

/**
 * The outputs describe what the nodes show right now: per node, daemons, protection, the count
 * of configured tunnels, and an observation time within the command just run. Zero stale fields.
 */
function expectObserved(outputs: { status: IpsecStatus; nodes?: Array<{ name: string; live: { health: string | null; observedAt: string | null } }> }, enabled: boolean, since: number): NodeReading[] {
    const readings = lab.nodes.map((n) => readNode(lab, n));
    for (const [i, n] of lab.nodes.entries()) {
        const r = readings[i];
        const reported = outputs.status.nodes.find((x) => x.node === n.name) as NodeStatusReport;
        expect({ node: n.name, monitor: reported.monitorRunning, ike: reported.ikeDaemonRunning }).toEqual({ node: n.name, monitor: r.monitor, ike: r.ike });
        const health = !enabled ? "disabled" : protectedByReading(r, n, peersOf(n)) ? "protected" : "notProtected";
        expect({ node: n.name, health: reported.health }).toEqual({ node: n.name, health });
        expect({ node: n.name, configured: reported.configured }).toEqual({ node: n.name, configured: enabled ? configuredByReading(r, peersOf(n)) : 0 });
        // The CAs it trusts and the one its certificate came with; UDP encapsulation per tunnel.
        expect({ node: n.name, ca: reported.ca }).toEqual({ node: n.name, ca: { signedBy: r.signedBy, trusted: r.trustedCas } });
        for (const t of reported.tunnels) expect({ node: n.name, peer: t.peerNode, forced: t.forceEncapsulation === true }).toEqual({ node: n.name, peer: t.peerNode, forced: r.tunnels?.find((x) => x.remoteName === t.remoteName)?.forceencaps ?? false });
        // Disabled: the monitor still answers, with no tunnel (null would be a failed reading).
        if (!enabled) expect(r.tunnels).toEqual([]);
        expect(Date.parse(reported.observedAt)).toBeGreaterThanOrEqual(since);
        if (health === "notProtected") {
            expect(reported.problems.length).toBeGreaterThan(0);
            expect(reported.impact).toMatch(new RegExp(`^Geneve traffic between ${n.name} and .* is not protected`));
        }
        const live = outputs.nodes?.find((x) => x.name === n.name)?.live;
        if (outputs.nodes) expect({ node: n.name, live: live?.health, at: live?.observedAt }).toEqual({ node: n.name, live: health, at: reported.observedAt });
    }
    const allProtected = readings.every((r, i) => protectedByReading(r, lab.nodes[i], peersOf(lab.nodes[i])));
    expect(outputs.status.summary.ready).toBe(enabled ? allProtected : readings.every((r) => r.tunnels !== null && r.tunnels.length === 0));
    expect(Date.parse(outputs.status.summary.observedAt)).toBeGreaterThanOrEqual(since);
    return readings;
}

/** What another engineer would check to see a node was not touched: service pids, files, OVSDB. */
const fingerprint = (n: LabNode) => JSON.stringify([otherConfig(lab, n.name), servicePids(lab, n.name), podSh(lab, n.target, "sha256sum /etc/ipsec.d/*/kube-ovn-ipsec-* /etc/ipsec.d/kube-ovn-ipsec-* 2>/dev/null | sort").stdout]);
const commandsOn = (n: LabNode) => proxy.records().filter((r) => r.target === n.target).map((r) => purposeOf(r.argv)?.name ?? "?");

const labAsync = promisify(execFile);
/** A lab command without blocking the event loop (an operation of the harness runs meanwhile). */
const labCommand = (...args: string[]) => labAsync("bash", [`${REPO}/lab/lab.sh`, ...args]);

async function upExpectingNoFailure(over: Record<string, unknown> = {}, options: { skipPreview?: boolean } = {}): Promise<UpResult> {
    try {
        return await h.up({ config: cfg(over), refresh: false, ...options });
    } catch (e) {
        if (e instanceof HarnessError) throw new Error(e.message);
        throw e;
    }
}

beforeAll(() => {
    lab = freshLab(3);
    h = new Harness({ stack: "observed" });
});
afterAll(async () => {
    await h?.close();
    labOk("down");
});

describe("outputs are observations", () => {
    it("after the enable", async () => {
        const since = Date.now();
        const up = await upExpectingNoFailure();
        const readings = expectObserved(up.outputs as never, true, since);
        expect(readings.every((r, i) => protectedByReading(r, lab.nodes[i], peersOf(lab.nodes[i])))).toBe(true);
    });

    it("after a no-change up, which reads each node exactly once and changes nothing", async () => {
        const before = lab.nodes.map(fingerprint);
        proxy.clear();
        const since = Date.now();
        const up = await upExpectingNoFailure({}, { skipPreview: true });
        expectObserved(up.outputs as never, true, since);
        for (const n of lab.nodes) expect(commandsOn(n)).toEqual(["observe"]);
        expect(lab.nodes.map(fingerprint)).toEqual(before);
    });
});

describe("an ovs-ovn restart (restart-pod) after the enable", () => {
    let before: Map<string, string>;
    it("refresh reports the node as not protected, naming what is missing and what it means", async () => {
        before = new Map(lab.nodes.map((n) => [n.name, fingerprint(n)]));
        labOk("restart-pod", victim().name);
        const since = Date.now();
        // `pulumi refresh --run-program`: the stack outputs are recomputed from what was read.
        await h.refresh({ config: cfg(), runProgram: true });
        const outputs = stackOutputs();
        expectObserved(outputs, true, since);
        const v = outputs.status.nodes.find((n) => n.node === victim().name) as NodeStatusReport;
        expect(v.health).toBe("notProtected");
        expect(v.problems).toEqual(expect.arrayContaining(["ovs-monitor-ipsec is not running", "the IKE daemon (strongSwan charon) is not running", "kube-ovn-ipsec's certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)"]));
        expect(v.impact).toMatch(/^Geneve traffic between kube-ovn-worker and its 2 peer\(s\) is not protected/);
        expect(outputs.status.summary.ready).toBe(false);
        // A plain refresh re-reads too: the status resource holds the same account.
        const plainSince = Date.now();
        await h.refresh({ config: cfg() });
        const status = h.outputsOf("kube-ovn-ipsec-status") as { reports: NodeStatusReport[] };
        expectObserved({ status: { nodes: status.reports, summary: (h.outputsOf("kube-ovn-ipsec-status") as { summary: IpsecStatus["summary"] }).summary } }, true, plainSince);
    });

    it("preview shows that this node, and only it, will be repaired, and why", async () => {
        const preview = await h.preview({ config: cfg() });
        const nodeSteps = preview.steps.filter((s) => s.type.endsWith(":NodeIpsec"));
        // (refresh: always in Pulumi.yaml: the preview's refresh "read" steps come first.)
        expect(nodeSteps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.name}:${s.op}`)).toEqual([`kube-ovn-ipsec-${victim().name}:update`]);
        const drift = nodeSteps.find((s) => s.op === "update")?.diff?.find((d) => d.key === "drift");
        expect(drift?.old).toEqual([]);
        expect(drift?.new).toEqual(expect.arrayContaining(["ovs-monitor-ipsec is not running", "our certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)"]));
        // A preview changes nothing: every command it ran was a read.
        expect(preview.journal.filter((j) => ["create", "update", "delete"].includes(j.op) && !j.emulated)).toEqual([]);
    });

    it("up repairs it with one apply on that node; the other nodes are not touched", async () => {
        const others = lab.nodes.filter((n) => n.name !== victim().name);
        proxy.clear();
        const since = Date.now();
        const up = await upExpectingNoFailure({}, { skipPreview: true });
        expectObserved(up.outputs as never, true, since);
        expect(commandsOn(victim()).filter((c) => c !== "observe")).toEqual(["apply"]);
        for (const n of others) {
            expect(commandsOn(n)).toEqual(["observe"]);
            expect(fingerprint(n)).toBe(before.get(n.name));
        }
        expect((up.outputs.status as IpsecStatus).summary.ready).toBe(true);
    });
});

describe("a reboot (reboot-node) after the enable", () => {
    it("up detects and repairs it with one apply on that node, the others untouched", async () => {
        const others = lab.nodes.filter((n) => n.name !== victim().name);
        const before = new Map(others.map((n) => [n.name, fingerprint(n)]));
        labOk("reboot-node", victim().name);
        proxy.clear();
        const since = Date.now();
        const up = await upExpectingNoFailure({}, { skipPreview: true });
        expectObserved(up.outputs as never, true, since);
        expect(commandsOn(victim()).filter((c) => c !== "observe")).toEqual(["apply"]);
        for (const n of others) expect(fingerprint(n)).toBe(before.get(n.name));
        // What the check saw, and so why it repaired, is in the node's inputs of that run.
        expect(h.resource(`kube-ovn-ipsec-${victim().name}`).inputs.drift).toEqual(expect.arrayContaining(["our certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)", "ovs-monitor-ipsec is not running"]));
    });
});

describe("the kernel loses the IPsec policies while the daemons run (ip xfrm policy flush)", () => {
    it("up reports why, restarts that node's daemons so that they install the policies again, and touches no other node", async () => {
        const v = victim();
        const others = lab.nodes.filter((n) => n.name !== v.name);
        const before = new Map(others.map((n) => [n.name, fingerprint(n)]));
        const pidsBefore = servicePids(lab, v.name);
        const startedBy = () => podSh(lab, v.target, `cat ${STARTED_MARKER}`).stdout;
        const markerBefore = startedBy();
        // Geneve's policies (charon's per-socket policies for IKE stay through a flush).
        const policies = () => podOk(lab, v.target, "ip xfrm policy list | grep -c 'proto udp .*port 6081' || true").trim();
        const installed = policies();
        expect(Number(installed)).toBeGreaterThan(0);
        podOk(lab, v.target, "ip xfrm policy flush && ip xfrm state flush");
        expect(policies()).toBe("0");
        proxy.clear();
        const since = Date.now();
        const up = await upExpectingNoFailure({}, { skipPreview: true });
        expectObserved(up.outputs as never, true, since);
        expect(h.resource(`kube-ovn-ipsec-${v.name}`).inputs.drift).toEqual(["2 configured tunnel(s) have no kernel IPsec policy"]);
        expect(commandsOn(v).filter((c) => c !== "observe")).toEqual(["apply"]);
        // Both daemons are new processes; the policies are back, as many as before.
        const pidsAfter = servicePids(lab, v.name);
        expect(pidsAfter.monitor).not.toBeNull();
        expect(pidsAfter.charon).not.toBeNull();
        expect(pidsAfter.monitor).not.toBe(pidsBefore.monitor);
        expect(pidsAfter.charon).not.toBe(pidsBefore.charon);
        expect(policies()).toBe(installed);
        // Who started the daemons is unchanged (destroy stops only what we started).
        expect(startedBy()).toBe(markerBefore);
        for (const n of others) expect(fingerprint(n)).toBe(before.get(n.name));
    });
});

describe("during an enable", () => {
    it.each(["restart-pod", "reboot-node"])("%s right after the node was configured: the run's outputs say so, refresh too, the next up repairs", async (what) => {
        await h.destroy({ config: cfg() });
        const started = Date.now();
        const running = h.up({ config: cfg(), refresh: false, skipPreview: true }).then(
            (r) => r,
            (e: unknown) => e as HarnessError,
        );
        // The moment the victim's own step has finished, while the others may still run.
        for (;;) {
            const done = h.journal.find((j) => j.name === `kube-ovn-ipsec-${victim().name}` && j.op === "create" && j.startedAt >= started && j.endSeq >= 0);
            if (done) break;
            await new Promise((r) => setTimeout(r, 50));
        }
        await labCommand(what, victim().name);
        const result = await running;
        // The status resource holds what the nodes showed at the end of that run: the victim is
        // not protected (and waitFor: configured fails the run, with that account).
        expect(result).toBeInstanceOf(HarnessError);
        expect((result as HarnessError).failures.map((f) => f.name)).toEqual(["kube-ovn-ipsec-readiness"]);
        expect((result as HarnessError).message).toMatch(new RegExp(`${victim().name}: .*=> Geneve traffic between ${victim().name} and its 2 peer\\(s\\) is not protected`));
        const status = h.outputsOf("kube-ovn-ipsec-status") as { reports: NodeStatusReport[]; summary: IpsecStatus["summary"] };
        expect(status.reports.find((r) => r.node === victim().name)?.health).toBe("notProtected");
        expectObserved({ status: { nodes: status.reports, summary: status.summary } }, true, started);

        const refreshed = Date.now();
        await h.refresh({ config: cfg(), runProgram: true });
        expectObserved(stackOutputs(), true, refreshed);
        const since = Date.now();
        const up = await upExpectingNoFailure({}, { skipPreview: true });
        expectObserved(up.outputs as never, true, since);
        expect((up.outputs.status as IpsecStatus).summary.ready).toBe(true);
    });
});

describe("a flag flip", () => {
    it("off, then on: observed each time", async () => {
        let since = Date.now();
        const off = await upExpectingNoFailure({ enabled: false });
        expect(nbIpsec(lab)).toBe("false");
        expectObserved(off.outputs as never, false, since);
        since = Date.now();
        const on = await upExpectingNoFailure({ enabled: true });
        expectObserved(on.outputs as never, true, since);
    });
});

describe("failClosed", () => {
    const jumps = (n: LabNode) => iptablesRules(lab, n, "OUTPUT").filter((r) => r.spec.endsWith(`-j ${GUARD_CHAIN}`)).length;
    const guardAddresses = (n: LabNode) => iptablesRules(lab, n, GUARD_CHAIN).map((r) => / -d (\S+) /.exec(r.spec)?.[1] ?? r.spec).sort();
    const peerIps = (n: LabNode) => peersOf(n).map((p) => `${p.ip}/32`).sort();

    it("installs one guard per node covering exactly its peers, and a second run adds no duplicate", async () => {
        for (let i = 0; i < 2; i++) {
            const since = Date.now();
            const up = await upExpectingNoFailure({ failClosed: true });
            expectObserved(up.outputs as never, true, since);
            for (const n of lab.nodes) {
                expect(jumps(n)).toBe(1);
                expect(guardAddresses(n)).toEqual(peerIps(n));
            }
            expect((up.outputs.status as IpsecStatus).nodes.every((r) => r.guard.installed && r.guard.wanted)).toBe(true);
        }
    });

    it("after restart-pod, before the next up, Geneve from that node to a peer is dropped, not sent", async () => {
        labOk("restart-pod", victim().name);
        const peer = peersOf(victim())[0];
        const counted = ruleCounter(lab, victim(), GUARD_CHAIN, new RegExp(peer.ip.replace(/\./g, "\\.")));
        const sent = await sendGeneveDatagram(lab, victim(), peer);
        expect(sent.seen).toBe(false);
        expect(ruleCounter(lab, victim(), GUARD_CHAIN, new RegExp(peer.ip.replace(/\./g, "\\.")))).toBeGreaterThan(counted);
        // The status says so: not protected, and dropped rather than sent.
        const since = Date.now();
        await h.refresh({ config: cfg({ failClosed: true }), runProgram: true });
        const v = stackOutputs().status.nodes.find((n) => n.node === victim().name) as NodeStatusReport;
        expect(Date.parse(v.observedAt)).toBeGreaterThanOrEqual(since);
        expect(v.impact).toMatch(/the fail-closed guard drops it instead of sending it in plain text$/);
        const up = await upExpectingNoFailure({ failClosed: true }, { skipPreview: true });
        expect((up.outputs.status as IpsecStatus).summary.ready).toBe(true);
    });

    it("after reboot-node the guard is gone until the next up (the exposure window), which restores it", async () => {
        labOk("reboot-node", victim().name);
        const peer = peersOf(victim())[0];
        expect(jumps(victim())).toBe(0);
        // A fresh network namespace: no guard, no IPsec policy: plain text on the wire.
        expect((await sendGeneveDatagram(lab, victim(), peer)).seen).toBe(true);
        const up = await upExpectingNoFailure({ failClosed: true }, { skipPreview: true });
        expect((up.outputs.status as IpsecStatus).summary.ready).toBe(true);
        expect(jumps(victim())).toBe(1);
        expect(guardAddresses(victim())).toEqual(peerIps(victim()));
    });

    it("leaves no rule when turned off; then a rebooted node's Geneve leaves in plain text; on again: one jump each", async () => {
        await upExpectingNoFailure({ failClosed: false });
        for (const n of lab.nodes) {
            expect(jumps(n)).toBe(0);
            expect(podSh(lab, n.target, `iptables -S ${GUARD_CHAIN}`).status).not.toBe(0);
        }
        labOk("reboot-node", victim().name);
        expect((await sendGeneveDatagram(lab, victim(), peersOf(victim())[0])).seen).toBe(true);
        await upExpectingNoFailure({ failClosed: true });
        for (const n of lab.nodes) expect(jumps(n)).toBe(1);
    });

    it("builds rules from IP addresses only: a Geneve interface naming anything else is left out, and reported", async () => {
        const n = lab.nodes[0];
        podOk(lab, n.target, `ovs-vsctl add-port br-int koi-evil -- set interface koi-evil type=geneve 'options:remote_ip="10.213.0.99/32 -j ACCEPT"'`);
        try {
            const up = await upExpectingNoFailure({ failClosed: true });
            expect(guardAddresses(n)).toEqual(peerIps(n));
            expect(podOk(lab, n.target, "iptables-save")).not.toContain("ACCEPT\n-A " + GUARD_CHAIN);
            const report = (up.outputs.status as IpsecStatus).nodes.find((r) => r.node === n.name) as NodeStatusReport;
            // A warning, not a problem: the node's real peers are protected, and no run could repair it.
            expect(report.health).toBe("protected");
            expect(report.warnings).toEqual(['Geneve interfaces with remote addresses that are not IP addresses are not covered by the fail-closed guard: "10.213.0.99/32 -j ACCEPT"']);
        } finally {
            podOk(lab, n.target, "ovs-vsctl --if-exists del-port br-int koi-evil");
        }
    });
});

describe("destroy", () => {
    it("leaves no output to believe and no guard, key or setting behind", async () => {
        await h.destroy({ config: cfg({ failClosed: true }) });
        // Nothing claims anything any more: the stack holds no resource, so no output.
        expect(h.state.resources).toEqual([]);
        expect(nbIpsec(lab)).toBe("false");
        for (const n of lab.nodes) {
            expect(jumps(n)).toBe(0);
            expect(otherConfig(lab, n.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
            expect(readNode(lab, n)).toMatchObject({ monitor: false, ike: false, configOurs: false });
        }
    });

    function jumps(n: LabNode): number {
        return iptablesRules(lab, n, "OUTPUT").filter((r) => r.spec.endsWith(`-j ${GUARD_CHAIN}`)).length;
    }
});
