/**
 * One deployment (a preview, an update, a refresh or a destroy): the engine's step logic behind
 * the language host protocol. The program runs as a child process (languageHost.ts) and talks
 * to the ResourceMonitor served here (monitor.ts); each RegisterResource becomes one step, as the
 * engine's step generator and executor make it (pulumi/pulumi `pkg/resource/deploy/
 * step_generator.go`, `step_executor.go`, `step.go`, `sdk/go/common/resource/plugin/
 * provider_plugin.go`, read at v3.248.0; README.md has the exact semantics):
 *
 * - Check, then Create, or Diff and then Update / replace / same, through Pulumi's real
 *   dynamic-provider host (providerHost.ts), one host per deployment;
 * - in a preview (`dryRun`), Check and Diff get the unknown sentinel for values not known yet
 *   (`AllowUnknowns`), and Create/Update are NOT sent to the host: the dynamic host does not
 *   support previews (its Configure answers no `supportsPreview`), so the engine answers the
 *   program with the checked inputs as the state (provider_plugin.go `Create`/`Update`) and the
 *   SDK turns missing outputs into unknowns (runtime/rpc.js `resolveProperties`); deletes are
 *   not executed;
 * - after the first failed step no new step starts, steps in flight finish and the program is
 *   cancelled (step_executor.go `cancelDueToError`), unless `continueOnError`;
 * - the state is saved after every step (and when a mutating step begins, with its pending
 *   operation, as the snapshot manager does); `interruptAfterSteps` stops the deployment after
 *   that many steps as a killed CLI would: program and provider host killed, the last saved
 *   state kept, operations in flight left pending;
 * - refresh mode (`pulumi refresh`, with `--run-program`: the program runs and every
 *   registration of a resource in the state is answered with its refreshed state, no Check or
 *   Diff; step_generator.go `continueStepsFromRefresh` with `refreshMode`) and destroy mode
 *   (`pulumi destroy --run-program`: registrations answered with the old state, then everything
 *   is deleted; `destroyMode`).
 */
import * as grpc from "@grpc/grpc-js";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { randomBytes, randomUUID } from "crypto";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import { EXIT_AFTER_LOGGED_ERROR, ProgramProcess } from "./languageHost";
import { EngineServer, MonitorError, ProgramLogEntry } from "./monitor";
import { EngineConfig, PulumiProject, programLaunch } from "./project";
import { DynamicProviderHost, PropertyMap, ProviderCallError, ProviderOp, ResourceRef } from "./providerHost";
import { TLS_SECRET_OUTPUTS, createTlsResource, isTlsType, tlsNeedsRenewal } from "./tlsDouble";
import { Command, HarnessState, InputChange, JournalEntry, PendingOperation, ResourceKind, ResourceState, StepFailure, StepOp, StepRecord } from "./types";
import * as wire from "./wire";
import { WireMap, WireValue } from "./wire";

export type DeploymentMode = "update" | "refresh" | "destroy";

export interface DeploymentSettings {
    command: Command;
    mode: DeploymentMode;
    dryRun: boolean;
    /** Run the program (always for updates; `--run-program` for refresh and destroy). */
    runProgram: boolean;
    /** Read every custom resource before the program (`pulumi up --refresh`). */
    refreshFirst: boolean;
    /** Names or URNs to replace (`pulumi up --replace`). */
    replace: Set<string>;
    continueOnError: boolean;
    interruptAfterSteps: number | null;
    now: Date;
    config: EngineConfig;
    secretKeys: string[];
    parallel: number;
    run: number;
}

/** What a deployment needs from the harness that owns it. */
export interface DeploymentHost {
    project: PulumiProject;
    stack: string;
    organization: string;
    programEnv: Record<string, string>;
    programTimeoutMs: number;
    /** The next number of the harness-wide journal counter. */
    nextSeq(): number;
    recordJournal(entry: JournalEntry): void;
    /** A provider host for this deployment; `owned` ones are stopped when it ends. */
    providerHost(): Promise<{ host: DynamicProviderHost; owned: boolean }>;
    /** Saved state (not called in previews). */
    checkpoint(state: HarnessState): void;
    programLine(line: string): void;
}

