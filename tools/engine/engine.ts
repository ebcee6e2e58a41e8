/**
 * An engine stand-in for Pulumi projects without the Pulumi CLI: `preview`, `up`, `refresh`,
 * `destroy`, with state carried between operations like the engine's checkpoint. See README.md
 * for what is real and what is emulated, and the exact semantics.
 *
 * - The program is the project's Pulumi.yaml `main`, started as the CLI's nodejs language host
 *   starts it (`@pulumi/pulumi/cmd/run`, project.ts), in its own process, connected over gRPC
 *   to the ResourceMonitor and Engine services served here (monitor.ts).
 * - Each operation is one or two deployments (deployment.ts: the step logic); `up` is a preview
 *   and then an update, like `pulumi up --yes`.
 * - Every dynamic resource goes through Pulumi's real dynamic-provider host (providerHost.ts),
 *   one per deployment; tls resources come from the tls double (real keys and certificates);
 *   Kubernetes objects and providers are recorded (inputs as outputs).
 */
import * as os from "os";
import * as path from "path";
import { CheckpointSizer } from "./checkpointSize";
import { Deployment, DeploymentMode, DeploymentOutcome, DeploymentSettings } from "./deployment";
import { EngineConfig, PulumiProject, engineConfig, pwdAndEntry, qualifiedKey, readProject } from "./project";
import { DynamicProviderHost, HostOptions } from "./providerHost";
import { Command, HarnessError, HarnessState, JournalEntry, KubernetesSecretView, OperationResult, PreviewResult, ResourceState, StringOccurrence, UpResult } from "./types";
import * as wire from "./wire";

export * from "./types";
export type { WireMap, WireValue } from "./wire";

/** Config values: `key` (project namespace) or `namespace:key`; strings as they are, anything else as JSON. */
export type ConfigMap = Record<string, unknown>;

/** This repository (tools/engine/../..). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface HarnessOptions {
    /** The directory of Pulumi.yaml. Default: this repository. */
    projectDir?: string;
    stack?: string;
    /** `--organization` (the local backend's is "organization"). */
    organization?: string;
    /** Start from this state (e.g. a previous harness's `snapshot()`). */
    state?: HarnessState;
    /**
     * "per-deployment" (default, like the CLI): a fresh dynamic-provider host for every
     * deployment, stopped when it ends; a DynamicProviderHost: shared (tests), never stopped here.
     */
    host?: "per-deployment" | DynamicProviderHost;
    hostOptions?: HostOptions;
    /** The harness clock when an operation gives no `now` (tls validity and renewal). */
    now?: () => Date;
    /** Give up on a program that does not finish. Default 10 min. */
    programTimeoutMs?: number;
    /** `--parallel`: at most this many resource steps at once. Default: the CLI's, 4 x CPUs. */
    parallel?: number;
    /** Extra environment for the program, e.g. `{ PULUMI_NODEJS_TRANSPILE_ONLY: "true" }`. */
    programEnv?: Record<string, string>;
    /** Called with every saved checkpoint and its size as JSON (what a file backend writes). */
    onCheckpoint?: (state: HarnessState, bytes: number) => void;
    /**
     * Defaults for every `up` of this harness, e.g. `{ skipPreview: true, refresh: false }` for
     * tests that are not about previews (`pulumi up --skip-preview --refresh=false`).
     */
    upDefaults?: Pick<UpOptions, "skipPreview" | "refresh">;
}

interface ConfigOptions {
    /** Config for this operation (default: the last operation's). */
    config?: ConfigMap;
    /** Config keys (as given) that are secret. */
    secretConfig?: string[];
}

export interface PreviewOptions extends ConfigOptions {
    /** The harness clock for this run. */
    now?: Date;
    /** Resources (name or URN) to replace even without changes, like `--replace`. */
    replace?: string[];
    /** Refresh first (`--refresh`); default: Pulumi.yaml `options.refresh: always`. */
    refresh?: boolean;
}

interface FailureOptions {
    /** Keep going after a failed step, like `--continue-on-error` (default: stop at the first). */
    continueOnError?: boolean;
    /** Stop after this many steps, as a killed CLI would (state saved, operations in flight pending). */
    interruptAfterSteps?: number;
}

export interface UpOptions extends PreviewOptions, FailureOptions {
    /** No preview first (`--skip-preview`). */
    skipPreview?: boolean;
}

export interface RefreshOptions extends ConfigOptions, FailureOptions {
    /** `pulumi refresh --run-program`: the program runs and is answered with the refreshed state. */
    runProgram?: boolean;
    now?: Date;
}

export interface DestroyOptions extends ConfigOptions, FailureOptions {
    /** `pulumi destroy --run-program`. */
    runProgram?: boolean;
}

