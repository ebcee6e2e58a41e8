/**
 * `npm run bench`: the benchmark of issue 5 (what is measured and how: bench/README.md).
 *
 *   1. enable on N = 3 and 6 lab nodes vs. a replay of the manual procedure on the same lab
 *   2. enabled=false and back (flag flip) at N = 6: as users run `pulumi up`, and with --refresh=false / --skip-preview
 *   3. program cost under mocks for 10, 100, 1000 nodes (no cluster)
 *   4. a no-change `up` (with the lab's floor for the same reads) and a `refresh` at N = 6
 *   5. the repair of one node after `lab.sh restart-pod`, at N = 6
 *   6. state size: after an enable at N = 3 and 6, and without a lab for 10, 100, 1000 nodes
 *
 * It drives the real stack program through the test harness (real dynamic-provider host, real
 * execs into the lab), counts exec round trips with bench/countExecs.sh, prints tables and
 * writes bench/results/latest.json (+ a timestamped copy). It uses the lab for minutes: run it
 * as `flock /tmp/koi-lab-user.lock npm run bench` on a shared machine. `-- --quick`: one run
 * per scenario and no 1000-node program cost (for trying the script, not for numbers).
 */
import * as fs from "fs";
import * as path from "path";
import type { CommandAccess } from "../components";
import { validateArgs } from "../components/validation";
import { Harness, OperationResult, UpResult } from "../tools/engine/engine";
import { DynamicProviderHost } from "../tools/engine/providerHost";
import { LabStatus, freshLab, labAccess, labOk, podSh } from "../test/support/lab";
import { configFor, nbIpsec, otherConfig, servicePids, tunnelHeaders } from "../test/support/node";
import { ExecCounts, ExecLog, countExecs } from "./execLog";
import { busyPercent, cpuTicks, machineDetails } from "./machine";
import { flagFloorMs, readFloorMs } from "./labFloor";
import { ReplayResult, manualReplay } from "./manualReplay";
import { measureProgramCost } from "./programCost";
import { labStateSample, measureStateSize } from "../tools/engine/stateSize";
import { BenchResults, EnableAtN, EnableSample, FLIP_VARIANTS, FlagFlipSample, FlipVariant, NoChangeSample, Phase, RefreshSample, RepairSample, printReport, stat } from "./report";

const QUICK = process.argv.includes("--quick");
const LAB_SIZES = [3, 6];
/** Items 2 and 4 run at this size. */
const FLIP_SIZE = 6;
const RUNS = QUICK ? 1 : 3;
const COST_SIZES = QUICK ? [10, 100] : [10, 100, 1000];
/** 1000 means 1001 RSA keys made by the harness's tls provider: a few minutes. */
const STATE_SIZES = QUICK ? [10, 100] : [10, 100, 1000];
const RESULTS = path.join(__dirname, "results");
/** Exec logs of this invocation (kept until the next one: look at them when a count surprises). */
const LOG_DIR = path.join(RESULTS, "exec-logs");
const NO_TUNNELS = "No tunnels configured with IPsec";


// ------------------------------------------------------------------------------------------
// Independent checks of the lab (the product's own status is not taken on trust)
// ------------------------------------------------------------------------------------------

