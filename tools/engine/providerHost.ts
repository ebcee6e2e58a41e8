/**
 * Pulumi's REAL dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`), as a child
 * process, and a typed gRPC client for the calls the engine makes to it.
 *
 * The host prints its gRPC port on the first stdout line. It deserializes each resource's
 * provider from the `__provider` property (`require-from-string`), so modules the provider
 * code requires (execa, ...) are resolved from the host's working directory. The CLI starts
 * provider plugins in the program's working directory (`plugin.NewContextWithRoot(..., pwd,
 * ...)` in pkg/engine/deployment.go, `cmd.Dir = pwd` in sdk/go/common/resource/plugin/plugin.go),
 * and its `pulumi-resource-pulumi-nodejs` script resolves `@pulumi/pulumi/cmd/dynamic-provider`
 * from there: the harness passes that directory as `cwd`.
 *
 * Values cross the wire as google.protobuf.Struct, converted exactly like the host does
 * (`Struct.fromJavaScript` / `toJavaScript`). The host answers Configure with
 * acceptSecrets=false: callers must send plain values (no secret wrappers).
 */
import * as grpc from "@grpc/grpc-js";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as statusproto from "@pulumi/pulumi/proto/status_pb";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as path from "path";
import * as vm from "vm";
import { SECRET_SIG, SECRET_SIG_KEY } from "./wire";

/** The real process object (under jest, `process` is a per-test copy that never sees `exit`). */
const realProcess = vm.runInThisContext("process") as NodeJS.Process;

interface Unrefable {
    ref?: () => void;
    unref?: () => void;
}

/** A JSON object as the host sees it. */
export type PropertyMap = Record<string, unknown>;

export interface ResourceRef {
    urn: string;
    type: string;
    name: string;
}

export interface CheckFailure {
    property: string;
    reason: string;
}

export interface CheckResult {
    inputs: PropertyMap;
    failures: CheckFailure[];
}

/** DIFF_UNKNOWN: the provider has no diff(); the engine then compares inputs itself. */
export type DiffChanges = "unknown" | "none" | "some";

export interface DiffResult {
    changes: DiffChanges;
    replaces: string[];
    deleteBeforeReplace: boolean;
}

export interface CreateResult {
    id: string;
    properties: PropertyMap;
}

export interface ReadResult {
    /** Empty when the provider says the resource is gone. */
    id: string;
    properties: PropertyMap;
    /** Only when the provider's read() returned inputs. */
    inputs: PropertyMap | null;
}

export interface UpdateResult {
    properties: PropertyMap;
}

/** The resource exists but did not initialize (an error with `id` + `properties`). */
export interface InitFailure {
    id: string;
    properties: PropertyMap;
    reasons: string[];
}

export type ProviderOp = "configure" | "check" | "diff" | "create" | "read" | "update" | "delete" | "getSchema" | "construct";

/** A failed host call: the provider's message, and the init failure if the host sent one. */
export class ProviderCallError extends Error {
    constructor(
        readonly op: ProviderOp,
        message: string,
        readonly code: number,
        readonly initFailure: InitFailure | null,
    ) {
        super(message);
        this.name = "ProviderCallError";
    }
}

export interface HostOptions {
    /** Working directory of the host (module resolution of provider code). Default: repo root. */
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    /** Give up if the host has not printed its port by then. Default 30 s. */
    startTimeoutMs?: number;
    /** Every line the host writes after its port (stdout and stderr), as it comes. */
    onLog?: (line: string) => void;
    /**
     * Start a component provider instead (`pulumi package add`'s plugin): the engine runs
     * `@pulumi/pulumi/cmd/run-plugin <directory> <engine address>`, which serves the package's
     * components with GetSchema/Construct.
     */
    plugin?: { directory: string; engineAddress: string };
}

/**
 * Where `script` resolves for a node started in `cwd` with `env`: what the CLI's
 * pulumi-resource-pulumi-nodejs does (`node -e "console.log(require.resolve(...))"` there), so
 * NODE_PATH counts as it would and this process's own resolver (jest's, under tests) does not.
 */
export function resolveAsTheCli(script: string, cwd: string, env: NodeJS.ProcessEnv): string {
    const r = spawnSync(process.execPath, ["-e", `process.stdout.write(require.resolve(${JSON.stringify(script)}))`], { cwd, env, encoding: "utf8" });
    if (r.status === 0 && r.stdout) return r.stdout;
    const reason = (r.stderr ?? "").split("\n").find((l) => /Cannot find module|Error/.test(l)) ?? r.error?.message ?? `exit ${r.status}`;
    throw new Error(`${script} cannot be resolved from ${cwd}, where Pulumi starts this host (pulumi/pulumi#5455): ${reason.trim()}`);
}

