/**
 * A test engine for Pulumi programs without the Pulumi CLI: `up`, `refresh`, `destroy` with
 * state carried between runs like the engine's checkpoint. See README.md for what is real and
 * what is emulated, and the exact step semantics.
 *
 * - The program runs in this process under `pulumi.runtime.setMocks`, each run in a fresh
 *   runtime store (`withLocalStorage`, the mechanism the Automation API uses for inline
 *   programs), so `up` can be called any number of times in one process, under jest or node.
 * - Every dynamic resource goes through Pulumi's real dynamic-provider host (providerHost.ts):
 *   Check, then Create, or Diff and then Update / replace / nothing, as the engine does.
 * - tls resources come from the tls double (real keys and certificates); Kubernetes objects
 *   and providers are recorded (inputs as outputs).
 */
import * as pulumi from "@pulumi/pulumi";
import type * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { randomBytes, randomUUID } from "crypto";
import * as vm from "vm";
import { DynamicProviderHost, HostOptions, PropertyMap, ProviderCallError, ProviderOp, ResourceRef } from "./providerHost";
import { TLS_SECRET_OUTPUTS, createTlsResource, isTlsType, tlsNeedsRenewal } from "./tlsDouble";
import { createLimiter } from "../../components/util/concurrency";
import * as wire from "./wire";
import { WireMap } from "./wire";

export { WireMap, WireValue } from "./wire";

// ------------------------------------------------------------------------------------------
// Public types
// ------------------------------------------------------------------------------------------

export type ResourceKind = "stack" | "component" | "dynamic" | "tls" | "kubernetes" | "provider";

/** One resource in the state, as the engine's checkpoint holds it (secrets stay wrapped). */
export interface ResourceState {
    urn: string;
    type: string;
    name: string;
    kind: ResourceKind;
    custom: boolean;
    /** Provider id (null for components and the stack). */
    id: string | null;
    parent: string | null;
    /** Explicit provider reference `urn::id`, if any. */
    provider: string | null;
    /** URNs the SDK reported as dependencies (dependsOn + property dependencies). */
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    /** Inputs after Check (dynamic), else as registered; resource references replaced by id/urn. */
    inputs: WireMap;
    outputs: WireMap;
    secretInputPaths: string[];
    secretOutputPaths: string[];
    additionalSecretOutputs: string[];
    deleteBeforeReplace: boolean;
    /** Reasons of an initialization failure; such a resource is always Updated next `up`. */
    initErrors: string[];
    /** The old copy of a create-before-delete replacement that is still to be deleted. */
    pendingDelete: boolean;
}

/** The checkpoint: resources in dependency order (every resource after what it depends on). */
export interface HarnessState {
    version: 1;
    project: string;
    stack: string;
    resources: ResourceState[];
}

export type Command = "up" | "refresh" | "destroy";

/** One provider call (real: through the host; emulated: tls/kubernetes/provider doubles). */
export interface JournalEntry {
    /** Increases with every start and end of an entry (harness-wide): orders calls exactly. */
    startSeq: number;
    endSeq: number;
    run: number;
    command: Command;
    op: ProviderOp;
    urn: string;
    type: string;
    name: string;
    emulated: boolean;
    startedAt: number;
    durationMs: number;
    error: string | null;
}

export type StepOp = "create" | "update" | "same" | "replace" | "delete" | "read";

/** What happened to a resource in one operation. */
export interface StepRecord {
    urn: string;
    type: string;
    name: string;
    op: StepOp;
    ok: boolean;
    error: string | null;
}

export interface StepFailure {
    urn: string;
    type: string;
    name: string;
    op: StepOp;
    message: string;
}

export interface OperationResult {
    command: Command;
    run: number;
    journal: JournalEntry[];
    steps: StepRecord[];
    durationMs: number;
}

export interface UpResult extends OperationResult {
    /** Stack outputs, secrets unwrapped. */
    outputs: Record<string, unknown>;
    /** Paths in `outputs` that were secret (e.g. `key`, `nodes[0].pem`). */
    secretOutputs: string[];
    timings: {
        /** Fresh runtime store + setMocks + config. */
        runtimeResetMs: number;
        /** From starting the program until it and every registration settled. */
        programMs: number;
        /** Deleting what the program no longer registers (and replaced originals). */
        deleteMs: number;
    };
}

/** An operation that failed: every failure, what succeeded is in the state. */
export class HarnessError extends Error {
    constructor(
        readonly command: Command,
        readonly failures: StepFailure[],
        readonly programError: string | null,
        readonly result: OperationResult,
    ) {
        const lines = failures.map((f) => `  ${f.name} [${f.type}] ${f.op}: ${f.message.split("\n").join("\n    ")}`);
        if (programError) lines.push(`  program: ${programError.split("\n").join("\n    ")}`);
        super(`${command} failed (${failures.length} resource failure(s)${programError ? " and a program error" : ""}):\n${lines.join("\n")}`);
        this.name = "HarnessError";
    }
}

export type ProgramOutputs = Record<string, unknown>;
/** A Pulumi program: builds resources, returns the stack outputs (may be Outputs). */
export type Program = () => Promise<ProgramOutputs | void> | ProgramOutputs | void;

/** Config values: strings as they are; anything else as JSON (structured config). */
export type ConfigMap = Record<string, unknown>;

