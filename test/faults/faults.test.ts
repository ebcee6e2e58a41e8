/**
 * Faults on the lab, each during an enable and during a rotation: the run ends in bounded time,
 * transient failures are retried with backoff, the failing node's error names node, step and
 * what it said, the other nodes finish, no node is left with half a configuration, and once the
 * fault is gone a re-run converges without touching the healthy nodes.
 */
import { X509Certificate } from "crypto";
import { Harness, HarnessError, UpResult } from "../../tools/engine/engine";
import { purposeOf } from "../../components/transport/scriptKit";
import { ExecProxy } from "../support/execProxy";
import { LabNode, LabStatus, freshLab, labAccess, labOk, podOk, podSh, NO_PREVIEW } from "../support/lab";
import { configFor, otherConfig, ourFiles, servicePids } from "../support/node";

jest.setTimeout(240_000);

const EXEC_TIMEOUT = 12;
const RETRIES = 2;

let lab: LabStatus;
let h: Harness;
const proxy = new ExecProxy();

const config = (retries = RETRIES) => configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) }, execTimeoutSeconds: EXEC_TIMEOUT, retries, timeoutSeconds: 30 });

interface NodeView {
    conf: ReturnType<typeof otherConfig>;
    files: string[];
    pids: ReturnType<typeof servicePids>;
}
const view = (n: LabNode): NodeView => ({ conf: otherConfig(lab, n.name), files: ourFiles(lab, n.name).filter((f) => f.endsWith(".pem")).sort(), pids: servicePids(lab, n.name) });
const nodeOps = (r: { journal: Array<{ op: string; name: string }> }, n: LabNode) => r.journal.filter((j) => j.name === `kube-ovn-ipsec-${n.name}`).map((j) => j.op);
const installedSerial = (n: LabNode) => new X509Certificate(podOk(lab, n.target, `cat ${otherConfig(lab, n.name).certificate}`)).serialNumber;

/** Stops every IPsec service and removes our traces: a node as before any IPsec. */
function scrub(): void {
    for (const n of lab.nodes) podSh(lab, n.target, "service openvswitch-ipsec stop; service ipsec stop; ovs-vsctl remove Open_vSwitch . other_config certificate private_key ca_cert; rm -f /etc/ipsec.d/*/kube-ovn-ipsec-* /etc/ipsec.d/kube-ovn-ipsec-*");
    podOk(lab, lab.central.target, "ovn-nbctl set nb_global . ipsec=false");
}

/** Phase setup: "enable" starts from nodes without IPsec, "rotation" from an enabled cluster. */
async function setUp(phase: "enable" | "rotation"): Promise<void> {
    proxy.clear();
    if (phase === "enable") {
        if (h.state.resources.some((r) => r.kind === "dynamic")) await h.destroy();
        scrub();
    } else if (!h.state.resources.some((r) => r.type.endsWith(":IpsecSwitch"))) {
        await h.up({ config: config() });
    }
    proxy.clear();
}

/** The run of the phase: an enable, or renewing every certificate (its early-renewal window). */
function theRun(phase: "enable" | "rotation", retries: number): Promise<UpResult> {
    if (phase === "enable") return h.up({ config: config(retries) });
    const certs = h.resourcesOfType("tls:index/locallySignedCert:LocallySignedCert").map((r) => Date.parse(String((h.outputsOf(r.name) as { validityEndTime: string }).validityEndTime)));
    return h.up({ config: config(retries), now: new Date(Math.min(...certs) - 29 * 24 * 3600 * 1000) });
}

interface Fault {
    name: string;
    /** Makes the fault on `victim` (for "central" faults, on ovn-central). */
    inject(victim: LabNode): void;
    heal(victim: LabNode): void;
    /** "heals" = the run repairs it; "node" = the victim's step fails; "central" = the run stops before any node. */
    outcome: "heals" | "node" | "central";
    /** The failing step's name and a fragment of what it says. */
    error?: RegExp;
    /** Retries for this fault's run (a hang costs a whole exec timeout per attempt). */
    retries?: number;
}