/** Directory of the installed @pulumi/pulumi package. */
export function pulumiPackageDir(): string {
    return path.dirname(require.resolve("@pulumi/pulumi/package.json"));
}

/** The repository root: the directory whose node_modules holds @pulumi/pulumi. */
export function defaultHostCwd(): string {
    return path.resolve(pulumiPackageDir(), "..", "..", "..");
}

/** JSON semantics (undefined keys dropped), then a Struct, as the host builds its own. */
export function toStruct(value: PropertyMap): structproto.Struct {
    return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(value)) as Record<string, structproto.JavaScriptValue>);
}

export function fromStruct(struct: structproto.Struct | undefined): PropertyMap {
    return struct ? (struct.toJavaScript() as PropertyMap) : {};
}

function initFailureOf(error: grpc.ServiceError): InitFailure | null {
    const raw = error.metadata?.get("grpc-status-details-bin") ?? [];
    for (const value of raw) {
        const bytes = typeof value === "string" ? Buffer.from(value, "binary") : value;
        const status = statusproto.Status.deserializeBinary(new Uint8Array(bytes));
        for (const detail of status.getDetailsList()) {
            if (detail.getTypeName() !== "pulumirpc.ErrorResourceInitFailed") continue;
            const failed = provproto.ErrorResourceInitFailed.deserializeBinary(detail.getValue_asU8());
            return { id: failed.getId(), properties: fromStruct(failed.getProperties()), reasons: failed.getReasonsList() };
        }
    }
    return null;
}

/**
 * The provider's message. A dropped connection during create/update gets an explanation: the
 * host sends an initialization failure's properties as an HTTP/2 trailer, and Node's HTTP/2
 * (nghttp2) cannot send a header field over 64 KB: the host's session dies without a word and
 * every call on it would hang (the client's keepalive turns that into this error).
 */
function describeCallError(op: ProviderOp, error: grpc.ServiceError): string {
    const message = error.details || error.message;
    if (error.code === grpc.status.UNAVAILABLE && (op === "create" || op === "update")) {
        return (
            `${message} (the dynamic-provider host dropped the connection while answering ${op}; if the provider threw an error with ` +
            "id/properties, its properties are too large for an HTTP/2 trailer (over 64 KB encoded): the real host cannot send them to the engine either)"
        );
    }
    return message;
}

type Reply<Res> = (error: grpc.ServiceError | null, response: Res) => void;

export class DynamicProviderHost {
    private stopping: Promise<void> | null = null;
    private readonly exitHook = (): void => {
        if (this.child.exitCode !== null || this.child.pid === undefined) return;
        try {
            process.kill(-this.child.pid, "SIGKILL");
        } catch {
            // Already gone.
        }
    };
    private readonly lines: string[] = [];

    private constructor(
        private readonly child: ChildProcess,
        private readonly client: provrpc.ResourceProviderClient,
        readonly port: number,
        private readonly onLog: ((line: string) => void) | undefined,
        /** The host's working directory and the dynamic-provider script it runs. */
        readonly cwd: string,
        readonly entry: string,
    ) {
        // If the caller forgets stop(), neither keep this process alive nor leave a host behind.
        realProcess.once("exit", this.exitHook);
        this.child.unref();
        (this.child.stdin as Unrefable | null)?.unref?.();
        (this.child.stdout as Unrefable | null)?.unref?.();
        (this.child.stderr as Unrefable | null)?.unref?.();
    }