export interface HarnessOptions {
    project?: string;
    stack?: string;
    /** Start from this state (e.g. a previous harness's `snapshot()`). */
    state?: HarnessState;
    /**
     * "per-harness" (default): one host, started on first use, stopped by close();
     * "per-operation": a fresh host for every up/refresh/destroy (like the CLI);
     * a DynamicProviderHost: shared with other harnesses, never stopped by this one.
     */
    host?: "per-harness" | "per-operation" | DynamicProviderHost;
    hostOptions?: HostOptions;
    /** The harness clock when an operation gives no `now` (tls validity and renewal). */
    now?: () => Date;
    /** After a failure, end the run once nothing happened for this long. Default 250 ms. */
    settleMs?: number;
    /** Give up on a program that neither settles nor fails. Default 10 min. */
    programTimeoutMs?: number;
    /** At most this many dynamic-resource steps at once (the engine's --parallel). Default unbounded. */
    parallel?: number;
}

export interface UpOptions {
    /** `key` (project namespace) or `namespace:key` -> value. */
    config?: ConfigMap;
    /** Config keys (as given) that are secret. */
    secretConfig?: string[];
    /** The harness clock for this run. */
    now?: Date;
    /** Resources (name or URN) to replace even without changes, like `pulumi up --replace`. */
    replace?: string[];
}

export interface RefreshOptions {
    /** Config for the host's Configure; default: the last `up`'s. */
    config?: ConfigMap;
}

export interface KubernetesSecretView {
    urn: string;
    resourceName: string;
    namespace: string;
    name: string;
    type: string | null;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** Decoded content (data merged with stringData). */
    data: Record<string, string>;
}

export interface StringOccurrence {
    urn: string;
    type: string;
    name: string;
    field: "inputs" | "outputs";
    path: string;
    value: string;
}

// ------------------------------------------------------------------------------------------
// SDK internals used (pinned @pulumi/pulumi 3.248)
// ------------------------------------------------------------------------------------------

interface RuntimeStore {
    settings: { rpcDone: Promise<unknown> };
    leakCandidates: Set<unknown>;
    terminated: boolean;
}