export class Harness {
    readonly projectInfo: PulumiProject;
    readonly stack: string;
    /** Every provider call of every operation, in start order. */
    readonly journal: JournalEntry[] = [];
    /** Every provider host this harness started (one per deployment), in order. */
    readonly hosts: Array<{ pid: number; cwd: string; entry: string }> = [];
    private current: HarnessState;
    private readonly hostLines: string[] = [];
    private readonly programLines: string[] = [];
    private readonly runningHosts = new Set<DynamicProviderHost>();
    private readonly sizer = new CheckpointSizer();
    private runs = 0;
    private seq = 0;
    private busy = false;
    private lastConfig: ConfigOptions = {};
    private checkpoints = 0;

    constructor(private readonly options: HarnessOptions = {}) {
        this.projectInfo = readProject(options.projectDir ?? REPO_ROOT);
        this.stack = options.state?.stack ?? options.stack ?? "test";
        if (options.state && (options.state as { version: number }).version !== 2) throw new Error("harness: this state was written by an older harness (version 1); start from an empty state");
        this.current = options.state ? (JSON.parse(JSON.stringify(options.state)) as HarnessState) : { version: 2, project: this.project, stack: this.stack, resources: [], pendingOperations: [] };
    }

    get hostPids(): number[] {
        return this.hosts.map((h) => h.pid);
    }

    get project(): string {
        return this.projectInfo.name;
    }

    /** The current state, saved after every step (treat as read-only; `snapshot()` for a copy). */
    get state(): HarnessState {
        return this.current;
    }

    /** How many checkpoints were saved (every step of every non-preview deployment). */
    get checkpointCount(): number {
        return this.checkpoints;
    }

    /** A deep copy of the state, e.g. to start another Harness from it. */
    snapshot(): HarnessState {
        return JSON.parse(JSON.stringify(this.current)) as HarnessState;
    }

    /** Lines the dynamic-provider host(s) printed (provider logs, errors). */
    get hostLog(): readonly string[] {
        return this.hostLines;
    }

