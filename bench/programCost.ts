/**
 * Item 3 of the benchmark: what the Pulumi program costs without a cluster. The component is
 * built for N nodes under Pulumi's mocks (test/support/graph.ts: every registration answered
 * at once, no provider runs, no exec), and we measure the wall time until every registration
 * settled and the process's peak RSS.
 *
 * Each size runs in its own child process (this file with `--child N`), so that the peak RSS
 * of one size is not inflated by a bigger one run before it, and so that module loading
 * (measured apart, as `baselineRssMiB`) is paid the same way each time.
 */
import { spawnSync } from "child_process";
import * as path from "path";

export interface ProgramCostSample {
    nodes: number;
    /** "as-is", or a diagnostic variant (see VARIANTS). */
    variant: Variant;
    /** Resources registered (component, tls, Secrets, dynamic). */
    registrations: number;
    /** `new KubeOvnIpsec(...)` until every registration settled. */
    buildMs: number;
    /** Peak RSS of the child process (process.resourceUsage().maxRSS). */
    peakRssMiB: number;
    /** RSS after loading the modules, before building: the fixed part of the peak. */
    baselineRssMiB: number;
    /** V8 heap in use right after the build. */
    heapUsedMiB: number;
    /** V8 heap still in use after a full GC: what the build really keeps; the rest of the peak is garbage. */
    retainedHeapMiB: number;
    /** Child process start to exit, module loading included. */
    processMs: number;
}

const MIB = 1024 * 1024;

/**
 * "as-is": how the program runs (TypeScript through a loader with source maps, as under the
 * Pulumi CLI, whose Node.js runtime installs source-map-support too).
 * "no-stack-traces": a diagnosis, not a way to run: V8's --stack-trace-limit=0 empties the
 * stack trace the SDK attaches to every promise it makes per resource property
 * (runtime/debuggable.js, eagerly formatted and, under a TypeScript loader, source-mapped),
 * which shows what that capture costs. (Resource.callsites() raises the limit for its own
 * per-resource trace, so source positions are still captured.)
 *
 * "sdk-floor": nothing of ours: the same number of registrations (5 per node) of a bare
 * CustomResource with 8 short string inputs, under the same mocks and loader, with stack traces
 * off while registering (as the component does). What Pulumi's SDK alone costs for that many
 * resources: the part of the peak RSS and time no component can remove.
 */
export type Variant = "as-is" | "no-stack-traces" | "sdk-floor";
const VARIANT_FLAGS: Record<Variant, string[]> = { "as-is": [], "no-stack-traces": ["--stack-trace-limit=0"], "sdk-floor": [] };
const FLOOR_RESOURCES_PER_NODE = 5;
const FLOOR_INPUTS = 8;

/** Kind-style node names and UUID-shaped system-ids, as in Kube-OVN. */
export function syntheticNodes(n: number): Array<{ name: string; systemId: string }> {
    return Array.from({ length: n }, (_, i) => ({
        name: i === 0 ? "kube-ovn-control-plane" : `kube-ovn-worker${i === 1 ? "" : i}`,
        systemId: `${(i + 1).toString(16).padStart(8, "0")}-1111-4222-8333-${(1000 + i).toString().padStart(12, "0")}`,
    }));
}

/** In the child: build once, print one JSON line. Modules are loaded first, then measured. */
async function child(n: number, floor: boolean): Promise<void> {
    // Loaded here (not at the top) so the parent, which only spawns, does not pay for them.
    const { KubeOvnIpsec } = await import("../components");
    const { captureGraph } = await import("../test/support/graph");
    const pulumi = await import("@pulumi/pulumi");
    const baselineRss = process.memoryUsage().rss;
    const nodes = syntheticNodes(n);
    class FloorResource extends pulumi.CustomResource {}
    const bare = (opts: import("@pulumi/pulumi").ComponentResourceOptions) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            const parent = new pulumi.ComponentResource("floor:index:Parent", "floor", {}, opts);
            for (let i = 0; i < n * FLOOR_RESOURCES_PER_NODE; i++) {
                const inputs = Object.fromEntries(Array.from({ length: FLOOR_INPUTS }, (_, p) => [`p${p}`, `value-${i}-${p}`]));
                new FloorResource("floor:index:Resource", `r-${i}`, inputs, { parent });
            }
            return parent;
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
    const t0 = performance.now();
    const { registrations, error } = await captureGraph(floor ? bare : (opts) => new KubeOvnIpsec("kube-ovn-ipsec", { nodes }, opts));
    const buildMs = performance.now() - t0;
    if (error) throw error;
    const peakRssMiB = (process.resourceUsage().maxRSS * 1024) / MIB;
    const heapUsedMiB = process.memoryUsage().heapUsed / MIB;
    // --expose-gc only makes gc() callable; the collection happens here, after the peak was read.
    (globalThis as { gc?: () => void }).gc?.();
    const sample: Omit<ProgramCostSample, "processMs" | "variant"> = {
        nodes: n,
        registrations: registrations.length,
        buildMs,
        peakRssMiB,
        baselineRssMiB: baselineRss / MIB,
        heapUsedMiB,
        retainedHeapMiB: process.memoryUsage().heapUsed / MIB,
    };
    process.stdout.write(JSON.stringify(sample) + "\n");
}

/** In the parent: one child per size, sequentially (so they do not compete for the 2 CPUs). */
export function measureProgramCost(sizes: readonly number[], variant: Variant = "as-is"): ProgramCostSample[] {
    return sizes.map((n) => {
        const t0 = performance.now();
        const args = [...VARIANT_FLAGS[variant], "--expose-gc", "-r", "@swc-node/register", __filename, "--child", String(n), ...(variant === "sdk-floor" ? ["--sdk-floor"] : [])];
        const r = spawnSync(process.execPath, args, {
            cwd: path.resolve(__dirname, ".."),
            encoding: "utf8",
            timeout: 300_000,
            maxBuffer: 16 * MIB,
        });
        const processMs = performance.now() - t0;
        if (r.error) throw r.error;
        if (r.status !== 0) throw new Error(`program cost for ${n} nodes: child exited ${r.status} ${r.signal ?? ""}\n${r.stderr}`);
        const line = r.stdout.trim().split("\n").pop() ?? "";
        return { ...(JSON.parse(line) as Omit<ProgramCostSample, "processMs" | "variant">), variant, processMs };
    });
}

if (require.main === module) {
    const at = process.argv.indexOf("--child");
    const sizes = at >= 0 ? null : process.argv.slice(2).map(Number).filter((n) => n > 0);
    if (at >= 0) {
        child(Number(process.argv[at + 1]), process.argv.includes("--sdk-floor")).then(
            // The SDK may keep handles open after the mocks settled: leave now.
            () => process.exit(0),
            (e: unknown) => {
                process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
                process.exit(1);
            },
        );
    } else {
        // `node -r @swc-node/register bench/programCost.ts [--no-stack-traces] 10 100 1000`: item 3 alone.
        const variant: Variant = process.argv.includes("--no-stack-traces") ? "no-stack-traces" : process.argv.includes("--sdk-floor") ? "sdk-floor" : "as-is";
        console.log(JSON.stringify(measureProgramCost(sizes && sizes.length > 0 ? sizes : [10, 100, 1000], variant), null, 2));
    }
}
