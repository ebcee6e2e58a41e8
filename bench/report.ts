/**
 * The benchmark's result types, the targets of issue 5 checked against them, and the printed
 * tables (Markdown, so they can be pasted into bench/README.md as they are).
 */
import type { ExecCounts } from "./execLog";
import type { MachineDetails } from "./machine";
import type { ReplayResult } from "./manualReplay";
import type { ProgramCostSample } from "./programCost";
import { LabStateSample, StateSizeSample, wholeStateEstimate } from "../tools/engine/stateSize";
import type { UpResult } from "../tools/engine/types";
import { Stat, stat } from "./stats";

export { Stat, stat };

/** A kind of step during one operation, relative to the operation's start. */
export interface Phase {
    name: string;
    startMs: number;
    endMs: number;
    calls: number;
}

export interface EnableSample {
    run: number;
    /** Starting the dynamic-provider host (a CLI deployment starts one too). */
    hostStartMs: number;
    /** `up` until it returned: every tunnel CONFIGURED (the product waits for it). */
    wallMs: number;
    /** hostStartMs + wallMs. */
    coldWallMs: number;
    programMs: number;
    execs: ExecCounts;
    /** Machine CPU use during the `up`, % of all CPUs. */
    cpuBusyPct: number;
    phases: Phase[];
}

export interface EnableAtN {
    nodes: number;
    product: {
        samples: EnableSample[];
        wallMs: Stat;
        coldWallMs: Stat;
        execsPerNodeMax: number;
        execsPerNodeMean: number;
        execsCentral: number;
        destroyMs: Stat;
    };
    replay: ReplayResult & {
        execs: ExecCounts;
        /** Round trips made for each node (a non-CA node's CA-side steps count for it). */
        onBehalfOf: Record<string, number>;
        pollExecs: number;
    };
    /** replay wall / product median wall; `cold` includes the provider host start. */
    ratio: { warm: number; cold: number };
}

/**
 * How a flag flip's `up` is invoked: as users run it (this project's Pulumi.yaml refreshes
 * first, and every `pulumi up` previews), and the CLI's flags that leave parts of that out.
 */
export const FLIP_VARIANTS = [
    { label: "pulumi up", skipPreview: false, refresh: undefined },
    { label: "pulumi up --refresh=false", skipPreview: false, refresh: false },
    { label: "pulumi up --skip-preview --refresh=false", skipPreview: true, refresh: false },
] as const;
export type FlipVariant = (typeof FLIP_VARIANTS)[number];

/** The flips of one invocation. */
function flipsOf(r: BenchResults, variant: FlipVariant): FlagFlipSample[] {
    return r.flagFlip.filter((f) => f.variant === variant.label);
}

export interface FlagFlipSample {
    run: number;
    /** FLIP_VARIANTS label. */
    variant: string;
    offMs: number;
    onMs: number;
    offExecs: ExecCounts;
    onExecs: ExecCounts;
    offCpuBusyPct: number;
    onCpuBusyPct: number;
    offPhases: Phase[];
    onPhases: Phase[];
    /** Where each `up`'s time went: its preview, the update's refresh, its program. */
    offTimings: UpResult["timings"];
    onTimings: UpResult["timings"];
    servicePidsUnchanged: boolean;
    nodeResourcesChanged: string[];
}

export interface NoChangeSample {
    run: number;
    wallMs: number;
    execs: ExecCounts;
    /** Dynamic resources created/updated/replaced/deleted (expected: none). */
    changes: string[];
    /** Provider operations called through the host (expected: configure, check, diff). */
    providerOps: string[];
}

export interface RefreshSample {
    run: number;
    wallMs: number;
    execs: ExecCounts;
}

/** Item 5: `lab.sh restart-pod` on one node, then `up` (issue 8). */
export interface RepairSample {
    run: number;
    node: string;
    /** `up` until it returned with every tunnel CONFIGURED again (verified on every node). */
    wallMs: number;
    execs: ExecCounts;
    /** Execs into the restarted node's pod, by kind. */
    victimKinds: string[];
    /** Execs into each other node's pod (expected: one read-only observe each). */
    othersMax: number;
    /** The other nodes' ovs-monitor-ipsec and charon pids are the same before and after. */
    othersUntouched: boolean;
    /** Dynamic resources changed (expected: the restarted node's, the status and the readiness gate). */
    changes: string[];
}