const pidOf = (file: string) => `$(cat ${file})`;
const faults: Fault[] = [
    {
        name: "ovs-monitor-ipsec killed",
        inject: (v) => {
            // Running (as if from an earlier run), then killed: a stale pidfile is left behind.
            podOk(lab, v.target, `ovs-appctl -t ovs-monitor-ipsec version >/dev/null 2>&1 || service openvswitch-ipsec start >/dev/null 2>&1; kill -9 ${pidOf("/var/run/openvswitch/ovs-monitor-ipsec.pid")}`);
        },
        heal: () => undefined,
        outcome: "heals",
    },
    {
        name: "the IKE daemon killed",
        inject: (v) => {
            // (Before an enable nothing runs yet: started here, and killed once both have written their pids.)
            podOk(lab, v.target, `ipsec status >/dev/null 2>&1 || service ipsec start >/dev/null 2>&1; for i in $(seq 100); do [ -s /var/run/starter.charon.pid ] && [ -s /var/run/charon.pid ] && break; sleep 0.1; done; kill -9 ${pidOf("/var/run/starter.charon.pid")} ${pidOf("/var/run/charon.pid")}`);
        },
        heal: () => undefined,
        outcome: "heals",
    },
    {
        name: "the node's ovsdb-server stopped",
        inject: (v) => podOk(lab, v.target, `kill -STOP ${pidOf("/var/run/openvswitch/ovsdb-server.pid")}`),
        heal: (v) => podOk(lab, v.target, `kill -CONT ${pidOf("/var/run/openvswitch/ovsdb-server.pid")}`),
        outcome: "node",
        error: /step "read-system-id" failed \(exit 76, 3 attempts\): ovs-vsctl could not read external_ids:system-id: no answer within 3 s \(the database is not responding\)\n  what to do: timeout: the pod or its database is slow or hung; it is retried/,
    },
    {
        name: "the OVN central stopped",
        inject: () => podOk(lab, lab.central.target, `kill -STOP ${pidOf("/var/run/ovn/ovnnb_db.pid")}`),
        heal: () => podOk(lab, lab.central.target, `kill -CONT ${pidOf("/var/run/ovn/ovnnb_db.pid")}`),
        outcome: "central",
        error: /\[ovn-central\] step "read-nb-global" failed \(exit 76, 3 attempts\): ovn-nbctl could not read nb_global ipsec \(is the NB database up\?\): no answer within 3 s \(the database is not responding\)/,
    },
    {
        name: "a command that hangs",
        inject: (v) => proxy.fault(v.target, "hang"),
        heal: (v) => proxy.fault(v.target, null),
        outcome: "node",
        retries: 1,
        error: new RegExp(`step "apply" failed \\(2 attempts\\): no answer within ${EXEC_TIMEOUT}s \\(killed\\)`),
    },
    {
        name: "a node unreachable",
        inject: (v) => proxy.fault(v.target, "unreachable"),
        heal: (v) => proxy.fault(v.target, null),
        outcome: "node",
        error: /step "apply" failed \(exit 255, 3 attempts\): the command failed with exit 255[\s\S]*stderr: ssh: connect to host .* Connection refused/,
    },
];

beforeAll(() => {
    lab = freshLab(3);
    h = new Harness({ stack: "faults", upDefaults: NO_PREVIEW });
});
afterAll(async () => {
    await h?.close();
    labOk("down");
});

describe.each(faults)("$name", (fault) => {
    it.each(["enable", "rotation"] as const)("during %s", async (phase) => {
        await setUp(phase);
        const [victim, ...healthy] = lab.nodes;
        const before = new Map(lab.nodes.map((n) => [n.name, view(n)]));
        const serialsBefore = phase === "rotation" ? new Map(lab.nodes.map((n) => [n.name, installedSerial(n)])) : new Map<string, string>();
        const retries = fault.retries ?? RETRIES;
        fault.inject(victim);
        try {
            await runAndCheck(phase, fault, victim, healthy, before, serialsBefore, retries);
        } finally {
            // Always heal, so that one failed expectation cannot cascade into the next cases.
            fault.heal(victim);
        }
    });
});