function showOf(lab: LabStatus, target: string): string {
    const r = podSh(lab, target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show");
    return r.status === 0 ? r.stdout : `(tunnels/show failed: ${r.stderr.trim()})`;
}

/** Every node shows a CONFIGURED tunnel to every peer, named by the peer's system-id. */
function assertAllConfigured(lab: LabStatus, when: string): void {
    for (const node of lab.nodes) {
        const peers = lab.nodes.filter((p) => p.name !== node.name).map((p) => p.systemId).sort();
        const tunnels = tunnelHeaders(showOf(lab, node.target));
        const ok = tunnels.length === peers.length && tunnels.every((t) => t.state === "CONFIGURED") && tunnels.map((t) => t.remoteName).sort().join() === peers.join();
        if (!ok) throw new Error(`${when}: ${node.name} does not show every tunnel CONFIGURED: ${JSON.stringify(tunnels.map((t) => `${t.remoteName} ${t.state}`))}`);
    }
}

function assertAllDisabled(lab: LabStatus, when: string): void {
    for (const node of lab.nodes) {
        const show = showOf(lab, node.target).trim();
        if (show !== NO_TUNNELS) throw new Error(`${when}: ${node.name} still shows IPsec tunnels: ${show.slice(0, 200)}`);
    }
}

/** After destroy: nb_global ipsec=false and no certificate paths left in OVSDB. */
function assertClean(lab: LabStatus, when: string): void {
    if (nbIpsec(lab) !== "false") throw new Error(`${when}: nb_global ipsec is not false`);
    for (const node of lab.nodes) {
        if (otherConfig(lab, node.name).certificate !== "") throw new Error(`${when}: ${node.name} still has other_config:certificate`);
    }
}

function ready(result: UpResult): boolean {
    return (result.outputs.summary as { ready?: boolean } | undefined)?.ready === true;
}

// ------------------------------------------------------------------------------------------
// A product session: one dynamic-provider host + one harness (one stack), execs counted
// ------------------------------------------------------------------------------------------

interface Session {
    lab: LabStatus;
    log: ExecLog;
    access: CommandAccess;
    host: DynamicProviderHost;
    hostStartMs: number;
    h: Harness;
    /** What the harness saved since the last reset (a file backend's writes). */
    written: { bytes: number; checkpoints: number };
    onCheckpoint: (state: unknown, bytes: number) => void;
}

async function openSession(lab: LabStatus, log: ExecLog): Promise<Session> {
    const t0 = performance.now();
    // Started here (not lazily by the first `up`) so its start-up is reported on its own.
    const host = await DynamicProviderHost.start();
    const hostStartMs = performance.now() - t0;
    const access: CommandAccess = { ...labAccess(lab), prefix: log.wrap(lab.prefix) };
    const written = { bytes: 0, checkpoints: 0 };
    const onCheckpoint = (_state: unknown, bytes: number) => {
        written.bytes += bytes;
        written.checkpoints++;
    };
    return { lab, log, access, host, hostStartMs, written, onCheckpoint, h: new Harness({ stack: "bench", host, onCheckpoint }) };
}

/**
 * Runs `op` on a harness that starts a provider host for every deployment, as the CLI does,
 * from the session's state, and hands the state back. The session's shared host keeps the
 * observations of one `up` for the next one's checks (nothing changed on the node since), which
 * a host per deployment cannot: timings and exec counts of such runs would be too good.
 */
async function asTheCliRuns<T>(s: Session, op: (h: Harness) => Promise<T>): Promise<T> {
    const cli = new Harness({ stack: "bench", state: s.h.state, onCheckpoint: s.onCheckpoint });
    try {
        return await op(cli);
    } finally {
        await cli.close();
        await s.h.close();
        s.h = new Harness({ stack: "bench", host: s.host, onCheckpoint: s.onCheckpoint, state: cli.state });
    }
}

async function closeSession(s: Session): Promise<void> {
    await s.h.close();
    await s.host.stop();
}

interface Timed<T> {
    wallMs: number;
    startedAt: number;
    result: T;
    execs: ExecCounts;
    /** The whole machine's CPU use meanwhile (lab pods, provider host and this process). */
    cpuBusyPct: number;
}

async function timed<T>(s: Session, op: () => Promise<T>): Promise<Timed<T>> {
    const mark = s.log.mark();
    const cpu = cpuTicks();
    const startedAt = Date.now();
    const t0 = performance.now();
    const result = await op();
    const wallMs = performance.now() - t0;
    const cpuBusyPct = busyPercent(cpu, cpuTicks());
    const execs = countExecs(s.log.since(mark), s.lab.central.target, s.lab.nodes.map((n) => n.target));
    return { wallMs, startedAt, result, execs, cpuBusyPct };
}

const up = (s: Session, over: { enabled?: boolean } = {}, skipPreview = false, refresh?: boolean, h: Harness = s.h) =>
    timed(s, () => h.up({ config: configFor(s.lab, { access: { command: s.access }, ...over }), skipPreview, ...(refresh === undefined ? {} : { refresh }) }));

const GROUPS: Record<string, string> = {
    PrivateKey: "keys+certs (tls)",
    SelfSignedCert: "keys+certs (tls)",
    CertRequest: "keys+certs (tls)",
    LocallySignedCert: "keys+certs (tls)",
    Secret: "Secrets (k8s)",
    Preflight: "preflight",
    NodeIpsec: "node apply",
    IpsecSwitch: "nb_global switch",
    IpsecStatus: "status wait",
};

/**
 * When each kind of step ran during an operation, relative to its start: the provider calls
 * that do the work (create/update/delete), and apart the engine's check/diff calls to the
 * provider host that precede them (gRPC, the serialized provider and inputs each way).
 */
function phasesOf(result: OperationResult, startedAt: number): Phase[] {
    const phases = new Map<string, Phase>();
    for (const j of result.journal) {
        if (j.op === "configure" || j.op === "read") continue;
        const base = GROUPS[j.type.slice(j.type.lastIndexOf(":") + 1)] ?? j.type;
        if (base === "keys+certs (tls)" || base === "Secrets (k8s)") {
            if (j.op !== "create" && j.op !== "update") continue; // emulated: their check/diff cost nothing
        }
        const group = j.op === "check" || j.op === "diff" ? `${base} check/diff` : j.op === "delete" ? `${base} (delete)` : base;
        const start = j.startedAt - startedAt;
        const end = start + j.durationMs;
        const p = phases.get(group);
        phases.set(group, p ? { name: group, startMs: Math.min(p.startMs, start), endMs: Math.max(p.endMs, end), calls: p.calls + 1 } : { name: group, startMs: start, endMs: end, calls: 1 });
    }
    return [...phases.values()].sort((a, b) => a.startMs - b.startMs);
}

/** Dynamic resources that were created, updated, replaced or deleted by an `up`. */
function dynamicChanges(result: OperationResult): string[] {
    // (Not the refresh's reads: refresh: always.)
    return result.steps.filter((st) => st.type.startsWith("pulumi-nodejs:dynamic") && st.op !== "same" && st.op !== "read").map((st) => `${st.name}:${st.op}`);
}

// ------------------------------------------------------------------------------------------
// The scenarios
// ------------------------------------------------------------------------------------------

/** Item 1 (product side): enable from nothing, verify on the nodes; the caller destroys. */
async function enable(s: Session, run: number): Promise<EnableSample> {
    const t = await up(s);
    if (!ready(t.result)) throw new Error(`enable run ${run}: the product returned without every tunnel ready: ${JSON.stringify(t.result.outputs.summary)}`);
    assertAllConfigured(s.lab, `after enable run ${run}`);
    return {
        run,
        hostStartMs: s.hostStartMs,
        wallMs: t.wallMs,
        coldWallMs: s.hostStartMs + t.wallMs,
        programMs: t.result.timings.programMs ?? 0,
        execs: t.execs,
        cpuBusyPct: t.cpuBusyPct,
        phases: phasesOf(t.result, t.startedAt),
    };
}

/** Item 2: enabled=false (until no node has an IPsec tunnel), then true again (CONFIGURED), with a provider host per deployment as the CLI runs it. */
async function flagFlip(s: Session, run: number, variant: FlipVariant): Promise<FlagFlipSample> {
    return asTheCliRuns(s, (h) => flagFlipOn(s, h, run, variant));
}

async function flagFlipOn(s: Session, h: Harness, run: number, variant: FlipVariant): Promise<FlagFlipSample> {
    const pidsBefore = s.lab.nodes.map((n) => servicePids(s.lab, n.name));
    const off = await up(s, { enabled: false }, variant.skipPreview, variant.refresh, h);
    if (!ready(off.result)) throw new Error(`flag flip ${run}: disabling returned not ready: ${JSON.stringify(off.result.outputs.summary)}`);
    assertAllDisabled(s.lab, `after enabled=false (run ${run})`);
    const on = await up(s, {}, variant.skipPreview, variant.refresh, h);
    if (!ready(on.result)) throw new Error(`flag flip ${run}: enabling returned not ready: ${JSON.stringify(on.result.outputs.summary)}`);
    assertAllConfigured(s.lab, `after enabled=true again (run ${run})`);
    const pidsAfter = s.lab.nodes.map((n) => servicePids(s.lab, n.name));
    return {
        run,
        variant: variant.label,
        offMs: off.wallMs,
        onMs: on.wallMs,
        offExecs: off.execs,
        onExecs: on.execs,
        offCpuBusyPct: off.cpuBusyPct,
        onCpuBusyPct: on.cpuBusyPct,
        offPhases: phasesOf(off.result, off.startedAt),
        onPhases: phasesOf(on.result, on.startedAt),
        offTimings: off.result.timings,
        onTimings: on.result.timings,
        servicePidsUnchanged: JSON.stringify(pidsBefore) === JSON.stringify(pidsAfter) && pidsAfter.every((p) => p.monitor !== null && p.charon !== null),
        nodeResourcesChanged: [...dynamicChanges(off.result), ...dynamicChanges(on.result)].filter((c) => c.includes("kube-ovn-ipsec-kube-ovn-")),
    };
}

/** Item 4: `up` with nothing changed. */
async function noChangeUp(s: Session, run: number): Promise<NoChangeSample> {
    // `pulumi up --skip-preview`: one deployment. (With its preview a `pulumi up` is two
    // deployments, two provider hosts, and each reads every node once.)
    const t = await up(s, {}, true);
    return { run, wallMs: t.wallMs, execs: t.execs, changes: dynamicChanges(t.result), providerOps: [...new Set(t.result.journal.filter((j) => !j.emulated).map((j) => j.op))].sort() };
}

/** Item 4: `refresh` (reads every dynamic resource from the nodes). */
async function refresh(s: Session, run: number): Promise<RefreshSample> {
    const t = await timed(s, () => s.h.refresh());
    return { run, wallMs: t.wallMs, execs: t.execs };
}

/** Item 5: the ovs-ovn container of one node restarts (FACTS.md section 6); the next `up` repairs it. */
async function repairAfterRestart(s: Session, run: number): Promise<RepairSample> {
    const victim = s.lab.nodes[run % s.lab.nodes.length];
    const others = s.lab.nodes.filter((n) => n.name !== victim.name);
    labOk("restart-pod", victim.name);
    const pidsBefore = others.map((n) => servicePids(s.lab, n.name));
    const t = await up(s, {}, true);
    if (!ready(t.result)) throw new Error(`repair ${run}: the up after restart-pod ${victim.name} returned not ready: ${JSON.stringify(t.result.outputs.summary)}`);
    assertAllConfigured(s.lab, `after the repair of ${victim.name} (run ${run})`);
    const pidsAfter = others.map((n) => servicePids(s.lab, n.name));
    const victimKinds = s.log
        .records()
        .filter((r) => r.target === victim.target && r.atMs >= t.startedAt)
        .map((r) => r.kind);
    return {
        run,
        node: victim.name,
        wallMs: t.wallMs,
        execs: t.execs,
        victimKinds,
        othersMax: Math.max(...others.map((n) => t.execs.perNode[n.target] ?? 0)),
        othersUntouched: JSON.stringify(pidsBefore) === JSON.stringify(pidsAfter),
        changes: dynamicChanges(t.result),
    };
}

/** Item 1 (replay side), on the lab the product just cleaned up. */
async function replay(lab: LabStatus, n: number): Promise<EnableAtN["replay"]> {
    const script = new ExecLog(path.join(LOG_DIR, `replay-${n}.log`));
    const polls = new ExecLog(path.join(LOG_DIR, `replay-${n}-polls.log`));
    const r: ReplayResult = await manualReplay(lab, script.wrap(lab.prefix), polls.wrap(lab.prefix));
    assertAllConfigured(lab, `after the manual procedure (N=${n})`);
    const execs = countExecs(script.records(), lab.central.target, lab.nodes.map((x) => x.target));
    if (execs.total !== r.steps.length) throw new Error(`replay N=${n}: the wrapper logged ${execs.total} execs, the replay made ${r.steps.length}`);
    const onBehalfOf: Record<string, number> = {};
    for (const st of r.steps) onBehalfOf[st.forNode] = (onBehalfOf[st.forNode] ?? 0) + 1;
    return { ...r, execs, onBehalfOf, pollExecs: polls.records().length };
}

async function labSize(n: number, results: BenchResults): Promise<void> {
    process.stderr.write(`\n== N=${n}: fresh lab\n`);
    const lab = freshLab(n);
    if (lab.nodes.length !== n) throw new Error(`the lab came up with ${lab.nodes.length} nodes, not ${n}`);
    const log = new ExecLog(path.join(LOG_DIR, `product-${n}.log`));
    const samples: EnableSample[] = [];
    const destroyMs: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
        const s = await openSession(lab, log);
        try {
            process.stderr.write(`   product enable, run ${run}/${RUNS}\n`);
            s.written.bytes = s.written.checkpoints = 0;
            samples.push(await enable(s, run));
            if (run === RUNS) results.stateSize.lab.push(labStateSample(s.h.state, n, s.written));
            if (n === FLIP_SIZE && run === RUNS) {
                for (const variant of FLIP_VARIANTS) {
                    for (let i = 1; i <= RUNS; i++) {
                        process.stderr.write(`   flag flip ${i}/${RUNS} (${variant.label})\n`);
                        results.flagFlip.push(await flagFlip(s, i, variant));
                    }
                }
                for (let i = 1; i <= RUNS; i++) {
                    process.stderr.write(`   lab floor for the flip ${i}/${RUNS} (ovn-nbctl + in-pod wait, no tool)\n`);
                    results.flagFloor.offMs.push(await flagFloorMs(lab, false));
                    results.flagFloor.onMs.push(await flagFloorMs(lab, true));
                }
                assertAllConfigured(lab, "after the lab floor runs");
                for (let i = 1; i <= RUNS; i++) {
                    process.stderr.write(`   no-change up ${i}/${RUNS}\n`);
                    results.noChange.up.push(await noChangeUp(s, i));
                }
                for (let i = 1; i <= RUNS; i++) {
                    process.stderr.write(`   refresh ${i}/${RUNS}\n`);
                    results.noChange.refresh.push(await refresh(s, i));
                }
                for (let i = 1; i <= RUNS; i++) results.readFloorMs.push(await readFloorMs(lab));
                results.noChange.nodes = n;
                for (let i = 1; i <= RUNS; i++) {
                    process.stderr.write(`   restart-pod, then up (repair) ${i}/${RUNS}\n`);
                    results.repair.push(await repairAfterRestart(s, i));
                }
            }
            const d = await timed(s, () => s.h.destroy());
            destroyMs.push(d.wallMs);
            assertClean(lab, `after destroy (run ${run})`);
        } finally {
            await closeSession(s);
        }
    }
    process.stderr.write(`   manual procedure replay (sequential, ~13 s of restarts per node)\n`);
    const replayed = await replay(lab, n);
    const product = {
        samples,
        wallMs: stat(samples.map((x) => x.wallMs)),
        coldWallMs: stat(samples.map((x) => x.coldWallMs)),
        execsPerNodeMax: Math.max(...samples.map((x) => x.execs.perNodeMax)),
        execsPerNodeMean: stat(samples.map((x) => x.execs.perNodeMean)).median,
        execsCentral: Math.max(...samples.map((x) => x.execs.central)),
        destroyMs: stat(destroyMs),
    };
    results.enable.push({
        nodes: n,
        product,
        replay: replayed,
        ratio: { warm: replayed.wallMs / product.wallMs.median, cold: replayed.wallMs / product.coldWallMs.median },
    });
}