    /** Spawns the host and connects; resolves once it listens. */
    static async start(options: HostOptions = {}): Promise<DynamicProviderHost> {
        const cwd = options.cwd ?? defaultHostCwd();
        // As pulumi-resource-pulumi-nodejs: the host of the @pulumi/pulumi the directory resolves
        // (node_modules up from there, and NODE_PATH). A Python or YAML project has none of its own.
        const script = options.plugin ? "@pulumi/pulumi/cmd/run-plugin" : "@pulumi/pulumi/cmd/dynamic-provider";
        const entry = resolveAsTheCli(script, cwd, options.env ?? process.env);
        const args = options.plugin ? [options.plugin.directory, options.plugin.engineAddress] : ["127.0.0.1:1"];
        // The watchdog preload ends the host when this process goes away, even on SIGKILL. Its own
        // process group: kill() ends the commands it runs too (an interrupted CLI).
        const child = spawn(process.execPath, ["--require", path.join(__dirname, "hostWatchdog.js"), entry, ...args], {
            cwd,
            env: options.env ?? process.env,
            stdio: ["pipe", "pipe", "pipe"],
            detached: true,
        });
        const early: string[] = [];
        let host: DynamicProviderHost | null = null;
        const log = (line: string): void => {
            if (host) host.appendLog(line);
            else early.push(line);
        };
        const port = await new Promise<number>((resolve, reject) => {
            let stdout = "";
            let portSeen = false;
            const timer = setTimeout(() => fail(new Error(`the dynamic-provider host printed no port within ${options.startTimeoutMs ?? 30000} ms`)), options.startTimeoutMs ?? 30000);
            const fail = (e: Error): void => {
                clearTimeout(timer);
                if (child.exitCode === null) child.kill("SIGKILL");
                reject(new Error(`${e.message}${early.length ? `\n${early.join("\n")}` : ""}`));
            };
            child.once("error", fail);
            child.once("exit", (code, signal) => {
                if (!portSeen) fail(new Error(`the dynamic-provider host exited (${code ?? signal}) before listening`));
            });
            child.stdout?.setEncoding("utf8");
            child.stdout?.on("data", (chunk: string) => {
                stdout += chunk;
                let nl: number;
                while ((nl = stdout.indexOf("\n")) >= 0) {
                    const line = stdout.slice(0, nl);
                    stdout = stdout.slice(nl + 1);
                    if (!portSeen) {
                        portSeen = true;
                        clearTimeout(timer);
                        const port = Number(line.trim());
                        if (!Number.isInteger(port) || port <= 0) fail(new Error(`unexpected first line from the host: ${line}`));
                        else resolve(port);
                    } else log(line);
                }
            });
            child.stderr?.setEncoding("utf8");
            child.stderr?.on("data", (chunk: string) => {
                for (const line of chunk.split("\n")) if (line) log(line);
            });
        });
        // Keepalive catches a host whose session died (describeCallError). Not for a component
        // provider: its GetSchema runs the TypeScript analyzer, which blocks the host's event
        // loop for seconds, and an unanswered ping would drop a healthy connection.
        const keepalive = options.plugin ? {} : { "grpc.keepalive_time_ms": 1000, "grpc.keepalive_timeout_ms": 2000, "grpc.keepalive_permit_without_calls": 1 };
        const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
            "grpc.max_receive_message_length": -1,
            "grpc.max_send_message_length": -1,
            ...keepalive,
        });
        host = new DynamicProviderHost(child, client, port, options.onLog, cwd, entry);
        for (const line of early) host.appendLog(line);
        return host;
    }

    get pid(): number {
        return this.child.pid ?? -1;
    }

    get running(): boolean {
        return this.child.exitCode === null && this.child.signalCode === null && this.stopping === null;
    }

    /** Everything the host logged after its port line (provider console output, errors). */
    get logLines(): readonly string[] {
        return this.lines;
    }

    private appendLog(line: string): void {
        this.lines.push(line);
        this.onLog?.(line);
    }

    private call<Res>(op: ProviderOp, invoke: (reply: Reply<Res>) => void): Promise<Res> {
        if (this.stopping) return Promise.reject(new ProviderCallError(op, "the dynamic-provider host is stopped", grpc.status.UNAVAILABLE, null));
        return new Promise<Res>((resolve, reject) => {
            invoke((error, response) => {
                if (error) reject(new ProviderCallError(op, describeCallError(op, error), error.code, initFailureOf(error)));
                else resolve(response);
            });
        });
    }

    /**
     * Configure: `variables` are the whole stack config (`namespace:key` -> value), as the engine
     * gives a dynamic provider (pkg/resource/deploy/target.go `GetPackageConfig`); in `args`,
     * secret ones are wrapped as secrets.
     */
    async configure(variables: Record<string, string>, secretKeys: readonly string[] = []): Promise<{ acceptSecrets: boolean }> {
        const req = new provproto.ConfigureRequest();
        for (const [k, v] of Object.entries(variables)) req.getVariablesMap().set(k, v);
        const args: PropertyMap = {};
        for (const [k, v] of Object.entries(variables)) args[k] = secretKeys.includes(k) ? { [SECRET_SIG_KEY]: SECRET_SIG, value: v } : v;
        req.setArgs(toStruct(args));
        req.setAcceptsecrets(true);
        req.setAcceptresources(true);
        const res = await this.call<provproto.ConfigureResponse>("configure", (reply) => this.client.configure(req, reply));
        return { acceptSecrets: res.getAcceptsecrets() };
    }

    async check(ref: ResourceRef, olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
        const req = new provproto.CheckRequest();
        req.setUrn(ref.urn).setName(ref.name).setType(ref.type).setOlds(toStruct(olds)).setNews(toStruct(news));
        const res = await this.call<provproto.CheckResponse>("check", (reply) => this.client.check(req, reply));
        return {
            inputs: fromStruct(res.getInputs()),
            failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    /** `olds` are the old OUTPUTS (as the engine sends them), `news` the checked inputs. */
    async diff(ref: ResourceRef, id: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): Promise<DiffResult> {
        const req = new provproto.DiffRequest();
        req.setUrn(ref.urn).setName(ref.name).setType(ref.type).setId(id).setOlds(toStruct(olds)).setNews(toStruct(news)).setOldInputs(toStruct(oldInputs));
        const res = await this.call<provproto.DiffResponse>("diff", (reply) => this.client.diff(req, reply));
        const changes = res.getChanges();
        return {
            changes: changes === provproto.DiffResponse.DiffChanges.DIFF_NONE ? "none" : changes === provproto.DiffResponse.DiffChanges.DIFF_SOME ? "some" : "unknown",
            replaces: res.getReplacesList(),
            deleteBeforeReplace: res.getDeletebeforereplace(),
        };
    }

    async create(ref: ResourceRef, properties: PropertyMap): Promise<CreateResult> {
        const req = new provproto.CreateRequest();
        req.setUrn(ref.urn).setName(ref.name).setType(ref.type).setProperties(toStruct(properties)).setPreview(false);
        const res = await this.call<provproto.CreateResponse>("create", (reply) => this.client.create(req, reply));
        return { id: res.getId(), properties: fromStruct(res.getProperties()) };
    }

    async read(ref: ResourceRef, id: string, properties: PropertyMap, inputs: PropertyMap): Promise<ReadResult> {
        const req = new provproto.ReadRequest();
        req.setUrn(ref.urn).setName(ref.name).setType(ref.type).setId(id).setProperties(toStruct(properties)).setInputs(toStruct(inputs));
        const res = await this.call<provproto.ReadResponse>("read", (reply) => this.client.read(req, reply));
        return { id: res.getId(), properties: fromStruct(res.getProperties()), inputs: res.hasInputs() ? fromStruct(res.getInputs()) : null };
    }

    async update(ref: ResourceRef, id: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): Promise<UpdateResult> {
        const req = new provproto.UpdateRequest();
        req.setUrn(ref.urn).setName(ref.name).setType(ref.type).setId(id).setOlds(toStruct(olds)).setNews(toStruct(news)).setOldInputs(toStruct(oldInputs)).setPreview(false);
        const res = await this.call<provproto.UpdateResponse>("update", (reply) => this.client.update(req, reply));
        return { properties: fromStruct(res.getProperties()) };
    }

    async delete(ref: ResourceRef, id: string, properties: PropertyMap, oldInputs: PropertyMap): Promise<void> {
        const req = new provproto.DeleteRequest();
        req.setUrn(ref.urn).setName(ref.name).setType(ref.type).setId(id).setProperties(toStruct(properties)).setOldInputs(toStruct(oldInputs));
        await this.call<unknown>("delete", (reply) => this.client.delete(req, reply));
    }

    /** A component provider's schema (started with `plugin`), as `pulumi package add` asks for it. */
    async getSchema(): Promise<string> {
        const req = new provproto.GetSchemaRequest();
        const res = await this.call<provproto.GetSchemaResponse>("getSchema", (reply) => this.client.getSchema(req, reply));
        return res.getSchema();
    }

    /** Construct of a component (started with `plugin`): the engine's request as the caller builds it. */
    construct(req: provproto.ConstructRequest): Promise<provproto.ConstructResponse> {
        return this.call<provproto.ConstructResponse>("construct", (reply) => this.client.construct(req, reply));
    }

    /** Like a killed CLI: the host and every command it is running, at once. */
    async kill(): Promise<void> {
        this.client.close();
        realProcess.removeListener("exit", this.exitHook);
        const pid = this.child.pid;
        if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
            const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
            try {
                process.kill(-pid, "SIGKILL");
            } catch {
                // Already gone.
            }
            await gone;
        }
        this.stopping = this.stopping ?? Promise.resolve();
    }

    /** Closes the channel and ends the process (SIGTERM, then SIGKILL after 5 s). Idempotent. */
    stop(): Promise<void> {
        if (!this.stopping) {
            this.stopping = new Promise<void>((resolve) => {
                this.client.close();
                realProcess.removeListener("exit", this.exitHook);
                if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
                // Keep the event loop alive until the host is gone.
                this.child.ref();
                const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
                this.child.once("exit", () => {
                    clearTimeout(timer);
                    resolve();
                });
                this.child.kill("SIGTERM");
            });
        }
        return this.stopping;
    }
}