    /** What the program(s) printed and sent with Engine.Log (`severity: message`). */
    get programLog(): readonly string[] {
        return this.programLines;
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

    /** `pulumi preview`: the program in dry-run mode; nothing is created, the state is unchanged. */
    async preview(options: PreviewOptions = {}): Promise<PreviewResult> {
        return this.exclusive(async () => {
            const outcome = await this.deploy("preview", "update", true, options, {});
            const result = this.previewResult(outcome);
            this.throwIfFailed("preview", outcome, result);
            return result;
        });
    }

    /**
     * `pulumi up --yes`: a preview (its own deployment) unless `skipPreview`, then the update; a
     * refresh first if `refresh` (or Pulumi.yaml `options.refresh: always`), in both.
     */
    async up(given: UpOptions = {}): Promise<UpResult> {
        const options: UpOptions = { ...this.options.upDefaults, ...given };
        return this.exclusive(async () => {
            let preview: PreviewResult | null = null;
            if (!options.skipPreview) {
                const outcome = await this.deploy("preview", "update", true, options, {});
                preview = this.previewResult(outcome);
                this.throwIfFailed("preview", outcome, preview);
            }
            const outcome = await this.deploy("up", "update", false, options, options);
            const stackOutputs = outcome.stackOutputs;
            const result: UpResult = {
                ...this.operationResult("up", outcome),
                outputs: wire.unwrapMap(stackOutputs),
                secretOutputs: wire.secretPaths(stackOutputs),
                preview,
                timings: {
                    previewMs: preview?.durationMs ?? null,
                    refreshMs: outcome.refreshMs,
                    programStartMs: outcome.programStartMs,
                    programMs: outcome.programMs,
                    deleteMs: outcome.deleteMs,
                },
            };
            this.throwIfFailed("up", outcome, result);
            return result;
        });
    }

    /** `pulumi refresh --yes --skip-preview` (with `runProgram`: `--run-program`). */
    async refresh(options: RefreshOptions = {}): Promise<OperationResult> {
        return this.exclusive(async () => {
            const outcome = await this.deploy("refresh", "refresh", false, { ...options, refresh: false }, options, options.runProgram === true);
            const result = this.operationResult("refresh", outcome);
            this.throwIfFailed("refresh", outcome, result);
            return result;
        });
    }

    /** `pulumi destroy --yes --skip-preview`: everything, dependents first. */
    async destroy(options: DestroyOptions = {}): Promise<OperationResult> {
        return this.exclusive(async () => {
            const outcome = await this.deploy("destroy", "destroy", false, { ...options, refresh: false }, options, options.runProgram === true);
            const result = this.operationResult("destroy", outcome);
            this.throwIfFailed("destroy", outcome, result);
            return result;
        });
    }

    /** Stops provider hosts still running (normally none: each deployment stops its own). */
    async close(): Promise<void> {
        await Promise.all([...this.runningHosts].map((h) => h.stop()));
        this.runningHosts.clear();
    }

    // --------------------------------------------------------------------------------------
    // Internals
    // --------------------------------------------------------------------------------------

    private async deploy(command: Command, mode: DeploymentMode, dryRun: boolean, options: PreviewOptions & ConfigOptions & { now?: Date }, failure: FailureOptions, runProgram = true): Promise<DeploymentOutcome> {
        if (options.config !== undefined || options.secretConfig !== undefined) this.lastConfig = { config: options.config ?? this.lastConfig.config, secretConfig: options.secretConfig ?? this.lastConfig.secretConfig };
        const config: EngineConfig = engineConfig(this.project, this.lastConfig.config ?? {});
        const secretKeys = (this.lastConfig.secretConfig ?? []).map((k) => qualifiedKey(this.project, k));
        const settings: DeploymentSettings = {
            command,
            mode,
            dryRun,
            runProgram: mode === "update" || runProgram,
            // pkg/cmd/pulumi/operations/io.go `getRefreshOption`: an explicit flag wins over Pulumi.yaml.
            refreshFirst: mode === "update" && (options.refresh ?? this.projectInfo.refresh === "always"),
            replace: new Set(options.replace ?? []),
            continueOnError: failure.continueOnError === true,
            interruptAfterSteps: failure.interruptAfterSteps ?? null,
            now: options.now ?? this.options.now?.() ?? new Date(),
            config,
            secretKeys,
            // pkg/cmd/pulumi/operations/up.go `defaultParallel`: 4 x GOMAXPROCS.
            parallel: this.options.parallel ?? 4 * os.availableParallelism(),
            run: ++this.runs,
        };
        const { pwd } = pwdAndEntry(this.projectInfo);
        const deployment = new Deployment(
            settings,
            {
                project: this.projectInfo,
                stack: this.stack,
                organization: this.options.organization ?? "organization",
                programEnv: this.options.programEnv ?? {},
                programTimeoutMs: this.options.programTimeoutMs ?? 600_000,
                nextSeq: () => this.seq++,
                recordJournal: (entry) => this.journal.push(entry),
                providerHost: async () => {
                    if (this.options.host instanceof DynamicProviderHost) return { host: this.options.host, owned: false };
                    const userLog = this.options.hostOptions?.onLog;
                    const host = await DynamicProviderHost.start({
                        cwd: pwd,
                        ...this.options.hostOptions,
                        onLog: (line) => {
                            this.hostLines.push(line);
                            userLog?.(line);
                        },
                    });
                    this.hosts.push({ pid: host.pid, cwd: host.cwd, entry: host.entry });
                    this.runningHosts.add(host);
                    const stop = host.stop.bind(host);
                    host.stop = () => {
                        this.runningHosts.delete(host);
                        return stop();
                    };
                    return { host, owned: true };
                },
                checkpoint: (state) => {
                    this.current = state;
                    this.checkpoints++;
                    const hook = this.options.onCheckpoint;
                    if (hook) hook(state, this.sizer.bytes(state));
                },
                programLine: (line) => this.programLines.push(line),
            },
            this.current,
        );
        const outcome = await deployment.execute();
        if (!dryRun) this.current = outcome.state;
        return outcome;
    }

    private operationResult(command: Command, outcome: DeploymentOutcome): OperationResult {
        return {
            command,
            run: outcome.run,
            journal: outcome.journal,
            steps: outcome.steps,
            log: outcome.log,
            programOutput: outcome.programOutput,
            warnings: outcome.warnings,
            startedAt: outcome.startedAt,
            durationMs: outcome.durationMs,
        };
    }

    private previewResult(outcome: DeploymentOutcome): PreviewResult {
        return {
            ...this.operationResult("preview", outcome),
            outputs: wire.unwrapMap(outcome.stackOutputs),
            timings: { programStartMs: outcome.programStartMs, programMs: outcome.programMs },
        };
    }

    private throwIfFailed(command: Command, outcome: DeploymentOutcome, result: OperationResult): void {
        if (outcome.failures.length > 0 || outcome.programError !== null || outcome.interrupted) {
            throw new HarnessError(command, outcome.failures, outcome.programError, result, outcome.interrupted);
        }
    }

    private async exclusive<T>(operation: () => Promise<T>): Promise<T> {
        if (this.busy) throw new Error("harness: another operation is still running");
        this.busy = true;
        try {
            return await operation();
        } finally {
            this.busy = false;
        }
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

export { secretPaths, unwrap, unwrapMap, isSecret, UNKNOWN } from "./wire";