function writeResults(results: BenchResults): string[] {
    fs.mkdirSync(RESULTS, { recursive: true });
    const json = JSON.stringify(results, null, 2) + "\n";
    const stamped = path.join(RESULTS, `${results.startedAt.replace(/[:.]/g, "-")}${QUICK ? "-quick" : ""}.json`);
    fs.writeFileSync(stamped, json);
    const latest = path.join(RESULTS, QUICK ? "latest-quick.json" : "latest.json");
    fs.writeFileSync(latest, json);
    return [latest, stamped];
}

async function main(): Promise<void> {
    const started = Date.now();
    const nodesForDefaults = [{ name: "n", systemId: "n" }];
    const results: BenchResults = {
        command: `npm run bench${QUICK ? " -- --quick" : ""}`,
        quick: QUICK,
        startedAt: new Date(started).toISOString(),
        durationS: 0,
        machine: machineDetails(),
        settings: { runs: RUNS, labSizes: LAB_SIZES, parallelism: validateArgs({ nodes: nodesForDefaults }).parallelism, waitFor: "configured", costSizes: COST_SIZES },
        enable: [],
        flagFlip: [],
        flagFloor: { offMs: [], onMs: [] },
        noChange: { nodes: FLIP_SIZE, up: [], refresh: [] },
        readFloorMs: [],
        repair: [],
        programCost: { samples: [], diagnosis: [], sdkFloor: [] },
        stateSize: { lab: [], noLab: [] },
    };
    fs.rmSync(LOG_DIR, { recursive: true, force: true });
    try {
        for (const n of LAB_SIZES) await labSize(n, results);
    } finally {
        labOk("down");
    }
    process.stderr.write(`\n== program cost under mocks: ${COST_SIZES.join(", ")} nodes (a child process each)\n`);
    results.programCost.samples = measureProgramCost(COST_SIZES);
    const largest = COST_SIZES[COST_SIZES.length - 1];
    process.stderr.write(`   diagnosis: ${largest} nodes with --stack-trace-limit=0\n`);
    results.programCost.diagnosis = measureProgramCost([largest], "no-stack-traces");
    process.stderr.write(`   the SDK's own floor: ${largest} nodes' worth of bare resources\n`);
    results.programCost.sdkFloor = measureProgramCost([largest], "sdk-floor");
    for (const n of STATE_SIZES) {
        process.stderr.write(`\n== state size without a lab: ${n} nodes\n`);
        results.stateSize.noLab.push(await measureStateSize(n));
    }
    results.durationS = (Date.now() - started) / 1000;
    printReport(results);
    for (const f of writeResults(results)) process.stdout.write(`wrote ${path.relative(process.cwd(), f)}\n`);
}

main().then(
    () => process.exit(0),
    (e: unknown) => {
        process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(1);
    },
);

// The lab must not be left up by an interrupted run either.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
        process.stderr.write(`\n${signal}: taking the lab down\n`);
        try {
            labOk("down");
        } finally {
            process.exit(130);
        }
    });
}