interface RuntimeStateModule {
    withLocalStorage<T>(callback: () => Promise<T>): Promise<T>;
    getStore(): RuntimeStore;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeState = require("@pulumi/pulumi/runtime/state") as RuntimeStateModule;

type MonitorCallback = (error: unknown, response: unknown) => void;

interface PatchableMonitor {
    registerResource(request: resproto.RegisterResourceRequest, callback: MonitorCallback): unknown;
    registerResourceOutputs(request: resproto.RegisterResourceOutputsRequest, callback: MonitorCallback): unknown;
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** A step failure; `op` is the step that failed. */
class StepError extends Error {
    constructor(
        readonly op: StepOp,
        message: string,
    ) {
        super(message);
    }
}

function kindOf(type: string, custom: boolean): ResourceKind | null {
    if (type === "pulumi:pulumi:Stack") return "stack";
    if (!custom) return "component";
    if (type.startsWith("pulumi-nodejs:dynamic")) return "dynamic";
    if (isTlsType(type)) return "tls";
    if (type.startsWith("pulumi:providers:")) return "provider";
    if (type.startsWith("kubernetes:")) return "kubernetes";
    return null;
}

/** The URN the mock monitor (and the engine) gives a resource. */
function urnOf(project: string, stack: string, parent: string | null, type: string, name: string): string {
    let qualified = type;
    if (parent) {
        const parentType = parent.split("::")[2].split("$").pop() ?? "";
        qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

function withPaths(r: ResourceState): ResourceState {
    r.secretInputPaths = wire.secretPaths(r.inputs);
    r.secretOutputPaths = wire.secretPaths(r.outputs);
    return r;
}

function refOf(r: { urn: string; type: string; name: string }): ResourceRef {
    return { urn: r.urn, type: r.type, name: r.name };
}


/**
 * Swaps the REAL process's unhandledRejection listeners for a recorder during a run. The SDK
 * leaves rejected promises nobody awaits when a registration fails; plain node would crash
 * and jest-circus would fail the test. Under jest, `process` is a copy: the real one is
 * reached through the main context.
 */
function captureUnhandledRejections(): { stop(): Promise<unknown[]> } {
    const real = vm.runInThisContext("process") as NodeJS.Process;
    const saved = real.listeners("unhandledRejection") as Array<(...args: unknown[]) => void>;
    real.removeAllListeners("unhandledRejection");
    const seen: unknown[] = [];
    const recorder = (reason: unknown): void => {
        seen.push(reason);
    };
    real.on("unhandledRejection", recorder);
    return {
        async stop() {
            await new Promise<void>((resolve) => setImmediate(resolve));
            await sleep(5);
            real.removeListener("unhandledRejection", recorder);
            for (const listener of saved) real.on("unhandledRejection", listener);
            return seen;
        },
    };
}

interface OpContext {
    command: Command;
    run: number;
    now: Date;
    config: Record<string, string>;
    journal: JournalEntry[];
    steps: StepRecord[];
    failures: StepFailure[];
    configured: Promise<unknown> | null;
    startedAt: number;
}

interface Registration {
    urn: string;
    type: string;
    name: string;
    kind: ResourceKind | null;
    custom: boolean;
    parent: string | null;
    provider: string | null;
    inputs: WireMap;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    additionalSecretOutputs: string[];
    deleteBeforeReplace: boolean;
}

// ------------------------------------------------------------------------------------------
// The harness
// ------------------------------------------------------------------------------------------

export class Harness {
    readonly project: string;
    readonly stack: string;
    /** Every provider call of every operation, in start order. */
    readonly journal: JournalEntry[] = [];
    private current: HarnessState;
    private hostPromise: Promise<DynamicProviderHost> | null = null;
    private readonly hostLines: string[] = [];
    private readonly limit: <T>(task: () => Promise<T>) => Promise<T>;
    private runs = 0;
    private seq = 0;
    private busy = false;
    private lastConfig: ConfigMap = {};

    constructor(private readonly options: HarnessOptions = {}) {
        this.project = options.state?.project ?? options.project ?? "project";
        this.stack = options.state?.stack ?? options.stack ?? "stack";
        this.current = options.state ? (JSON.parse(JSON.stringify(options.state)) as HarnessState) : { version: 1, project: this.project, stack: this.stack, resources: [] };
        const limiter = createLimiter(options.parallel ?? Number.POSITIVE_INFINITY);
        this.limit = (task) => limiter.run(task);
    }

    /** The current state (treat as read-only; `snapshot()` for a copy). */
    get state(): HarnessState {
        return this.current;
    }

    /** A deep copy of the state, e.g. to start another Harness from it. */
    snapshot(): HarnessState {
        return JSON.parse(JSON.stringify(this.current)) as HarnessState;
    }

    /** Lines the dynamic-provider host(s) printed (provider logs, errors). */
    get hostLog(): readonly string[] {
        return this.hostLines;
    }

    resourcesOfType(type: string): ResourceState[] {
        return this.current.resources.filter((r) => r.type === type && !r.pendingDelete);
    }

    /** A resource by name (or URN); throws if absent or ambiguous. */
    resource(nameOrUrn: string): ResourceState {
        const found = this.current.resources.filter((r) => !r.pendingDelete && (r.urn === nameOrUrn || r.name === nameOrUrn));
        if (found.length !== 1) throw new Error(`harness: ${found.length} resources named ${nameOrUrn}`);
        return found[0];
    }

    /** Plain outputs of a resource (secrets unwrapped). */
    outputsOf(nameOrUrn: string): Record<string, unknown> {
        return wire.unwrapMap(this.resource(nameOrUrn).outputs);
    }

    /** Kubernetes Secrets as recorded (what the cluster would hold). */
    kubernetesSecrets(): KubernetesSecretView[] {
        return this.resourcesOfType("kubernetes:core/v1:Secret").map((r) => {
            const o = wire.unwrapMap(r.outputs) as {
                metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
                type?: string;
                data?: Record<string, string>;
                stringData?: Record<string, string>;
            };
            const data: Record<string, string> = {};
            for (const [k, v] of Object.entries(o.data ?? {})) data[k] = Buffer.from(v, "base64").toString("utf8");
            Object.assign(data, o.stringData ?? {});
            return {
                urn: r.urn,
                resourceName: r.name,
                namespace: o.metadata?.namespace ?? "default",
                name: o.metadata?.name ?? "",
                type: o.type ?? null,
                labels: o.metadata?.labels ?? {},
                annotations: o.metadata?.annotations ?? {},
                data,
            };
        });
    }

    /** Every string in the state (inputs, outputs, `__provider` code) that is not inside a secret. */
    stringsOutsideSecrets(): StringOccurrence[] {
        return stringsOutsideSecrets(this.current);
    }

    // --------------------------------------------------------------------------------------
    // Operations
    // --------------------------------------------------------------------------------------

    /** Runs the program and applies it: like `pulumi up --yes --skip-preview`. */
    async up(program: Program, options: UpOptions = {}): Promise<UpResult> {
        return this.exclusive(async () => {
            this.lastConfig = options.config ?? {};
            const ctx = this.context("up", options.config ?? {}, options.now);
            // Originals of replacements that an earlier run could not delete go first.
            const pending = this.current.resources.filter((r) => r.pendingDelete);
            if (pending.length > 0) {
                const kept = await this.deleteResources(ctx, pending, this.current.resources);
                this.current = { ...this.current, resources: this.current.resources.filter((r) => !r.pendingDelete || kept.has(r)) };
                if (ctx.failures.length > 0) throw new HarnessError("up", ctx.failures, null, this.result(ctx));
            }
            const run = new ProgramRun(this, ctx, this.current.resources, {
                settleMs: this.options.settleMs ?? 250,
                timeoutMs: this.options.programTimeoutMs ?? 600_000,
                replace: new Set(options.replace ?? []),
            });
            const outcome = await run.execute(program, options);
            const failed = ctx.failures.length > 0 || outcome.programError !== null;
            const unregistered = this.current.resources.filter((r) => !r.pendingDelete && !run.seen.has(r.urn));
            let resources: ResourceState[];
            const deleteStart = Date.now();
            if (failed) {
                // Like the engine: nothing is deleted after a failure (the program did not finish).
                resources = [...run.records, ...unregistered, ...run.pendingDeletes.map((r) => ({ ...r, pendingDelete: true }))];
            } else {
                const doomed = [...unregistered, ...run.pendingDeletes];
                const kept = await this.deleteResources(ctx, doomed, [...run.records, ...doomed]);
                resources = [...run.records, ...unregistered.filter((r) => kept.has(r)), ...run.pendingDeletes.filter((r) => kept.has(r)).map((r) => ({ ...r, pendingDelete: true }))];
            }
            const deleteMs = Date.now() - deleteStart;
            this.current = { version: 1, project: this.project, stack: this.stack, resources };
            const stackOutputs = run.stackOutputs ?? {};
            const result: UpResult = {
                ...this.result(ctx),
                outputs: wire.unwrapMap(stackOutputs),
                secretOutputs: wire.secretPaths(stackOutputs),
                timings: { runtimeResetMs: outcome.runtimeResetMs, programMs: outcome.programMs, deleteMs },
            };
            if (ctx.failures.length > 0 || outcome.programError !== null) throw new HarnessError("up", ctx.failures, outcome.programError, result);
            return result;
        });
    }

    /** Reads every dynamic resource through its provider (`pulumi refresh`); others unchanged. */
    async refresh(options: RefreshOptions = {}): Promise<OperationResult> {
        return this.exclusive(async () => {
            const ctx = this.context("refresh", options.config ?? this.lastConfig);
            const next = await Promise.all(
                this.current.resources.map(async (r): Promise<ResourceState | null> => {
                    if (r.kind !== "dynamic") return r;
                    try {
                        const host = await this.hostFor(ctx);
                        const read = await this.limit(() =>
                            this.journaled(ctx, "read", r, false, () => host.read(refOf(r), r.id ?? "", wire.unwrapMap(r.outputs) as PropertyMap, wire.unwrapMap(r.inputs) as PropertyMap)),
                        );
                        ctx.steps.push({ ...refOf(r), op: "read", ok: true, error: null });
                        if (!read.id) return null; // gone
                        const outputs = wire.markSecret(wire.annotateSecrets(wire.annotateSecrets(wire.toWireMap(read.properties), r.outputs), r.inputs), r.additionalSecretOutputs);
                        const inputs = read.inputs ? wire.annotateSecrets(wire.toWireMap(read.inputs), r.inputs) : r.inputs;
                        return withPaths({ ...r, id: read.id, inputs, outputs, initErrors: [] });
                    } catch (e) {
                        this.fail(ctx, r, "read", messageOf(e));
                        return r;
                    }
                }),
            );
            this.current = { ...this.current, resources: next.filter((r): r is ResourceState => r !== null) };
            const result = this.result(ctx);
            if (ctx.failures.length > 0) throw new HarnessError("refresh", ctx.failures, null, result);
            return result;
        });
    }

    /** Deletes everything, dependents first (`pulumi destroy`). */
    async destroy(options: RefreshOptions = {}): Promise<OperationResult> {
        return this.exclusive(async () => {
            const ctx = this.context("destroy", options.config ?? this.lastConfig);
            const all = this.current.resources;
            const kept = await this.deleteResources(ctx, all, all);
            this.current = { ...this.current, resources: all.filter((r) => kept.has(r)) };
            const result = this.result(ctx);
            if (ctx.failures.length > 0) throw new HarnessError("destroy", ctx.failures, null, result);
            return result;
        });
    }

    /** Stops the host it started (if any). The harness stays usable; a host starts on demand. */
    async close(): Promise<void> {
        const host = this.hostPromise;
        this.hostPromise = null;
        if (host && !(this.options.host instanceof DynamicProviderHost)) await host.then((h) => h.stop(), () => undefined);
    }

    /** Pid of the host this harness is using now, if one is running. */
    async hostPid(): Promise<number | null> {
        const host = this.hostPromise ? await this.hostPromise.catch(() => null) : null;
        return host && host.running ? host.pid : null;
    }

    // --------------------------------------------------------------------------------------
    // Internals shared with ProgramRun
    // --------------------------------------------------------------------------------------

    /** @internal */
    async hostFor(ctx: OpContext): Promise<DynamicProviderHost> {
        if (this.options.host instanceof DynamicProviderHost) this.hostPromise = Promise.resolve(this.options.host);
        if (!this.hostPromise) {
            const userLog = this.options.hostOptions?.onLog;
            this.hostPromise = DynamicProviderHost.start({
                ...this.options.hostOptions,
                onLog: (line) => {
                    this.hostLines.push(line);
                    userLog?.(line);
                },
            });
            this.hostPromise.catch(() => {
                this.hostPromise = null;
            });
        }
        const host = await this.hostPromise;
        if (!ctx.configured) {
            ctx.configured = this.journaled(ctx, "configure", { urn: "", type: "pulumi:providers:pulumi-nodejs", name: "default" }, false, () => host.configure(ctx.config));
        }
        await ctx.configured;
        return host;
    }

    /** @internal */
    runLimited<T>(task: () => Promise<T>): Promise<T> {
        return this.limit(task);
    }

    /** @internal Records a provider call in the journal. */
    async journaled<T>(ctx: OpContext, op: ProviderOp, r: { urn: string; type: string; name: string }, emulated: boolean, call: () => Promise<T>): Promise<T> {
        const entry: JournalEntry = {
            startSeq: this.seq++,
            endSeq: -1,
            run: ctx.run,
            command: ctx.command,
            op,
            urn: r.urn,
            type: r.type,
            name: r.name,
            emulated,
            startedAt: Date.now(),
            durationMs: 0,
            error: null,
        };
        this.journal.push(entry);
        ctx.journal.push(entry);
        try {
            return await call();
        } catch (e) {
            entry.error = messageOf(e);
            throw e;
        } finally {
            entry.durationMs = Date.now() - entry.startedAt;
            entry.endSeq = this.seq++;
        }
    }

    /** @internal */
    fail(ctx: OpContext, r: { urn: string; type: string; name: string }, op: StepOp, message: string): void {
        ctx.failures.push({ ...refOf(r), op, message });
        ctx.steps.push({ ...refOf(r), op, ok: false, error: message });
    }

    private context(command: Command, config: ConfigMap, now?: Date): OpContext {
        return {
            command,
            run: ++this.runs,
            now: now ?? this.options.now?.() ?? new Date(),
            config: this.configVariables(config),
            journal: [],
            steps: [],
            failures: [],
            configured: null,
            startedAt: Date.now(),
        };
    }

    private result(ctx: OpContext): OperationResult {
        return { command: ctx.command, run: ctx.run, journal: ctx.journal, steps: ctx.steps, durationMs: Date.now() - ctx.startedAt };
    }

    /** `key` -> `project:key`; non-strings as JSON, as the CLI passes structured config. */
    configVariables(config: ConfigMap): Record<string, string> {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(config)) {
            if (v === undefined) continue;
            out[k.includes(":") ? k : `${this.project}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
        }
        return out;
    }

    private async exclusive<T>(operation: () => Promise<T>): Promise<T> {
        if (this.busy) throw new Error("harness: another operation is still running");
        this.busy = true;
        try {
            return await operation();
        } finally {
            if (this.options.host === "per-operation") await this.close();
            this.busy = false;
        }
    }

    /**
     * Deletes `doomed` with the engine's ordering: a resource only after every doomed resource
     * that depends on it (dependencies, parent, provider, property dependencies, transitively,
     * over `universe`) is gone; independent deletions run in parallel. Returns the ones kept
     * (failed, or blocked by a dependent that failed).
     */
    private async deleteResources(ctx: OpContext, doomed: ResourceState[], universe: ResourceState[]): Promise<Set<ResourceState>> {
        const byUrn = new Map<string, ResourceState[]>();
        for (const r of universe) byUrn.set(r.urn, [...(byUrn.get(r.urn) ?? []), r]);
        const direct = (r: ResourceState): string[] => [
            ...r.dependencies,
            ...(r.parent ? [r.parent] : []),
            ...(r.provider ? [r.provider.split("::").slice(0, -1).join("::")] : []),
            ...Object.values(r.propertyDependencies).flat(),
        ];
        const transitive = (r: ResourceState): Set<string> => {
            const seen = new Set<string>();
            const stack = direct(r);
            while (stack.length > 0) {
                const urn = stack.pop() as string;
                if (seen.has(urn)) continue;
                seen.add(urn);
                for (const d of byUrn.get(urn) ?? []) stack.push(...direct(d));
            }
            return seen;
        };
        const deps = new Map(doomed.map((r) => [r, transitive(r)]));
        const order = new Map(doomed.map((r, i) => [r, i]));
        const dependentsOf = (r: ResourceState): ResourceState[] =>
            doomed.filter((d) => {
                if (d === r || !(deps.get(d) as Set<string>).has(r.urn)) return false;
                // A cycle (should not happen): the later one in state order goes first.
                const mutual = (deps.get(r) as Set<string>).has(d.urn);
                return !mutual || (order.get(d) as number) > (order.get(r) as number);
            });
        const kept = new Set<ResourceState>();
        const done = new Map<ResourceState, Promise<boolean>>();
        const remove = (r: ResourceState): Promise<boolean> => {
            let p = done.get(r);
            if (!p) {
                p = (async () => {
                    const results = await Promise.all(dependentsOf(r).map(remove));
                    if (!results.every(Boolean)) {
                        kept.add(r);
                        return false;
                    }
                    try {
                        await this.deleteOne(ctx, r);
                        ctx.steps.push({ ...refOf(r), op: "delete", ok: true, error: null });
                        return true;
                    } catch (e) {
                        kept.add(r);
                        this.fail(ctx, r, "delete", messageOf(e));
                        return false;
                    }
                })();
                done.set(r, p);
            }
            return p;
        };
        await Promise.all(doomed.map(remove));
        return kept;
    }

    private async deleteOne(ctx: OpContext, r: ResourceState): Promise<void> {
        if (r.kind === "stack" || r.kind === "component") return;
        if (r.kind !== "dynamic") {
            await this.journaled(ctx, "delete", r, true, async () => undefined);
            return;
        }
        const host = await this.hostFor(ctx);
        await this.limit(() => this.journaled(ctx, "delete", r, false, () => host.delete(refOf(r), r.id ?? "", wire.unwrapMap(r.outputs) as PropertyMap, wire.unwrapMap(r.inputs) as PropertyMap)));
    }
}

// ------------------------------------------------------------------------------------------
// One program run (the `up` step generator)
// ------------------------------------------------------------------------------------------

class ProgramRun {
    /** The new state, in completion order (dependencies first). */
    readonly records: ResourceState[] = [];
    /** URNs the program registered (whatever the outcome). */
    readonly seen = new Set<string>();
    /** Old copies of create-before-delete replacements. */
    readonly pendingDeletes: ResourceState[] = [];
    /** Old resources deleted during the run (delete-before-replace). */
    private readonly deletedOld = new Set<ResourceState>();
    stackOutputs: WireMap | null = null;
    private readonly old = new Map<string, ResourceState>();
    private readonly byUrn = new Map<string, ResourceState>();
    private pendingRequest: resproto.RegisterResourceRequest | null = null;
    private inflight = 0;
    private lastActivity = Date.now();
    /** Set once the run is over: a straggling registration is refused, not applied. */
    private finished = false;

    constructor(
        private readonly harness: Harness,
        private readonly ctx: OpContext,
        base: ResourceState[],
        private readonly limits: { settleMs: number; timeoutMs: number; replace: Set<string> },
    ) {
        for (const r of base) if (!r.pendingDelete) this.old.set(r.urn, r);
    }

    async execute(program: Program, options: UpOptions): Promise<{ programError: string | null; runtimeResetMs: number; programMs: number }> {
        const h = this.harness;
        const { settleMs, timeoutMs } = this.limits;
        const rejections = captureUnhandledRejections();
        const t0 = Date.now();
        let runtimeResetMs = 0;
        let programError: unknown = undefined;
        let hasProgramError = false;
        let timedOut = false;
        try {
            await runtimeState.withLocalStorage(async () => {
                const mocks: pulumi.runtime.Mocks = {
                    newResource: (args) => {
                        const request = this.pendingRequest;
                        this.pendingRequest = null;
                        if (!request) return Promise.reject(new Error(`harness: reading existing resources (${args.type} ${args.name}) is not supported`));
                        if (this.finished) return Promise.reject(new Error(`harness: ${args.name} registered after the run ended`));
                        return this.register(request);
                    },
                    call: (args) => {
                        throw new Error(`harness: invoke ${args.token} is not supported`);
                    },
                };
                await pulumi.runtime.setMocks(mocks, h.project, h.stack, false);
                pulumi.runtime.setAllConfig(h.configVariables(options.config ?? {}), (options.secretConfig ?? []).map((k) => (k.includes(":") ? k : `${h.project}:${k}`)));
                this.patchMonitor(pulumi.runtime.getMonitor() as unknown as PatchableMonitor);
                const store = runtimeState.getStore();
                runtimeResetMs = Date.now() - t0;

                let settled = false;
                pulumi.runtime
                    .runInPulumiStack(async () => (await program()) ?? {})
                    .then(
                        () => {
                            settled = true;
                        },
                        (e: unknown) => {
                            settled = true;
                            hasProgramError = true;
                            programError = e;
                        },
                    );
                // Every registration keeps the SDK's rpcDone chain open until it settles.
                let watched: Promise<unknown> | null = null;
                let rpcsDone = false;
                for (;;) {
                    await sleep(3);
                    const head = store.settings.rpcDone;
                    if (head !== watched) {
                        watched = head;
                        rpcsDone = false;
                        void head.then(() => {
                            if (watched === head) rpcsDone = true;
                        });
                    }
                    if (this.inflight > 0) continue;
                    if (settled && rpcsDone && store.settings.rpcDone === watched) break;
                    // After a failure, dependents never register (their inputs never resolve)
                    // and the program may never settle: end once nothing moves.
                    if ((this.ctx.failures.length > 0 || hasProgramError) && Date.now() - this.lastActivity >= settleMs) break;
                    if (Date.now() - t0 > timeoutMs) {
                        timedOut = true;
                        break;
                    }
                }
                this.finished = true;
                // The runtime store of this run is dropped; silence its leak report at exit.
                store.leakCandidates = new Set();
                store.terminated = true;
            });
        } finally {
            const unhandled = await rejections.stop();
            const known = this.ctx.failures.map((f) => f.message);
            const cascade = (m: string): boolean => m.includes("failed to register new resource") || known.some((k) => m.includes(k));
            const extra = unhandled.map(messageOf).filter((m) => !cascade(m) && !(hasProgramError && m === messageOf(programError)));
            if (extra.length > 0 && !hasProgramError) {
                hasProgramError = true;
                programError = new Error(`unhandled rejection(s) in the program: ${[...new Set(extra)].join("; ")}`);
            }
        }
        let message: string | null = null;
        if (timedOut) message = `the program did not finish within ${timeoutMs} ms`;
        else if (hasProgramError) {
            const m = messageOf(programError);
            // A stack output that depends on a failed resource: already reported as that failure.
            message = this.ctx.failures.length > 0 && (m.includes("failed to register new resource") || this.ctx.failures.some((f) => m.includes(f.message))) ? null : m;
        }
        return { programError: message, runtimeResetMs, programMs: Date.now() - t0 - runtimeResetMs };
    }

    private patchMonitor(monitor: PatchableMonitor): void {
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (request, callback) => {
            // MockMonitor calls mocks.newResource synchronously: hand it the raw request.
            this.pendingRequest = request;
            try {
                return register(request, callback);
            } finally {
                this.pendingRequest = null;
            }
        };
        const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
        monitor.registerResourceOutputs = (request, callback) => {
            const urn = request.getUrn();
            const outputs = wire.dereference(wire.toWire(request.getOutputs()?.toJavaScript() ?? {})) as WireMap;
            const record = this.byUrn.get(urn);
            if (record) {
                record.outputs = outputs;
                withPaths(record);
                if (record.kind === "stack") this.stackOutputs = outputs;
            }
            return registerOutputs(request, callback);
        };
    }

    private registration(request: resproto.RegisterResourceRequest): Registration {
        const type = request.getType();
        const name = request.getName();
        const custom = request.getCustom();
        const parent = request.getParent() || null;
        const propertyDependencies: Record<string, string[]> = {};
        request.getPropertydependenciesMap().forEach((deps, key) => {
            const urns = deps.getUrnsList();
            if (urns.length > 0) propertyDependencies[key] = urns;
        });
        return {
            urn: urnOf(this.harness.project, this.harness.stack, parent, type, name),
            type,
            name,
            kind: kindOf(type, custom),
            custom,
            parent,
            provider: request.getProvider() || null,
            inputs: wire.dereference(wire.toWire(request.getObject()?.toJavaScript() ?? {})) as WireMap,
            dependencies: request.getDependenciesList(),
            propertyDependencies,
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
        };
    }

    private record(reg: Registration, fields: { id: string | null; inputs: WireMap; outputs: WireMap; initErrors?: string[] }): ResourceState {
        return withPaths({
            urn: reg.urn,
            type: reg.type,
            name: reg.name,
            kind: reg.kind as ResourceKind,
            custom: reg.custom,
            id: fields.id,
            parent: reg.parent,
            provider: reg.provider,
            dependencies: reg.dependencies,
            propertyDependencies: reg.propertyDependencies,
            inputs: fields.inputs,
            outputs: fields.outputs,
            secretInputPaths: [],
            secretOutputPaths: [],
            additionalSecretOutputs: reg.additionalSecretOutputs,
            deleteBeforeReplace: reg.deleteBeforeReplace,
            initErrors: fields.initErrors ?? [],
            pendingDelete: false,
        });
    }

    private keep(record: ResourceState): void {
        this.records.push(record);
        this.byUrn.set(record.urn, record);
    }

    /** Named in `replace` (`pulumi up --replace`). */
    private forced(reg: Registration): boolean {
        return this.limits.replace.has(reg.name) || this.limits.replace.has(reg.urn);
    }

    private step(reg: Registration, op: StepOp): void {
        this.ctx.steps.push({ urn: reg.urn, type: reg.type, name: reg.name, op, ok: true, error: null });
    }

    /** The mock's newResource: one engine step for one registration. */
    private async register(request: resproto.RegisterResourceRequest): Promise<pulumi.runtime.MockResourceResult> {
        const reg = this.registration(request);
        if (this.seen.has(reg.urn)) {
            this.harness.fail(this.ctx, reg, "create", `duplicate resource URN ${reg.urn}`);
            throw new Error(`duplicate resource URN ${reg.urn}`);
        }
        this.seen.add(reg.urn);
        this.inflight++;
        this.lastActivity = Date.now();
        const old = this.old.get(reg.urn);
        try {
            let record: ResourceState;
            switch (reg.kind) {
                case "stack":
                case "component":
                    // Outputs arrive with registerResourceOutputs.
                    record = this.record(reg, { id: null, inputs: reg.inputs, outputs: old?.outputs ?? {} });
                    break;
                case "dynamic":
                    record = await this.harness.runLimited(() => this.dynamicStep(reg, old));
                    break;
                case "tls":
                    record = await this.tlsStep(reg, old);
                    break;
                case "kubernetes":
                    record = await this.kubernetesStep(reg, old);
                    break;
                case "provider":
                    record = await this.providerStep(reg, old);
                    break;
                default:
                    throw new StepError(old ? "update" : "create", `harness: no emulation for resource type ${reg.type}`);
            }
            this.keep(record);
            return { id: record.id ?? undefined, state: record.outputs };
        } catch (e) {
            const message = messageOf(e);
            // A failed step leaves an existing resource as it was (unless it was already
            // replaced by an init-failed new one, or deleted before replacement).
            if (old && !this.byUrn.has(reg.urn) && !this.pendingDeletes.includes(old) && !this.deletedOld.has(old)) this.keep(old);
            this.harness.fail(this.ctx, reg, e instanceof StepError ? e.op : old ? "update" : "create", message);
            throw new Error(message);
        } finally {
            this.inflight--;
            this.lastActivity = Date.now();
        }
    }

    private async dynamicStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        const ctx = this.ctx;
        const host = await this.harness.hostFor(ctx);
        const ref = refOf(reg);
        const news = wire.unwrapMap(reg.inputs) as PropertyMap;
        const oldInputs = old ? (wire.unwrapMap(old.inputs) as PropertyMap) : {};
        const checked = await this.harness.journaled(ctx, "check", reg, false, () => host.check(ref, oldInputs, news));
        if (checked.failures.length > 0) {
            throw new StepError(old ? "update" : "create", `check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
        }
        const inputs = wire.annotateSecrets(wire.toWireMap(checked.inputs), reg.inputs);
        if (!old) return this.dynamicCreate(reg, host, inputs, checked.inputs, "create");

        const oldOutputs = wire.unwrapMap(old.outputs) as PropertyMap;
        const diff = await this.harness.journaled(ctx, "diff", reg, false, () => host.diff(ref, old.id ?? "", oldOutputs, checked.inputs, oldInputs));
        // DIFF_UNKNOWN (no diff() in the provider): the engine compares the inputs itself.
        const changed = diff.changes === "some" || (diff.changes === "unknown" && !wire.deepEqual(oldInputs, checked.inputs));
        if (diff.replaces.length > 0 || this.forced(reg)) {
            if (diff.deleteBeforeReplace || reg.deleteBeforeReplace) {
                try {
                    await this.harness.journaled(ctx, "delete", reg, false, () => host.delete(ref, old.id ?? "", oldOutputs, oldInputs));
                } catch (e) {
                    throw new StepError("replace", `delete (before replace) failed: ${messageOf(e)}`);
                }
                this.deletedOld.add(old);
                return this.dynamicCreate(reg, host, inputs, checked.inputs, "replace");
            }
            try {
                const created = await this.dynamicCreate(reg, host, inputs, checked.inputs, "replace");
                this.pendingDeletes.push(old);
                return created;
            } catch (e) {
                // An init failure recorded the new resource: the original goes (else it stays).
                if (this.byUrn.has(reg.urn)) this.pendingDeletes.push(old);
                throw e;
            }
        }
        if (changed || old.initErrors.length > 0) return this.dynamicUpdate(reg, host, old, inputs, checked.inputs);
        this.step(reg, "same");
        return this.record(reg, { id: old.id, inputs, outputs: old.outputs });
    }

    private finishOutputs(reg: Registration, properties: PropertyMap, inputs: WireMap): WireMap {
        return wire.markSecret(wire.annotateSecrets(wire.toWireMap(properties), inputs), reg.additionalSecretOutputs);
    }

    private async dynamicCreate(reg: Registration, host: DynamicProviderHost, inputs: WireMap, plain: PropertyMap, op: "create" | "replace"): Promise<ResourceState> {
        try {
            const created = await this.harness.journaled(this.ctx, "create", reg, false, () => host.create(refOf(reg), plain));
            this.step(reg, op);
            return this.record(reg, { id: created.id, inputs, outputs: this.finishOutputs(reg, created.properties, inputs) });
        } catch (e) {
            if (e instanceof ProviderCallError && e.initFailure) {
                const init = e.initFailure;
                this.keep(this.record(reg, { id: init.id, inputs, outputs: this.finishOutputs(reg, init.properties, inputs), initErrors: init.reasons.length > 0 ? init.reasons : [e.message] }));
            }
            throw new StepError(op, messageOf(e));
        }
    }

    private async dynamicUpdate(reg: Registration, host: DynamicProviderHost, old: ResourceState, inputs: WireMap, plain: PropertyMap): Promise<ResourceState> {
        try {
            const updated = await this.harness.journaled(this.ctx, "update", reg, false, () =>
                host.update(refOf(reg), old.id ?? "", wire.unwrapMap(old.outputs) as PropertyMap, plain, wire.unwrapMap(old.inputs) as PropertyMap),
            );
            this.step(reg, "update");
            return this.record(reg, { id: old.id, inputs, outputs: this.finishOutputs(reg, updated.properties, inputs) });
        } catch (e) {
            if (e instanceof ProviderCallError && e.initFailure) {
                const init = e.initFailure;
                this.keep(this.record(reg, { id: old.id, inputs, outputs: this.finishOutputs(reg, init.properties, inputs), initErrors: init.reasons.length > 0 ? init.reasons : [e.message] }));
            }
            throw new StepError("update", messageOf(e));
        }
    }

    /** Same inputs and not due for renewal: same outputs; otherwise a new key/cert (replace). */
    private async tlsStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        const type = reg.type;
        if (!isTlsType(type)) throw new StepError("create", `not a tls type: ${type}`);
        const plain = wire.unwrapMap(reg.inputs);
        if (old && !this.forced(reg) && wire.deepEqual(wire.unwrapMap(old.inputs), plain) && !tlsNeedsRenewal(type, wire.unwrapMap(old.outputs), this.ctx.now)) {
            this.step(reg, "same");
            return this.record(reg, { id: old.id, inputs: reg.inputs, outputs: old.outputs });
        }
        const now = this.ctx.now;
        const made = await this.harness.journaled(this.ctx, "create", reg, true, () => createTlsResource(type, plain, now)).catch((e: unknown) => {
            throw new StepError(old ? "replace" : "create", messageOf(e));
        });
        const outputs = wire.markSecret(wire.markSecret(wire.annotateSecrets(wire.toWireMap(made.outputs), reg.inputs), TLS_SECRET_OUTPUTS[type]), reg.additionalSecretOutputs);
        if (old) this.pendingDeletes.push(old);
        this.step(reg, old ? "replace" : "create");
        return this.record(reg, { id: made.id, inputs: reg.inputs, outputs });
    }

    /** Kubernetes objects: inputs as outputs (+ Secret `data`); a new name or type replaces. */
    private async kubernetesStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        const plain = wire.unwrapMap(reg.inputs) as { metadata?: { name?: string; namespace?: string }; type?: string; data?: Record<string, string>; stringData?: Record<string, string> };
        const oldOutputs = old ? (wire.unwrapMap(old.outputs) as { metadata?: { name?: string } }) : undefined;
        const name = plain.metadata?.name ?? oldOutputs?.metadata?.name ?? `${reg.name}-${randomBytes(4).toString("hex")}`;
        const namespace = plain.metadata?.namespace ?? "default";
        const id = `${namespace}/${name}`;
        let outputs: WireMap = { ...reg.inputs };
        const metadata = wire.isPlainObject(outputs.metadata) ? outputs.metadata : {};
        outputs.metadata = { ...metadata, name, namespace };
        if (reg.type === "kubernetes:core/v1:Secret") {
            const data: Record<string, string> = { ...(plain.data ?? {}) };
            for (const [k, v] of Object.entries(plain.stringData ?? {})) data[k] = Buffer.from(String(v), "utf8").toString("base64");
            outputs.data = data;
            outputs = wire.markSecret(outputs, ["data", "stringData"]);
        }
        outputs = wire.markSecret(outputs, reg.additionalSecretOutputs);
        if (old && !this.forced(reg) && wire.deepEqual(wire.unwrapMap(old.inputs), plain)) {
            this.step(reg, "same");
            return this.record(reg, { id: old.id, inputs: reg.inputs, outputs: old.outputs });
        }
        const oldType = old ? (wire.unwrapMap(old.inputs) as { type?: string }).type : undefined;
        if (old && (old.id !== id || oldType !== plain.type || this.forced(reg))) {
            if (old.id === id) await this.harness.journaled(this.ctx, "delete", reg, true, async () => undefined);
            else this.pendingDeletes.push(old);
            await this.harness.journaled(this.ctx, "create", reg, true, async () => undefined);
            this.step(reg, "replace");
        } else {
            await this.harness.journaled(this.ctx, old ? "update" : "create", reg, true, async () => undefined);
            this.step(reg, old ? "update" : "create");
        }
        return this.record(reg, { id, inputs: reg.inputs, outputs });
    }

    private async providerStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        if (old && wire.deepEqual(wire.unwrapMap(old.inputs), wire.unwrapMap(reg.inputs))) {
            this.step(reg, "same");
            return this.record(reg, { id: old.id, inputs: reg.inputs, outputs: old.outputs });
        }
        await this.harness.journaled(this.ctx, old ? "update" : "create", reg, true, async () => undefined);
        this.step(reg, old ? "update" : "create");
        return this.record(reg, { id: old?.id ?? randomUUID(), inputs: reg.inputs, outputs: wire.markSecret(reg.inputs, reg.additionalSecretOutputs) });
    }
}

/** Every string in inputs and outputs of every resource that is not inside a secret. */
export function stringsOutsideSecrets(state: HarnessState): StringOccurrence[] {
    const out: StringOccurrence[] = [];
    for (const r of state.resources) {
        for (const field of ["inputs", "outputs"] as const) {
            for (const s of wire.stringsOutside(r[field])) out.push({ urn: r.urn, type: r.type, name: r.name, field, path: s.path, value: s.value });
        }
    }
    return out;
}

export { secretPaths, unwrap, unwrapMap, isSecret } from "./wire";