export interface TargetCheck {
    item: string;
    target: string;
    measured: string;
    met: boolean;
    /** By how much it is missed (null when met). */
    gap: string | null;
}

export interface BenchResults {
    command: string;
    quick: boolean;
    startedAt: string;
    durationS: number;
    machine: MachineDetails;
    settings: { runs: number; labSizes: number[]; parallelism: number; waitFor: string; costSizes: number[] };
    enable: EnableAtN[];
    flagFlip: FlagFlipSample[];
    /** The lab's own time for the same flips with no tool (bench/labFloor.ts), ms per run. */
    flagFloor: { offMs: number[]; onMs: number[] };
    noChange: { nodes: number; up: NoChangeSample[]; refresh: RefreshSample[] };
    /** The lab's own floor for the no-change up: the same reads on every node at once, no tool (ms per run). */
    readFloorMs: number[];
    repair: RepairSample[];
    programCost: { samples: ProgramCostSample[]; diagnosis: ProgramCostSample[]; sdkFloor: ProgramCostSample[] };
    stateSize: { lab: LabStateSample[]; noLab: StateSizeSample[] };
    targets?: TargetCheck[];
}

// ------------------------------------------------------------------------------------------
// Formatting
// ------------------------------------------------------------------------------------------

const s1 = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const range = (x: Stat) => (x.n > 1 ? `${s1(x.median)} (${s1(x.min)}–${s1(x.max)})` : s1(x.median));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);
const num = (x: number, digits = 1) => (Number.isInteger(x) ? String(x) : x.toFixed(digits));