async function runAndCheck(
    phase: "enable" | "rotation",
    fault: Fault,
    victim: LabNode,
    healthy: LabNode[],
    before: Map<string, NodeView>,
    serialsBefore: Map<string, string>,
    retries: number,
): Promise<void> {
    {
        const started = Date.now();
        const result = await theRun(phase, retries).catch((e: unknown) => e as HarnessError);
        const took = Date.now() - started;
        // Bounded: at worst every attempt runs into the exec timeout, plus backoff and the rest;
        // and the two reads that decide (the preview's check and the update's, one attempt each).
        expect(took).toBeLessThan((retries + 1 + 2) * EXEC_TIMEOUT * 1000 + 8_000 + 30_000);

        if (fault.outcome === "heals") {
            if (result instanceof HarnessError) throw new Error(`the run should have healed the node: ${result.message}`);
            expect((result as UpResult).outputs.summary).toMatchObject({ ready: true });
            expect(servicePids(lab, victim.name).monitor).not.toBeNull();
            expect(servicePids(lab, victim.name).charon).not.toBeNull();
            // Nothing was restarted on the healthy nodes.
            if (phase === "rotation") for (const n of healthy) expect(servicePids(lab, n.name)).toEqual(before.get(n.name)?.pids);
        } else {
            expect(result).toBeInstanceOf(HarnessError);
            const error = result as HarnessError;
            const failed = error.failures.map((f) => f.name);
            if (fault.outcome === "node") {
                // Only the victim failed, and it says which node, which step, and what happened.
                expect(failed).toEqual([`kube-ovn-ipsec-${victim.name}`]);
                expect(error.failures[0].message).toMatch(new RegExp(`^\\[${victim.name}\\] `));
                expect(error.failures[0].message).toMatch(fault.error as RegExp);
                // Retried with backoff: attempts spaced by at least the first backoff (0.25 s).
                const attempts = proxy.records().filter((r) => r.target === victim.target && purposeOf(r.argv)?.name === "apply");
                expect(attempts).toHaveLength(retries + 1);
                for (let i = 1; i < attempts.length; i++) expect(attempts[i].start - (attempts[i - 1].end ?? attempts[i - 1].start)).toBeGreaterThanOrEqual(250);
                // The others finished their step.
                for (const n of healthy) {
                    if (phase === "enable") expect(otherConfig(lab, n.name).certificate).toMatch(/\/kube-ovn-ipsec-/);
                    else expect(installedSerial(n)).not.toBe(serialsBefore.get(n.name));
                }
            } else {
                // The central check runs before every node step: no node was touched at all.
                expect(failed).toEqual(["kube-ovn-ipsec-preflight"]);
                expect(error.failures[0].message).toMatch(fault.error as RegExp);
                // (The preview read the existing nodes to decide about them: reads, nothing else.)
                expect(proxy.records().filter((r) => r.target !== lab.central.target && purposeOf(r.argv)?.readOnly !== true)).toEqual([]);
                for (const n of healthy) expect(view(n)).toEqual(before.get(n.name));
            }
            // No half configuration on the victim: nothing (enable) or exactly the old one (rotation).
            fault.heal(victim);
            expect(view(victim).conf).toEqual(before.get(victim.name)?.conf);
            expect(view(victim).files).toEqual(before.get(victim.name)?.files);
            expect(ourFiles(lab, victim.name).filter((f) => f.includes(".koi-tmp"))).toEqual([]);

            // Fault gone: a re-run converges; healthy nodes' steps do not run again.
            const healthyNow = new Map(healthy.map((n) => [n.name, view(n)]));
            // The same config as the failed run: only the fault is gone.
            const rerun = await h.up({ config: config(retries) });
            expect(rerun.outputs.summary).toMatchObject({ ready: true });
            if (fault.outcome === "node") {
                for (const n of healthy) expect(nodeOps(rerun, n)).not.toContain("update");
                for (const n of healthy) expect(view(n)).toEqual(healthyNow.get(n.name));
            }
        }
    }
}