export interface DeploymentOutcome {
    state: HarnessState;
    failures: StepFailure[];
    programError: string | null;
    interrupted: boolean;
    journal: JournalEntry[];
    steps: StepRecord[];
    log: ProgramLogEntry[];
    programOutput: string[];
    warnings: string[];
    /** Stack outputs as registered (wire form), or the old ones. */
    stackOutputs: WireMap;
    programStartMs: number | null;
    programMs: number | null;
    refreshMs: number | null;
    deleteMs: number;
    run: number;
    startedAt: number;
    durationMs: number;
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

/** The deployment stopped (interrupted): results that arrive afterwards are dropped. */
class Interrupted extends Error {}

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

function kindOf(type: string, custom: boolean): ResourceKind | null {
    if (type === "pulumi:pulumi:Stack") return "stack";
    if (!custom) return "component";
    if (type.startsWith("pulumi-nodejs:dynamic")) return "dynamic";
    if (isTlsType(type)) return "tls";
    if (type.startsWith("pulumi:providers:")) return "provider";
    if (type.startsWith("kubernetes:")) return "kubernetes";
    return null;
}

/**
 * The engine's URN: the parent's whole qualified type (`a$b`) before the type, except for the
 * root stack (pkg/resource/deploy/deployment.go `generateURN`).
 */
export function urnOf(project: string, stack: string, parent: string | null, type: string, name: string): string {
    const parentType = parent ? (parent.split("::")[2] ?? "") : "";
    const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
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

/** What the program gets back for a registration. */
interface Answer {
    id: string | null;
    outputs: WireMap;
}

const SHUT_DOWN = "resource monitor shut down while waiting on step's done channel";

export class Deployment {
    private readonly journal: JournalEntry[] = [];
    private readonly steps: StepRecord[] = [];
    /** Changed inputs of dynamic updates/replaces, by URN, attached to their step record. */
    private readonly inputDiffs = new Map<string, InputChange[]>();
    private readonly failures: StepFailure[] = [];
    private readonly log: ProgramLogEntry[] = [];
    private readonly programOutput: string[] = [];
    private readonly warnings: string[] = [];
    private readonly unsupportedCalls: string[] = [];

    /** The old state's resources (what the engine calls `prev`). */
    private readonly base: ResourceState[];
    private readonly basePending: PendingOperation[];
    /** New states, in completion order. */
    private readonly news: ResourceState[] = [];
    /** Base resources that have a new state in `news`. */
    private readonly superseded = new Set<ResourceState>();
    /** Base resources replaced in place (refreshed, or marked pending delete), and back. */
    private readonly replacedBy = new Map<ResourceState, ResourceState>();
    private readonly baseOf = new Map<ResourceState, ResourceState>();
    /** Resources (base or new) that were deleted. */
    private readonly deleted = new Set<ResourceState>();
    /** Originals of create-before-delete replacements of this deployment. */
    private readonly replacedOriginals: ResourceState[] = [];
    /** Destroy mode: what the program registered, to delete afterwards. */
    private readonly toDelete: ResourceState[] = [];
    private readonly pending = new Map<symbol, PendingOperation>();
    private readonly startedAt = Date.now();
    private readonly oldByUrn = new Map<string, ResourceState>();
    private readonly newByUrn = new Map<string, ResourceState>();
    private readonly seen = new Set<string>();
    private readonly inflight = new Set<Promise<unknown>>();
    private stackOutputs: WireMap | null = null;

    private hostLease: Promise<{ host: DynamicProviderHost; owned: boolean }> | null = null;
    private configured: Promise<unknown> | null = null;
    private program: ProgramProcess | null = null;
    private readonly limiter: { running: number; queue: Array<() => void> } = { running: 0, queue: [] };
    private completedSteps = 0;
    private interrupted = false;
    /** No new step starts (the first failure, without continueOnError). */
    private cancelled = false;

    constructor(
        private readonly settings: DeploymentSettings,
        private readonly owner: DeploymentHost,
        state: HarnessState,
    ) {
        this.base = state.resources;
        this.basePending = state.pendingOperations;
        for (const r of this.base) if (!r.pendingDelete) this.oldByUrn.set(r.urn, r);
        this.lastSaved = this.snapshot();
    }

    // --------------------------------------------------------------------------------------
    // The deployment
    // --------------------------------------------------------------------------------------

    async execute(): Promise<DeploymentOutcome> {
        const s = this.settings;
        let refreshMs: number | null = null;
        let programStartMs: number | null = null;
        let programMs: number | null = null;
        let programError: string | null = null;
        let deleteMs = 0;
        if (!s.dryRun && s.mode === "update" && this.basePending.length > 0) {
            // deployment_executor.go `printPendingOperationsWarning`.
            this.warnings.push(
                `Attempting to deploy or update resources with ${this.basePending.length} pending operations from previous deployment.\n` +
                    this.basePending.map((op) => `  * ${op.resource.urn}, interrupted while ${op.type}`).join("\n"),
            );
        }
        try {
            // The engine loads the provider at its first resource; started now, it comes up while
            // the program compiles (same process, same calls, less waiting).
            if (s.runProgram || this.base.some((r) => r.kind === "dynamic")) void this.lease();
            if (s.refreshFirst && this.base.length > 0) {
                const t0 = Date.now();
                await this.readAll(this.base.filter((r) => r.custom && !r.pendingDelete));
                refreshMs = Date.now() - t0;
            }
            if (s.runProgram && !this.stopped()) {
                const run = await this.runProgram();
                programStartMs = run.startMs;
                programMs = run.ms;
                programError = run.error;
            }
            if (!this.stopped() && programError === null && !(this.failures.length > 0 && s.mode !== "refresh")) {
                const t0 = Date.now();
                await this.postSteps();
                deleteMs = Date.now() - t0;
            }
        } catch (e) {
            if (!(e instanceof Interrupted)) throw e;
        } finally {
            await Promise.allSettled([...this.inflight]);
            await this.releaseHost();
        }
        if (this.unsupportedCalls.length > 0) programError = [programError, ...this.unsupportedCalls].filter(Boolean).join("\n");
        const state = this.interrupted ? this.lastSaved : this.snapshot();
        if (!s.dryRun && !this.interrupted) this.owner.checkpoint(state);
        const stack = state.resources.find((r) => r.kind === "stack");
        return {
            state,
            failures: this.failures,
            programError,
            interrupted: this.interrupted,
            journal: this.journal,
            steps: this.steps,
            log: this.log,
            programOutput: this.programOutput,
            warnings: this.warnings,
            stackOutputs: this.stackOutputs ?? stack?.outputs ?? {},
            programStartMs,
            programMs,
            refreshMs,
            deleteMs,
            run: s.run,
            startedAt: this.startedAt,
            durationMs: Date.now() - this.startedAt,
        };
    }

    private stopped(): boolean {
        return this.interrupted || this.cancelled;
    }

    /** The checkpoint now: new states, then what is left of the old one (snapshot.go `snap`). */
    private snapshot(): HarnessState {
        const live = (r: ResourceState): boolean => !this.deleted.has(r);
        const resources = [...this.news.filter(live), ...this.base.filter((r) => !this.superseded.has(r) && live(r)).map((r) => this.replacedBy.get(r) ?? r)];
        // Operations in flight; pending creates of earlier deployments stay until a person
        // resolves them (snapshot.go), the others go.
        const pendingOperations = [...this.pending.values(), ...this.basePending.filter((op) => op.type === "creating")];
        return { version: 2, project: this.owner.project.name, stack: this.owner.stack, resources, pendingOperations };
    }

    /** The base resource a (refreshed or marked) version stands for. */
    private origin(r: ResourceState): ResourceState {
        return this.baseOf.get(r) ?? r;
    }

    private replaceInPlace(base: ResourceState, version: ResourceState): void {
        const origin = this.origin(base);
        this.replacedBy.set(origin, version);
        this.baseOf.set(version, origin);
    }

    private lastSaved: HarnessState;

    private save(): void {
        // A killed CLI saves nothing more.
        if (this.interrupted) return;
        this.lastSaved = this.snapshot();
        if (!this.settings.dryRun) this.owner.checkpoint(this.lastSaved);
    }

    /** A step ended: save, count, and stop here if told to (after the save, as a killed CLI). */
    private stepEnded(record: StepRecord): void {
        if (this.interrupted) throw new Interrupted();
        this.steps.push(record);
        this.save();
        this.completedSteps++;
        const n = this.settings.interruptAfterSteps;
        if (n !== null && this.completedSteps >= n) this.interrupt();
    }

    private interrupt(): void {
        if (this.interrupted) return;
        this.interrupted = true;
        this.cancelled = true;
        void this.program?.kill();
        void this.hostLease?.then(({ host, owned }) => (owned ? host.kill() : undefined), () => undefined);
    }

    private step(reg: { urn: string; type: string; name: string }, op: StepOp): void {
        const diff = op === "update" || op === "replace" ? this.inputDiffs.get(reg.urn) : undefined;
        this.stepEnded({ ...refOf(reg), op, ok: true, error: null, ...(diff ? { diff } : {}) });
    }

    private fail(r: { urn: string; type: string; name: string }, op: StepOp, message: string): void {
        if (this.interrupted) throw new Interrupted();
        this.failures.push({ ...refOf(r), op, message });
        // step_executor.go `cancelDueToError`: no new step starts, unless continueOnError.
        if (!this.settings.continueOnError) this.cancelled = true;
        this.stepEnded({ ...refOf(r), op, ok: false, error: message });
    }

    /** A mutating step begins: the snapshot manager records (and saves) its pending operation. */
    private async mutation<T>(type: PendingOperation["type"], resource: ResourceState, work: () => Promise<T>): Promise<T> {
        if (this.settings.dryRun) return work();
        const token = Symbol(resource.urn);
        this.pending.set(token, { type, resource });
        this.save();
        try {
            return await work();
        } finally {
            if (!this.interrupted) this.pending.delete(token);
        }
    }

    /** At most `parallel` custom-resource steps at once (the step executor's workers). */
    private async limited<T>(task: () => Promise<T>): Promise<T> {
        const l = this.limiter;
        if (l.running >= this.settings.parallel) await new Promise<void>((resolve) => l.queue.push(resolve));
        l.running++;
        try {
            if (this.interrupted) throw new Interrupted();
            return await task();
        } finally {
            l.running--;
            l.queue.shift()?.();
        }
    }

    private track<T>(p: Promise<T>): Promise<T> {
        this.inflight.add(p);
        void p.then(
            () => this.inflight.delete(p),
            () => this.inflight.delete(p),
        );
        return p;
    }

    // --------------------------------------------------------------------------------------
    // Provider host and journal
    // --------------------------------------------------------------------------------------

    /** Starts this deployment's provider host (once); Configure waits for the first call. */
    private lease(): Promise<{ host: DynamicProviderHost; owned: boolean }> {
        if (!this.hostLease) {
            this.hostLease = this.owner.providerHost();
            this.hostLease.catch(() => undefined);
        }
        return this.hostLease;
    }

    private async host(): Promise<DynamicProviderHost> {
        const { host } = await this.lease();
        if (!this.configured) {
            this.configured = this.journaled("configure", { urn: "", type: "pulumi:providers:pulumi-nodejs", name: "default" }, false, () =>
                host.configure(this.settings.config, this.settings.secretKeys),
            );
        }
        await this.configured;
        if (this.interrupted) throw new Interrupted();
        return host;
    }

    private async releaseHost(): Promise<void> {
        const lease = this.hostLease;
        this.hostLease = null;
        if (!lease) return;
        const got = await lease.catch(() => null);
        if (got?.owned) await (this.interrupted ? got.host.kill() : got.host.stop());
    }

    private async journaled<T>(op: ProviderOp, r: { urn: string; type: string; name: string }, emulated: boolean, call: () => Promise<T>): Promise<T> {
        const entry: JournalEntry = {
            startSeq: this.owner.nextSeq(),
            endSeq: -1,
            run: this.settings.run,
            command: this.settings.command,
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
        this.owner.recordJournal(entry);
        try {
            const result = await call();
            if (this.interrupted) throw new Interrupted();
            return result;
        } catch (e) {
            if (this.interrupted) throw new Interrupted();
            entry.error = messageOf(e);
            throw e;
        } finally {
            entry.durationMs = Date.now() - entry.startedAt;
            entry.endSeq = this.owner.nextSeq();
        }
    }

    // --------------------------------------------------------------------------------------
    // The program
    // --------------------------------------------------------------------------------------

    private async runProgram(): Promise<{ startMs: number | null; ms: number; error: string | null }> {
        const s = this.settings;
        let firstRegistration: number | null = null;
        const server = await EngineServer.start({
            registerResource: (request) => {
                firstRegistration = firstRegistration ?? Date.now();
                return this.track(this.register(request));
            },
            registerResourceOutputs: async (request) => this.registerOutputs(request),
            log: (entry) => {
                this.log.push(entry);
                // Debug diagnostics are shown by the CLI only with --debug: result.log has them.
                if (entry.severity !== "debug") this.owner.programLine(`${entry.severity}: ${entry.message}`);
            },
            // The program gets the error; the operation fails with it even if the program goes on.
            unsupported: (_call, message) => void this.unsupportedCalls.push(message),
        });
        const launch = programLaunch(this.owner.project, {
            monitorAddress: server.address,
            engineAddress: server.address,
            organization: this.owner.organization,
            stack: this.owner.stack,
            dryRun: s.dryRun,
            parallel: s.parallel,
            config: s.config,
            secretKeys: s.secretKeys,
            env: this.owner.programEnv,
        });
        const program = ProgramProcess.start(launch, (l) => {
            this.programOutput.push(l.line);
            this.owner.programLine(l.line);
        });
        this.program = program;
        const started = program.startedAt;
        let timedOut = false;
        // After a failure (or an unsupported call) the engine cancels: in-flight steps finish,
        // then the language host stops the program (SIGINT, then SIGKILL).
        const watcher = setInterval(() => {
            if (this.cancelled && !this.interrupted && this.inflight.size === 0 && program.running) void program.stop();
            if (Date.now() - started > this.owner.programTimeoutMs && program.running) {
                timedOut = true;
                void program.kill();
            }
        }, 20);
        try {
            const exit = await program.exited;
            await Promise.allSettled([...this.inflight]);
            if (this.interrupted) throw new Interrupted();
            const ms = Date.now() - started;
            const startMs = firstRegistration === null ? null : firstRegistration - started;
            if (timedOut) return { startMs, ms, error: `the program did not finish within ${this.owner.programTimeoutMs} ms` };
            return { startMs, ms, error: this.programErrorOf(exit.code) };
        } finally {
            clearInterval(watcher);
            await server.stop();
        }
    }

    /**
     * What the program's failure was, as the CLI reports it: its error diagnostics (minus the
     * consequences of a failed step), or the exit code the language host reports.
     */
    private programErrorOf(code: number | null): string | null {
        const known = this.failures.map((f) => f.message);
        const consequence = (m: string): boolean => m.includes("failed to register new resource") || m.includes("Resource monitor is terminating") || known.some((k) => m.includes(k));
        const errors = this.log.filter((e) => e.severity === "error").map((e) => e.message.replace(ANSI, ""));
        const own = errors.filter((m) => !consequence(m));
        if (own.length > 0) return own.join("\n");
        // Stopped by us after a failure, or its errors were all consequences of a failed step.
        if (this.cancelled || this.failures.length > 0) return null;
        if (code === 0) return null;
        if (code === EXIT_AFTER_LOGGED_ERROR && errors.length > 0) return null;
        const tail = this.programOutput.slice(-20).join("\n");
        return `Program exited with non-zero exit code: ${code ?? "signal"}${tail ? `\n${tail}` : ""}`;
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
        const raw = wire.toWire(request.getObject()?.toJavaScript() ?? {});
        return {
            urn: urnOf(this.owner.project.name, this.owner.stack, parent, type, name),
            type,
            name,
            kind: kindOf(type, custom),
            custom,
            parent,
            provider: request.getProvider() || null,
            inputs: wire.dereference(wire.fromProtocol(raw)) as WireMap,
            dependencies: request.getDependenciesList(),
            propertyDependencies,
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
        };
    }

    private response(reg: Registration, answer: Answer): resproto.RegisterResourceResponse {
        const res = new resproto.RegisterResourceResponse();
        res.setUrn(reg.urn);
        res.setId(answer.id ?? "");
        res.setObject(structproto.Struct.fromJavaScript(answer.outputs as Record<string, structproto.JavaScriptValue>));
        res.setResult(resproto.Result.SUCCESS);
        return res;
    }

    /** One RegisterResource: one step. */
    private async register(request: resproto.RegisterResourceRequest): Promise<resproto.RegisterResourceResponse> {
        // A cancelled deployment starts nothing new: the engine's monitor answers this.
        if (this.stopped()) throw new MonitorError(grpc.status.UNAVAILABLE, SHUT_DOWN);
        const reg = this.registration(request);
        if (request.getRemote()) return this.refuse(reg, "remote components (Construct) are not supported by the harness");
        if (request.getImportid()) return this.refuse(reg, "imports are not supported by the harness");
        if (this.seen.has(reg.urn)) return this.refuse(reg, `Duplicate resource URN '${reg.urn}'; try giving it a unique name`);
        this.seen.add(reg.urn);
        const old = this.oldByUrn.get(reg.urn);
        try {
            const answer = await this.stepFor(reg, old);
            return this.response(reg, answer);
        } catch (e) {
            if (e instanceof Interrupted || this.interrupted) throw new MonitorError(grpc.status.UNAVAILABLE, SHUT_DOWN);
            if (e instanceof MonitorError) throw e;
            const message = messageOf(e);
            this.fail(reg, e instanceof StepError ? e.op : old ? "update" : "create", message);
            // The engine never answers a failed step; it cancels, and the waiting RPC fails.
            if (!this.settings.continueOnError) throw new MonitorError(grpc.status.UNAVAILABLE, SHUT_DOWN);
            throw new MonitorError(grpc.status.UNKNOWN, message);
        }
    }

    private refuse(reg: Registration, message: string): never {
        this.fail(reg, "create", message);
        throw new MonitorError(this.settings.continueOnError ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE, message);
    }

    private async stepFor(reg: Registration, old: ResourceState | undefined): Promise<Answer> {
        const mode = this.settings.mode;
        if (reg.kind === "stack" || reg.kind === "component") {
            // Outputs arrive with RegisterResourceOutputs.
            const record = this.record(reg, { id: null, inputs: reg.inputs, outputs: old?.outputs ?? {} });
            this.keep(record, old);
            if (mode === "destroy") this.toDelete.push(record);
            return { id: null, outputs: {} };
        }
        if (reg.kind === null) throw new StepError(old ? "update" : "create", `harness: no emulation for resource type ${reg.type}`);
        if (mode === "refresh" && reg.kind !== "provider") return this.limited(() => this.refreshStep(reg, old));
        if (mode === "destroy" && reg.kind !== "provider") {
            // Sames (deleted afterwards), or skipped creates (never in the state).
            if (!old) return { id: null, outputs: {} };
            this.keep(old, old);
            this.toDelete.push(old);
            this.step(reg, "same");
            return { id: old.id, outputs: old.outputs };
        }
        const record = await this.limited(() => this.updateStep(reg, old));
        if (mode === "destroy") this.toDelete.push(record);
        return { id: record.id, outputs: record.outputs };
    }

    private async updateStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        switch (reg.kind) {
            case "dynamic":
                return this.dynamicStep(reg, old);
            case "tls":
                return this.tlsStep(reg, old);
            case "kubernetes":
                return this.kubernetesStep(reg, old);
            case "provider":
                return this.providerStep(reg, old);
            default:
                throw new StepError(old ? "update" : "create", `harness: no emulation for resource type ${reg.type}`);
        }
    }

    private registerOutputs(request: resproto.RegisterResourceOutputsRequest): void {
        const urn = request.getUrn();
        const outputs = wire.dereference(wire.fromProtocol(wire.toWire(request.getOutputs()?.toJavaScript() ?? {}))) as WireMap;
        const record = this.newByUrn.get(urn);
        if (!record || this.interrupted) return;
        record.outputs = outputs;
        withPaths(record);
        if (record.kind === "stack") this.stackOutputs = outputs;
        if (!this.settings.dryRun) this.save();
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

    /** A new state for this URN; it supersedes `supersedes` (the old one), if given. */
    private keep(record: ResourceState, supersedes: ResourceState | undefined): void {
        this.newByUrn.set(record.urn, record);
        if (this.settings.dryRun) return;
        this.news.push(record);
        if (supersedes) this.superseded.add(this.origin(supersedes));
    }

    /** The original of a create-before-delete replacement stays, marked, until deleted. */
    private markReplaced(old: ResourceState): void {
        if (this.settings.dryRun) return;
        const marked = { ...old, pendingDelete: true };
        this.replaceInPlace(old, marked);
        this.replacedOriginals.push(marked);
    }

    /** Named in `replace` (`pulumi up --replace`). */
    private forced(reg: Registration): boolean {
        return this.settings.replace.has(reg.name) || this.settings.replace.has(reg.urn);
    }

    // --------------------------------------------------------------------------------------
    // Steps per kind
    // --------------------------------------------------------------------------------------

    private async dynamicStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        const host = await this.host();
        const ref = refOf(reg);
        // The engine marshals for a provider that does not accept secrets: plain values, and the
        // unknown sentinel for what a preview does not know yet (AllowUnknowns = dryRun).
        const news = wire.unwrapMap(reg.inputs) as PropertyMap;
        const forced = this.forced(reg);
        // A targeted replacement ignores the old state in Check (step_generator.go).
        const oldInputs = old && !forced ? (wire.unwrapMap(old.inputs) as PropertyMap) : {};
        const checked = await this.journaled("check", reg, false, () => host.check(ref, oldInputs, news));
        if (checked.failures.length > 0) {
            throw new StepError(old ? "update" : "create", `check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
        }
        const inputs = wire.annotateSecrets(wire.toWireMap(checked.inputs), reg.inputs);
        if (!old) return this.dynamicCreate(reg, host, inputs, checked.inputs, "create");

        const oldOutputs = wire.unwrapMap(old.outputs) as PropertyMap;
        let replaces: string[] = [];
        let changed = false;
        let deleteBeforeReplace = reg.deleteBeforeReplace;
        if (forced) {
            // step_generator.go `diff`: a targeted replace is a replace diff without a provider call.
            replaces = ["id"];
        } else {
            const diff = await this.journaled("diff", reg, false, () => host.diff(ref, old.id ?? "", oldOutputs, checked.inputs, wire.unwrapMap(old.inputs) as PropertyMap));
            // DIFF_UNKNOWN (no diff() in the provider): the engine compares the inputs itself.
            changed = diff.changes === "some" || (diff.changes === "unknown" && !wire.deepEqual(wire.unwrapMap(old.inputs), checked.inputs));
            replaces = diff.replaces;
            deleteBeforeReplace = deleteBeforeReplace || diff.deleteBeforeReplace;
        }
        this.inputDiffs.set(reg.urn, inputChanges(old.inputs, inputs));
        if (replaces.length > 0) {
            if (deleteBeforeReplace) {
                if (!this.settings.dryRun) {
                    try {
                        await this.mutation("deleting", old, () => this.journaled("delete", reg, false, () => host.delete(ref, old.id ?? "", oldOutputs, wire.unwrapMap(old.inputs) as PropertyMap)));
                    } catch (e) {
                        if (e instanceof Interrupted) throw e;
                        throw new StepError("replace", `delete (before replace) failed: ${messageOf(e)}`);
                    }
                    this.deleted.add(this.origin(old));
                    this.save();
                }
                return this.dynamicCreate(reg, host, inputs, checked.inputs, "replace");
            }
            try {
                const created = await this.dynamicCreate(reg, host, inputs, checked.inputs, "replace");
                this.markReplaced(old);
                return created;
            } catch (e) {
                // An init failure recorded the new resource: the original goes (else it stays).
                if (this.newByUrn.has(reg.urn)) this.markReplaced(old);
                throw e;
            }
        }
        if (changed || old.initErrors.length > 0) return this.dynamicUpdate(reg, host, old, inputs, checked.inputs);
        const record = this.record(reg, { id: old.id, inputs, outputs: old.outputs });
        this.keep(record, old);
        this.step(reg, "same");
        return record;
    }

    private finishOutputs(reg: Registration, properties: PropertyMap, inputs: WireMap): WireMap {
        return wire.markSecret(wire.annotateSecrets(wire.toWireMap(properties), inputs), reg.additionalSecretOutputs);
    }

    private async dynamicCreate(reg: Registration, host: DynamicProviderHost, inputs: WireMap, plain: PropertyMap, op: "create" | "replace"): Promise<ResourceState> {
        if (this.settings.dryRun) {
            // No Create in a preview: the checked inputs are the state, the id is unknown.
            const record = this.record(reg, { id: null, inputs, outputs: inputs });
            this.keep(record, undefined);
            this.step(reg, op);
            return record;
        }
        const pendingNew = this.record(reg, { id: null, inputs, outputs: {} });
        try {
            const created = await this.mutation("creating", pendingNew, () => this.journaled("create", reg, false, () => host.create(refOf(reg), plain)));
            const record = this.record(reg, { id: created.id, inputs, outputs: this.finishOutputs(reg, created.properties, inputs) });
            this.keep(record, undefined);
            this.step(reg, op);
            return record;
        } catch (e) {
            if (e instanceof Interrupted) throw e;
            if (e instanceof ProviderCallError && e.initFailure) {
                const init = e.initFailure;
                this.keep(this.record(reg, { id: init.id, inputs, outputs: this.finishOutputs(reg, init.properties, inputs), initErrors: init.reasons.length > 0 ? init.reasons : [e.message] }), undefined);
            }
            throw new StepError(op, messageOf(e));
        }
    }

    private async dynamicUpdate(reg: Registration, host: DynamicProviderHost, old: ResourceState, inputs: WireMap, plain: PropertyMap): Promise<ResourceState> {
        if (this.settings.dryRun) {
            // No Update in a preview: the new inputs are the state.
            const record = this.record(reg, { id: old.id, inputs, outputs: inputs });
            this.keep(record, old);
            this.step(reg, "update");
            return record;
        }
        try {
            const updated = await this.mutation("updating", old, () =>
                this.journaled("update", reg, false, () => host.update(refOf(reg), old.id ?? "", wire.unwrapMap(old.outputs) as PropertyMap, plain, wire.unwrapMap(old.inputs) as PropertyMap)),
            );
            const record = this.record(reg, { id: old.id, inputs, outputs: this.finishOutputs(reg, updated.properties, inputs) });
            this.keep(record, old);
            this.step(reg, "update");
            return record;
        } catch (e) {
            if (e instanceof Interrupted) throw e;
            if (e instanceof ProviderCallError && e.initFailure) {
                const init = e.initFailure;
                this.keep(this.record(reg, { id: old.id, inputs, outputs: this.finishOutputs(reg, init.properties, inputs), initErrors: init.reasons.length > 0 ? init.reasons : [e.message] }), old);
            }
            throw new StepError("update", messageOf(e));
        }
    }

    /** Same inputs and not due for renewal: same outputs; otherwise a new key/cert (replace). */
    private async tlsStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        const type = reg.type;
        if (!isTlsType(type)) throw new StepError("create", `not a tls type: ${type}`);
        const plain = wire.unwrapMap(reg.inputs);
        if (old && !this.forced(reg) && wire.deepEqual(wire.unwrapMap(old.inputs), plain) && !tlsNeedsRenewal(type, wire.unwrapMap(old.outputs), this.settings.now)) {
            const record = this.record(reg, { id: old.id, inputs: reg.inputs, outputs: old.outputs });
            this.keep(record, old);
            this.step(reg, "same");
            return record;
        }
        const op = old ? "replace" : "create";
        if (this.settings.dryRun) {
            // The real provider previews: inputs known now, generated values unknown.
            const record = this.record(reg, { id: null, inputs: reg.inputs, outputs: reg.inputs });
            this.keep(record, undefined);
            this.step(reg, op);
            return record;
        }
        const now = this.settings.now;
        const pendingNew = this.record(reg, { id: null, inputs: reg.inputs, outputs: {} });
        const made = await this.mutation("creating", pendingNew, () => this.journaled("create", reg, true, () => createTlsResource(type, plain, now))).catch((e: unknown) => {
            if (e instanceof Interrupted) throw e;
            throw new StepError(op, messageOf(e));
        });
        const outputs = wire.markSecret(wire.markSecret(wire.annotateSecrets(wire.toWireMap(made.outputs), reg.inputs), TLS_SECRET_OUTPUTS[type]), reg.additionalSecretOutputs);
        const record = this.record(reg, { id: made.id, inputs: reg.inputs, outputs });
        this.keep(record, undefined);
        if (old) this.markReplaced(old);
        this.step(reg, op);
        return record;
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
            const record = this.record(reg, { id: old.id, inputs: reg.inputs, outputs: old.outputs });
            this.keep(record, old);
            this.step(reg, "same");
            return record;
        }
        const oldType = old ? (wire.unwrapMap(old.inputs) as { type?: string }).type : undefined;
        const replace = old !== undefined && (old.id !== id || oldType !== plain.type || this.forced(reg));
        const record = this.record(reg, { id, inputs: reg.inputs, outputs });
        if (this.settings.dryRun) {
            this.keep(record, old);
            this.step(reg, replace ? "replace" : old ? "update" : "create");
            return record;
        }
        if (old && replace) {
            if (old.id === id) {
                await this.mutation("deleting", old, () => this.journaled("delete", reg, true, async () => undefined));
                this.deleted.add(this.origin(old));
            } else this.markReplaced(old);
            await this.mutation("creating", record, () => this.journaled("create", reg, true, async () => undefined));
            this.keep(record, old.id === id ? old : undefined);
            this.step(reg, "replace");
        } else {
            await this.mutation(old ? "updating" : "creating", old ?? record, () => this.journaled(old ? "update" : "create", reg, true, async () => undefined));
            this.keep(record, old);
            this.step(reg, old ? "update" : "create");
        }
        return record;
    }

    private async providerStep(reg: Registration, old: ResourceState | undefined): Promise<ResourceState> {
        if (old && wire.deepEqual(wire.unwrapMap(old.inputs), wire.unwrapMap(reg.inputs))) {
            const record = this.record(reg, { id: old.id, inputs: reg.inputs, outputs: old.outputs });
            this.keep(record, old);
            this.step(reg, "same");
            return record;
        }
        const record = this.record(reg, { id: old?.id ?? (this.settings.dryRun ? null : randomUUID()), inputs: reg.inputs, outputs: wire.markSecret(reg.inputs, reg.additionalSecretOutputs) });
        if (!this.settings.dryRun) await this.mutation(old ? "updating" : "creating", old ?? record, () => this.journaled(old ? "update" : "create", reg, true, async () => undefined));
        this.keep(record, old);
        this.step(reg, old ? "update" : "create");
        return record;
    }

    // --------------------------------------------------------------------------------------
    // Reads (refresh)
    // --------------------------------------------------------------------------------------

    /** A registration in refresh mode: its refreshed state, or a skipped create. */
    private async refreshStep(reg: Registration, old: ResourceState | undefined): Promise<Answer> {
        if (!old) return { id: null, outputs: {} };
        const refreshed = await this.readOne(old);
        if (!refreshed) return { id: null, outputs: {} };
        this.newByUrn.set(reg.urn, refreshed);
        return { id: refreshed.id, outputs: refreshed.outputs };
    }

    /** Reads every given resource (in parallel, bounded); a failure is a step failure. */
    private async readAll(resources: ResourceState[]): Promise<void> {
        await Promise.all(
            resources.map((r) =>
                this.track(
                    this.limited(async () => {
                        if (this.stopped()) return;
                        try {
                            await this.readOne(r);
                        } catch (e) {
                            if (e instanceof Interrupted) throw e;
                            this.fail(r, "read", messageOf(e));
                        }
                    }),
                ).catch((e: unknown) => {
                    if (!(e instanceof Interrupted)) throw e;
                }),
            ),
        );
        if (this.interrupted) throw new Interrupted();
    }

    /**
     * `Read(id, outputs, inputs)` (dynamic through the host; emulated ones are unchanged): the
     * refreshed state replaces the old one in place; an empty id removes it.
     */
    private async readOne(r: ResourceState): Promise<ResourceState | null> {
        if (r.kind !== "dynamic") {
            await this.journaled("read", r, true, async () => undefined);
            this.stepEnded({ ...refOf(r), op: "read", ok: true, error: null });
            return r;
        }
        const host = await this.host();
        const read = await this.mutation("reading", r, () =>
            this.journaled("read", r, false, () => host.read(refOf(r), r.id ?? "", wire.unwrapMap(r.outputs) as PropertyMap, wire.unwrapMap(r.inputs) as PropertyMap)),
        );
        let result: ResourceState | null = null;
        if (!read.id) {
            if (!this.settings.dryRun) this.deleted.add(this.origin(r));
            this.oldByUrn.delete(r.urn);
        } else {
            const outputs = wire.markSecret(wire.annotateSecrets(wire.annotateSecrets(wire.toWireMap(read.properties), r.outputs), r.inputs), r.additionalSecretOutputs);
            const inputs = read.inputs ? wire.annotateSecrets(wire.toWireMap(read.inputs), r.inputs) : r.inputs;
            result = withPaths({ ...r, id: read.id, inputs, outputs, initErrors: [] });
            if (!this.settings.dryRun) this.replaceInPlace(r, result);
            // A refresh before the program: the program then diffs against what was read.
            this.oldByUrn.set(r.urn, result);
        }
        this.stepEnded({ ...refOf(r), op: "read", ok: true, error: null });
        return result;
    }

    // --------------------------------------------------------------------------------------
    // After the program
    // --------------------------------------------------------------------------------------

    private async postSteps(): Promise<void> {
        const mode = this.settings.mode;
        // Pending deletes of earlier runs share their URN with a registered resource: still doomed.
        const unregistered = this.base.filter((r) => (r.pendingDelete || !this.seen.has(r.urn)) && !this.superseded.has(r) && !this.deleted.has(r));
        if (mode === "refresh") {
            // deployment_executor.go `performPostSteps` / `GenerateRefreshes`.
            await this.readAll(unregistered.filter((r) => r.custom && !r.pendingDelete));
            return;
        }
        // `GenerateDeletes`: what the program did not register, pending deletes of earlier runs,
        // this run's replaced originals; in destroy mode also what it registered.
        const doomed = [
            ...(mode === "destroy" ? this.toDelete : []),
            ...unregistered.map((r) => this.replacedBy.get(r) ?? r),
            ...this.replacedOriginals,
        ];
        const universe = [...this.news, ...this.base.map((r) => this.replacedBy.get(r) ?? r)];
        await this.deleteResources(doomed, universe);
    }

    /**
     * Deletes `doomed` with the engine's ordering: a resource only after every doomed resource
     * that depends on it (dependencies, parent, provider, property dependencies, transitively,
     * over `universe`) is gone; independent deletions run in parallel. A failed delete keeps that
     * resource and everything it depends on.
     */
    private async deleteResources(doomed: ResourceState[], universe: ResourceState[]): Promise<void> {
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
        const done = new Map<ResourceState, Promise<boolean>>();
        const remove = (r: ResourceState): Promise<boolean> => {
            let p = done.get(r);
            if (!p) {
                p = (async () => {
                    const results = await Promise.all(dependentsOf(r).map(remove));
                    if (!results.every(Boolean) || this.stopped()) return false;
                    try {
                        await this.track(this.limited(() => this.deleteOne(r)));
                        return true;
                    } catch (e) {
                        if (e instanceof Interrupted) throw e;
                        this.fail(r, "delete", messageOf(e));
                        return false;
                    }
                })();
                done.set(r, p);
            }
            return p;
        };
        await Promise.all(doomed.map(remove));
    }

    private async deleteOne(r: ResourceState): Promise<void> {
        if (this.settings.dryRun) {
            if (r.kind !== "stack" && r.kind !== "component") this.stepEnded({ ...refOf(r), op: "delete", ok: true, error: null });
            return;
        }
        if (r.kind !== "stack" && r.kind !== "component") {
            if (r.kind === "dynamic") {
                const host = await this.host();
                await this.mutation("deleting", r, () =>
                    this.journaled("delete", r, false, () => host.delete(refOf(r), r.id ?? "", wire.unwrapMap(r.outputs) as PropertyMap, wire.unwrapMap(r.inputs) as PropertyMap)),
                );
            } else {
                await this.mutation("deleting", r, () => this.journaled("delete", r, true, async () => undefined));
            }
        }
        this.deleted.add(r);
        this.deleted.add(this.origin(r));
        if (r.kind !== "stack" && r.kind !== "component") this.stepEnded({ ...refOf(r), op: "delete", ok: true, error: null });
        else this.save();
    }
}

/**
 * Top-level inputs that differ, old and new (the display's diff for providers without a
 * detailed diff: pkg/backend/display compares the step's old and new inputs). `__provider` is
 * the provider's code, not an input a user reads; secrets are shown as the CLI shows them.
 */
function inputChanges(olds: WireMap, news: WireMap): InputChange[] {
    const shown = (v: WireValue | undefined): unknown => (v === undefined ? undefined : wire.isSecret(v) ? "[secret]" : wire.unwrap(v));
    const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((k) => k !== "__provider").sort();
    return keys.filter((k) => !wire.deepEqual(wire.unwrap(olds[k] ?? null), wire.unwrap(news[k] ?? null))).map((k) => ({ key: k, old: shown(olds[k]), new: shown(news[k]) }));
}