function table(headers: string[], rows: string[][]): string {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    return [line(headers), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

function phasesLine(phases: Phase[]): string {
    return phases.map((p) => `${p.name} ${(p.startMs / 1000).toFixed(2)}–${(p.endMs / 1000).toFixed(2)} s`).join("; ");
}

function medianSample<T>(samples: T[], key: (t: T) => number): T {
    return [...samples].sort((a, b) => key(a) - key(b))[Math.floor((samples.length - 1) / 2)];
}

function kinds(counts: ExecCounts): string {
    return Object.entries(counts.byKind)
        .map(([k, v]) => {
            const d = counts.durationByKind[k];
            return `${k.replace(/^product:/, "")} ×${v} (${d.n > 1 ? `${s1(d.min)}–${s1(d.max)}` : s1(d.median)})`;
        })
        .join(", ");
}

/**
 * Time spent inside pod execs on the critical path of an `up`: the product's steps run in a
 * chain (preflight → node applies, in parallel → nb_global switch → status, in parallel), so
 * this is the sum over that chain of the longest exec of each step. The rest of the wall time
 * is outside the pods: key generation, the engine's calls to the provider host, process starts.
 */
export function inPodCriticalMs(execs: ExecCounts): number {
    return ["product:read-nb-global:ro", "product:apply", "product:set-nb-global", "product:observe:ro"].reduce((sum, k) => sum + (execs.durationByKind[k]?.max ?? 0), 0);
}

/**
 * From the start of an operation to its first resource step: the program's start as the CLI
 * starts it (Node, ts-node, loading @pulumi/*, the stack program), then its first registration.
 */
export function beforeFirstStepMs(phases: Phase[]): number {
    return phases.length === 0 ? 0 : Math.min(...phases.map((p) => p.startMs));
}

/**
 * Per node: the time its own execs took (all of them, summed), and the rest of the `up`'s wall
 * time (other nodes' steps, the engine, key generation, waiting for its turn).
 */
export function perNodeSplit(execs: ExecCounts, wallMs: number): string {
    return Object.entries(execs.inPodMsPerNode)
        .map(([node, ms]) => `${node} ${s1(ms)} / ${s1(Math.max(0, wallMs - ms))}`)
        .join("; ");
}

// ------------------------------------------------------------------------------------------
// Targets (issue 5)
// ------------------------------------------------------------------------------------------

/** Largest per-node marginal cost over the smallest one, between consecutive sizes. */
function marginalRatio(samples: ProgramCostSample[], value: (s: ProgramCostSample) => number): { perNode: number[]; ratio: number } {
    const perNode: number[] = [];
    for (let i = 1; i < samples.length; i++) perNode.push((value(samples[i]) - value(samples[i - 1])) / (samples[i].nodes - samples[i - 1].nodes));
    return { perNode, ratio: perNode.length < 2 ? 1 : Math.max(...perNode) / Math.min(...perNode) };
}

/** Linear: the per-node cost of the last size step is within this factor of the first one's. */
export const LINEAR_TOLERANCE = 1.5;
/** "Does not grow with N": the N=6 median wall time is within this factor of N=3's. */
export const FLAT_TOLERANCE = 1.2;
/** A flag flip (each way) within this factor of the lab's own time for it, with no tool (issue 10). */
export const FLIP_FLOOR_FACTOR = 2;

export function evaluateTargets(r: BenchResults): TargetCheck[] {
    const checks: TargetCheck[] = [];
    const add = (item: string, target: string, measured: string, met: boolean, gap: string) => checks.push({ item, target, measured, met, gap: met ? null : gap });

    const worstExecs = Math.max(...r.enable.map((e) => e.product.execsPerNodeMax));
    add("1", "≤ 2 exec round trips per node (enable)", r.enable.map((e) => `N=${e.nodes}: ${e.product.execsPerNodeMax} max/node, ${e.product.execsCentral} to the central`).join("; "), worstExecs <= 2, `${worstExecs - 2} round trip(s) per node too many`);

    const six = r.enable.find((e) => e.nodes === 6);
    if (six) {
        add("1", "≥ 10× faster than the manual replay at N=6", `${num(six.ratio.cold)}× (host start included), ${num(six.ratio.warm)}× (up only)`, six.ratio.cold >= 10, `${num(six.ratio.cold)}× instead of 10×`);
    }
    if (six) {
        add("10", "≥ 20× faster than the manual replay at N=6", `${num(six.ratio.cold)}× (host start included), ${num(six.ratio.warm)}× (up only)`, six.ratio.cold >= 20, `${num(six.ratio.cold)}× instead of 20×`);
    }
    const three = r.enable.find((e) => e.nodes === 3);
    if (three && six) {
        const growth = six.product.wallMs.median / three.product.wallMs.median;
        add(
            "1, 10",
            `wall time does not grow with N up to parallelism (${r.settings.parallelism}): N=6 within ${FLAT_TOLERANCE}× of N=3`,
            `N=3 ${s1(three.product.wallMs.median)}, N=6 ${s1(six.product.wallMs.median)} (×${growth.toFixed(2)})`,
            growth <= FLAT_TOLERANCE,
            `+${((growth - 1) * 100).toFixed(0)}% from N=3 to N=6`,
        );
    }

    const asUsersRun = flipsOf(r, FLIP_VARIANTS[0]);
    if (asUsersRun.length > 0) {
        const off = stat(asUsersRun.map((f) => f.offMs));
        const on = stat(asUsersRun.map((f) => f.onMs));
        const restarted = r.flagFlip.filter((f) => !f.servicePidsUnchanged).length;
        const worst = Math.max(off.max, on.max);
        const floor = r.flagFloor.onMs.length > 0 ? `; lab floor without any tool: off ${range(stat(r.flagFloor.offMs))}, on ${range(stat(r.flagFloor.onMs))}` : "";
        add("2", "flag flip under 3 s each way at N=6 (every run)", `off ${range(off)}, on ${range(on)}${floor}`, worst < 3000, `slowest ${s1(worst)}: ${s1(worst - 3000)} over`);
        if (r.flagFloor.offMs.length > 0 && r.flagFloor.onMs.length > 0) {
            const offFloor = stat(r.flagFloor.offMs).median;
            const onFloor = stat(r.flagFloor.onMs).median;
            const worstRatio = Math.max(off.max / offFloor, on.max / onFloor);
            add(
                "10",
                `each flag flip within ${FLIP_FLOOR_FACTOR}× of the lab floor (every run)`,
                `off ×${(off.max / offFloor).toFixed(2)}, on ×${(on.max / onFloor).toFixed(2)} of the floor's median (slowest run each way); before the program's first step: off ${range(stat(asUsersRun.map((f) => beforeFirstStepMs(f.offPhases))))}, on ${range(stat(asUsersRun.map((f) => beforeFirstStepMs(f.onPhases))))}`,
                worstRatio <= FLIP_FLOOR_FACTOR,
                `×${worstRatio.toFixed(2)} of the floor`,
            );
            // The same target for the leanest invocation the CLI offers: what is left is one
            // deployment (its host and program start, the checks' reads) and the flip's steps.
            const lean = flipsOf(r, FLIP_VARIANTS[2]);
            if (lean.length > 0) {
                const leanOff = stat(lean.map((f) => f.offMs));
                const leanOn = stat(lean.map((f) => f.onMs));
                const leanRatio = Math.max(leanOff.max / offFloor, leanOn.max / onFloor);
                add(
                    "10",
                    `the same with \`${FLIP_VARIANTS[2].label}\``,
                    `off ${range(leanOff)}, on ${range(leanOn)}: ×${leanRatio.toFixed(2)} of the floor (slowest run)`,
                    leanRatio <= FLIP_FLOOR_FACTOR,
                    `×${leanRatio.toFixed(2)} of the floor`,
                );
            }
        }
        add("2", "no service restart during the flag flips", `${r.flagFlip.length - restarted}/${r.flagFlip.length} runs with the same ovs-monitor-ipsec and charon pids`, restarted === 0, `${restarted} run(s) restarted a service`);
    }

    const cost = r.programCost.samples;
    const big = cost.find((c) => c.nodes === 1000);
    if (big) {
        add("3", "1000 nodes built under mocks in < 20 s", `${s1(big.buildMs)} (process ${s1(big.processMs)})`, big.buildMs < 20_000, `${s1(big.buildMs - 20_000)} over (${(big.buildMs / 20_000).toFixed(1)}× the budget)`);
        add("3", "1000 nodes in < 1 GiB peak RSS", `${num(big.peakRssMiB, 0)} MiB`, big.peakRssMiB < 1024, `${num(big.peakRssMiB - 1024, 0)} MiB over`);
    }
    if (big) {
        const floor = r.programCost.sdkFloor.find((c) => c.nodes === 1000);
        const floorText = floor ? `; the SDK alone for as many bare resources: ${s1(floor.buildMs)}, ${num(floor.peakRssMiB, 0)} MiB` : "";
        add("9", "1000 nodes: program < 10 s and peak RSS < 512 MiB", `${s1(big.buildMs)}, ${num(big.peakRssMiB, 0)} MiB${floorText}`, big.buildMs < 10_000 && big.peakRssMiB < 512, `${s1(Math.max(0, big.buildMs - 10_000))} and ${num(Math.max(0, big.peakRssMiB - 512), 0)} MiB over`);
    }
    const labStates = r.stateSize.lab;
    if (labStates.length > 0) {
        const worst = Math.max(...labStates.map((x) => x.providerOverheadMax));
        add("9", "each dynamic resource ≤ 8 KB beyond its own data", labStates.map((x) => `N=${x.nodes}: at most ${kb(x.providerOverheadMax)}`).join("; "), worst <= 8192, `${kb(worst - 8192)} over`);
    }
    const hundred = r.stateSize.noLab.find((x) => x.nodes === 100);
    const whole = hundred ? wholeStateEstimate(hundred, labStates) : null;
    if (whole) {
        add("9", "whole state at N = 100 ≤ 50 KB per node", `${kb(whole.bytesPerNode)} per node (tls and Kubernetes measured: ${kb(whole.measuredBytes / 100)}; dynamic resources, component and stack from the lab: ${kb(whole.fromLabBytes / 100)})`, whole.bytesPerNode <= 50 * 1024, `${kb(whole.bytesPerNode - 50 * 1024)} per node over`);
    }
    if (cost.length >= 3) {
        const t = marginalRatio(cost, (c) => c.buildMs);
        const m = marginalRatio(cost, (c) => c.peakRssMiB);
        const fmt = (xs: number[], unit: string) => xs.map((x) => `${x.toFixed(unit === "ms" ? 1 : 2)} ${unit}`).join(" → ");
        add(
            "3",
            `linear growth (per-node marginal cost varies ≤ ${LINEAR_TOLERANCE}× across sizes)`,
            `time/node ${fmt(t.perNode, "ms")} (×${t.ratio.toFixed(2)}); memory/node ${fmt(m.perNode, "MiB")} (×${m.ratio.toFixed(2)})`,
            t.ratio <= LINEAR_TOLERANCE && m.ratio <= LINEAR_TOLERANCE,
            `marginal time ×${t.ratio.toFixed(2)}, memory ×${m.ratio.toFixed(2)}`,
        );
    }

    /** The status and the readiness gate are re-observed and re-judged on every run: they always update. */
    const everyRun = /^kube-ovn-ipsec-(status|readiness):update$/;
    if (r.noChange.up.length > 0) {
        const writes = r.noChange.up.flatMap((u) => Object.keys(u.execs.byKind)).filter((k) => !k.endsWith(":ro"));
        const perNode = r.noChange.up.flatMap((u) => Object.values(u.execs.perNode));
        const exact = perNode.every((x) => x === 1);
        const changes = r.noChange.up.flatMap((u) => u.changes).filter((c) => !everyRun.test(c));
        const floor = r.readFloorMs.length > 0 ? `; lab floor for ${r.noChange.nodes} parallel reads: ${range(stat(r.readFloorMs))}` : "";
        add(
            "4",
            `no-change up --skip-preview at N=${r.noChange.nodes}: exactly one read-only exec per node, nothing changed`,
            `${Math.min(...perNode)}–${Math.max(...perNode)} execs/node (${[...new Set(r.noChange.up.flatMap((u) => Object.keys(u.execs.byKind)))].join(", ")}), ${changes.length} changes, ${range(stat(r.noChange.up.map((u) => u.wallMs)))}${floor}`,
            exact && writes.length === 0 && changes.length === 0,
            `execs/node ${[...new Set(perNode)].join("/")}, writes: ${[...new Set(writes)].join(", ") || "none"}, changes: ${changes.join(", ") || "none"}`,
        );
    }
    if (r.noChange.refresh.length > 0) {
        const writes = r.noChange.refresh.flatMap((x) => Object.keys(x.execs.byKind)).filter((k) => !k.endsWith(":ro"));
        const perNode = Math.max(...r.noChange.refresh.map((x) => x.execs.perNodeMax));
        add("4", `refresh at N=${r.noChange.nodes}: read-only`, `${perNode} execs/node (reads only), ${range(stat(r.noChange.refresh.map((x) => x.wallMs)))}`, writes.length === 0, `non-read scripts: ${[...new Set(writes)].join(", ")}`);
    }
    if (r.repair.length > 0) {
        // On the restarted node: the check's reading, the apply, the status's reading after it.
        const victimOk = r.repair.every((x) => x.victimKinds.join(" ") === "product:observe:ro product:apply product:observe:ro");
        const othersOk = r.repair.every((x) => x.othersMax <= 1 && x.othersUntouched);
        const changes = r.repair.map((x) => x.changes.filter((c) => !everyRun.test(c)));
        const onlyVictim = r.repair.every((x, i) => changes[i].length === 1 && changes[i][0] === `kube-ovn-ipsec-${x.node}:update`);
        add(
            "5",
            "repair after restart-pod (up --skip-preview): on that node observe, apply, observe; the others one read each and untouched",
            `${range(stat(r.repair.map((x) => x.wallMs)))}; restarted node: ${[...new Set(r.repair.map((x) => x.victimKinds.join(" + ")))].join("; ")}; others ≤ ${Math.max(...r.repair.map((x) => x.othersMax))} exec each`,
            victimOk && othersOk && onlyVictim,
            `victim execs ${r.repair.map((x) => x.victimKinds.join("+")).join("; ")}, others untouched: ${r.repair.map((x) => x.othersUntouched).join("/")}, changes: ${changes.map((c) => c.join(",")).join("; ")}`,
        );
    }
    return checks;
}

// ------------------------------------------------------------------------------------------
// Printing
// ------------------------------------------------------------------------------------------

export function printReport(r: BenchResults): void {
    r.targets = evaluateTargets(r);
    const m = r.machine;
    const out: string[] = [];
    const p = (line = "") => out.push(line);

    p(`# kube-ovn-ipsec benchmark — ${r.startedAt} (\`${r.command}\`, ${r.durationS.toFixed(0)} s${r.quick ? ", QUICK: not for quoting" : ""})`);
    p();
    p(`Machine: ${m.cpuModel}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}${m.virtualization ? ` (${m.virtualization})` : ""}, load ${m.loadAverage.join("/")} at start`);
    p(`Software: Node ${m.node}, @pulumi/pulumi ${m.pulumiSdk}, ${Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    p(`Settings: parallelism ${r.settings.parallelism} (default), waitFor ${r.settings.waitFor}, ${r.settings.runs} run(s) per product scenario, 1 replay per N`);
    p();

    p("## 1. Enable: program start → every tunnel CONFIGURED");
    p();
    p(
        table(
            ["N", "product up (median, min–max)", "+ host start", "in pods / outside (median run)", "execs/node (max)", "execs to central", "CPU busy", "manual replay", "replay execs/node (mean; non-CA node)", "ratio replay/product"],
            r.enable.map((e) => {
                const nonCa = Object.entries(e.replay.onBehalfOf).filter(([k]) => k !== "(cluster)").map(([, v]) => v);
                const med = medianSample(e.product.samples, (x) => x.wallMs);
                const inPods = inPodCriticalMs(med.execs);
                return [
                    String(e.nodes),
                    range(e.product.wallMs),
                    range(e.product.coldWallMs),
                    `${s1(inPods)} / ${s1(med.wallMs - inPods)}`,
                    String(e.product.execsPerNodeMax),
                    String(e.product.execsCentral),
                    `${stat(e.product.samples.map((x) => x.cpuBusyPct)).median.toFixed(0)}%`,
                    `${s1(e.replay.wallMs)} (script ${s1(e.replay.scriptMs)} + ${s1(e.replay.convergeMs)} to CONFIGURED)`,
                    `${num(e.replay.execs.perNodeMean)}; ${Math.max(...nonCa)}`,
                    `${num(e.ratio.cold)}× (${num(e.ratio.warm)}× without host start)`,
                ];
            }),
        ),
    );
    p();
    for (const e of r.enable) {
        const med = medianSample(e.product.samples, (x) => x.wallMs);
        p(`- N=${e.nodes} product (median run ${med.run}): ${phasesLine(med.phases)}; execs: ${kinds(med.execs)}`);
        p(`- N=${e.nodes} per node, in its pod / outside it (median run, of ${s1(med.wallMs)}): ${perNodeSplit(med.execs, med.wallMs)}`);
        const restarts = e.replay.restarts.map((x) => x.monitorRestartMs + x.ikeRestartMs);
        p(
            `- N=${e.nodes} replay: ${e.replay.steps.length} execs (${e.replay.execs.central} to the central), ${e.replay.apiCalls} API reads, restarts ${s1(restarts.reduce((a, b) => a + b, 0))} in total (${s1(Math.min(...restarts))}–${s1(Math.max(...restarts))} per node), then ${e.replay.pollExecs} tunnels/show polls`,
        );
    }
    p();

    if (r.flagFlip.length > 0) {
        p(`## 2. Flag flip at N=${r.noChange.nodes}: enabled=false → "No tunnels configured", then true → CONFIGURED`);
        p();
        p(
            table(
                ["run", "invoked as", "off", "before the first step", "in pods / outside", "execs off (per node / central)", "on", "before the first step", "in pods / outside", "execs on (per node / central)", "CPU busy off / on", "service pids unchanged", "node resources changed"],
                r.flagFlip.map((f) => [
                    String(f.run),
                    `\`${f.variant}\``,
                    s1(f.offMs),
                    s1(beforeFirstStepMs(f.offPhases)),
                    `${s1(inPodCriticalMs(f.offExecs))} / ${s1(f.offMs - inPodCriticalMs(f.offExecs))}`,
                    `${f.offExecs.perNodeMax} / ${f.offExecs.central}`,
                    s1(f.onMs),
                    s1(beforeFirstStepMs(f.onPhases)),
                    `${s1(inPodCriticalMs(f.onExecs))} / ${s1(f.onMs - inPodCriticalMs(f.onExecs))}`,
                    `${f.onExecs.perNodeMax} / ${f.onExecs.central}`,
                    `${f.offCpuBusyPct.toFixed(0)}% / ${f.onCpuBusyPct.toFixed(0)}%`,
                    f.servicePidsUnchanged ? "yes" : "NO",
                    f.nodeResourcesChanged.length ? f.nodeResourcesChanged.join(", ") : "none",
                ]),
            ),
        );
        if (r.flagFloor.offMs.length > 0) {
            p();
            p(`- lab floor, no tool (ovn-nbctl set + in-pod wait on every node; bench/labFloor.ts): off ${range(stat(r.flagFloor.offMs))}, on ${range(stat(r.flagFloor.onMs))}`);
        }
        p();
        p("Where each flip's time went (median run of each invocation): the preview (a deployment of its own, with its refresh), the update's refresh, the update's program (from its start to its exit: every step runs meanwhile), of which its start (node, ts-node, @pulumi/*, the program, to its first registration).");
        // The median run of each invocation that ran.
        const medians = FLIP_VARIANTS.flatMap((v) => {
            const runs = flipsOf(r, v);
            return runs.length === 0 ? [] : [{ v, med: medianSample(runs, (f) => f.offMs + f.onMs) }];
        });
        p();
        p(
            table(
                ["invoked as", "way", "up", "preview", "update: refresh", "update: program", "of which its start"],
                medians.flatMap(({ v, med }) => {
                    const row = (way: string, ms: number, t: FlagFlipSample["offTimings"]) => [`\`${v.label}\``, way, s1(ms), t.previewMs === null ? "none" : s1(t.previewMs), t.refreshMs === null ? "none" : s1(t.refreshMs), t.programMs === null ? "?" : s1(t.programMs), t.programStartMs === null ? "?" : s1(t.programStartMs)];
                    return [row("off", med.offMs, med.offTimings), row("on", med.onMs, med.onTimings)];
                }),
            ),
        );
        for (const { v, med } of medians) {
            p();
            p(`- \`${v.label}\`, off (run ${med.run}): ${phasesLine(med.offPhases)}`);
            p(`- \`${v.label}\`, on (run ${med.run}): ${phasesLine(med.onPhases)}`);
        }
        p();
    }

    p("## 3. Program cost without a cluster (graph built under mocks, one child process per size)");
    p();
    p(
        table(
            ["nodes", "variant", "registrations", "build", "ms/node", "peak RSS", "RSS after module load", "heap after build", "heap after GC", "process"],
            [...r.programCost.samples, ...r.programCost.diagnosis, ...r.programCost.sdkFloor].map((c) => [
                String(c.nodes),
                c.variant,
                String(c.registrations),
                s1(c.buildMs),
                (c.buildMs / c.nodes).toFixed(1),
                `${c.peakRssMiB.toFixed(0)} MiB`,
                `${c.baselineRssMiB.toFixed(0)} MiB`,
                `${c.heapUsedMiB.toFixed(0)} MiB`,
                `${c.retainedHeapMiB.toFixed(0)} MiB`,
                s1(c.processMs),
            ]),
        ),
    );
    p();

    if (r.noChange.up.length > 0) {
        p(`## 4. No-change re-run at N=${r.noChange.nodes}`);
        p();
        p(
            table(
                ["operation", "wall (median, min–max)", "execs (per node / central)", "what ran"],
                [
                    ["up, nothing changed", range(stat(r.noChange.up.map((u) => u.wallMs))), `${Math.max(...r.noChange.up.map((u) => u.execs.perNodeMax))} / ${Math.max(...r.noChange.up.map((u) => u.execs.central))}`, `provider ops: ${[...new Set(r.noChange.up.flatMap((u) => u.providerOps))].join(", ")}; changes: ${r.noChange.up.flatMap((u) => u.changes).length}`],
                    ["refresh", range(stat(r.noChange.refresh.map((x) => x.wallMs))), `${Math.max(...r.noChange.refresh.map((x) => x.execs.perNodeMax))} / ${Math.max(...r.noChange.refresh.map((x) => x.execs.central))}`, kinds(r.noChange.refresh[0].execs)],
                ],
            ),
        );
        if (r.readFloorMs.length > 0) p(`\n- lab floor, no tool (the same reads on every node at once; bench/labFloor.ts): ${range(stat(r.readFloorMs))}`);
        p();
    }

    if (r.repair.length > 0) {
        p(`## 5. Repair after \`lab.sh restart-pod\` on one node, at N=${r.noChange.nodes}`);
        p();
        p(
            table(
                ["run", "node", "up until CONFIGURED again", "execs into that node", "execs into each other node (max)", "others' daemons untouched", "resources changed"],
                r.repair.map((x) => [String(x.run), x.node, s1(x.wallMs), x.victimKinds.join(" + "), String(x.othersMax), x.othersUntouched ? "yes" : "NO", x.changes.join(", ")]),
            ),
        );
        p();
    }

    if (r.stateSize.lab.length > 0 || r.stateSize.noLab.length > 0) {
        p("## 6. State size (what a file backend stores, and writes over one `up`)");
        p();
        const short = (t: string) => t.replace(/^pulumi-nodejs:dynamic\/kube-ovn-ipsec:|^tls:index\/[a-zA-Z]+:|^kubernetes:core\/v1:/, "");
        const types = (byType: Record<string, [number, number]>) =>
            Object.entries(byType)
                .filter(([t]) => !t.startsWith("pulumi:") && !t.endsWith(":KubeOvnIpsec"))
                .map(([t, [count, mean]]) => `${short(t)} ${count}× ${kb(mean)}`)
                .join(", ");
        p(
            table(
                ["N", "where", "state", "per node", "snapshots", "written over the up", "per resource (count × mean)"],
                [
                    ...r.stateSize.lab.map((x) => [String(x.nodes), "lab, after an enable (whole state)", kb(x.stateBytes), kb(x.stateBytes / x.nodes), String(x.checkpoints), mb(x.bytesWritten), types(x.byType)]),
                    ...r.stateSize.noLab.map((x) => {
                        const whole = wholeStateEstimate(x, r.stateSize.lab);
                        const where = whole ? `no lab: tls, Kubernetes (with the rest from the lab: ${kb(whole.bytesPerNode)} per node in all)` : "no lab: tls, Kubernetes";
                        return [String(x.nodes), where, kb(x.stateBytes), kb(x.bytesPerNode), String(x.checkpoints), mb(x.bytesWritten), types(x.byType)];
                    }),
                ],
            ),
        );
        p();
    }

    p("## Targets");
    p();
    p(table(["item", "target", "measured", "result"], r.targets.map((t) => [t.item, t.target, t.measured, t.met ? "met" : `MISSED: ${t.gap}`])));
    p();
    p("Substitutions in the lab (see bench/README.md): kubectl exec → the lab's nsenter prefix; kubectl cp → exec of `cat` / `cat >` (one round trip each, as kubectl cp's tar);");
    p("/kube-ovn (the image WORKDIR, exec cwd) → /root (the lab's exec cwd, per pod); kubectl get pod → lab.sh status (API reads, not execs).");
    process.stdout.write(out.join("\n") + "\n");
}
