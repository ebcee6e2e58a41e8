/**
 * The harness's public data: state (a checkpoint), journal, steps, results and errors.
 */
import type { ProgramLogEntry } from "./monitor";
import type { ProviderOp } from "./providerHost";
import type { WireMap } from "./wire";

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

/**
 * An operation that had started when the deployment was interrupted (the engine's
 * `resource.Operation`): its outcome is unknown. The next update keeps pending creates and drops
 * the others, as pulumi/pulumi `pkg/backend/snapshot.go` `snap()` does.
 */
export interface PendingOperation {
    type: "creating" | "updating" | "deleting" | "reading";
    resource: ResourceState;
}

/** The checkpoint: resources in dependency order (every resource after what it depends on). */
export interface HarnessState {
    version: 2;
    project: string;
    stack: string;
    resources: ResourceState[];
    pendingOperations: PendingOperation[];
}

/** `up` is `preview` + an update deployment; each deployment journals under its own command. */
export type Command = "preview" | "up" | "refresh" | "destroy";

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

/** What happened to a resource in one deployment (in a preview: what would happen). */
export interface StepRecord {
    urn: string;
    type: string;
    name: string;
    op: StepOp;
    ok: boolean;
    error: string | null;
    /**
     * For an update or replace of a dynamic resource: the inputs whose value changed, old and new,
     * as `pulumi preview --diff` shows them for a provider that returns no detailed diff (the
     * engine then diffs the old and new inputs; secrets shown as "[secret]").
     */
    diff?: InputChange[];
}

export interface InputChange {
    key: string;
    old: unknown;
    new: unknown;
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
    /** What the program sent with Engine.Log (debug included), in order. */
    log: ProgramLogEntry[];
    /** Lines the program wrote on stdout/stderr. */
    programOutput: string[];
    /** Engine warnings (e.g. pending operations from an interrupted deployment). */
    warnings: string[];
    /** When the deployment started (epoch ms) and how long it took. */
    startedAt: number;
    durationMs: number;
}

export interface ProgramTimings {
    /** Program start until its first registration (node, ts-node, the SDK, the program's imports). */
    programStartMs: number | null;
    /** Program start until it exited (every registration answered). */
    programMs: number | null;
}

export interface PreviewResult extends OperationResult {
    /** Stack outputs as the preview computed them (unknowns as the sentinel string). */
    outputs: Record<string, unknown>;
    timings: ProgramTimings;
}

export interface UpResult extends OperationResult {
    /** Stack outputs, secrets unwrapped. */
    outputs: Record<string, unknown>;
    /** Paths in `outputs` that were secret (e.g. `key`, `nodes[0].pem`). */
    secretOutputs: string[];
    /** The preview this `up` ran first (null with `skipPreview`). */
    preview: PreviewResult | null;
    timings: ProgramTimings & {
        previewMs: number | null;
        /** The refresh before the update (`refresh: true` or Pulumi.yaml `options.refresh: always`). */
        refreshMs: number | null;
        /** Deleting what the program no longer registers (and replaced originals). */
        deleteMs: number;
    };
}

/** An operation that failed: every failure; what succeeded is in the state. */
export class HarnessError extends Error {
    constructor(
        readonly command: Command,
        readonly failures: StepFailure[],
        readonly programError: string | null,
        readonly result: OperationResult,
        /** Stopped by `interruptAfterSteps`, like a killed CLI. */
        readonly interrupted = false,
    ) {
        const lines = failures.map((f) => `  ${f.name} [${f.type}] ${f.op}: ${f.message.split("\n").join("\n    ")}`);
        if (programError) lines.push(`  program: ${programError.split("\n").join("\n    ")}`);
        const what = interrupted ? "interrupted" : `failed (${failures.length} resource failure(s)${programError ? " and a program error" : ""})`;
        super(`${command} ${what}:\n${lines.join("\n")}`);
        this.name = "HarnessError";
    }
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
