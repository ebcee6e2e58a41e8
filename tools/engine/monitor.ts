/**
 * The engine's side of the language host protocol: the ResourceMonitor and Engine gRPC services
 * a Pulumi program connects to (`--monitor`, `--engine`), served with Pulumi's own stubs from
 * `@pulumi/pulumi/proto`. What each registration does is decided by the caller (the step logic
 * in deployment.ts); this file only speaks the protocol.
 *
 * SupportsFeature answers exactly as the 3.248 engine does (pulumi/pulumi
 * `pkg/resource/deploy/source_eval.go` `supportsFeatureID`). Calls the harness does not
 * implement (Invoke, Call, ReadResource, transforms, hooks, packages, ...) fail with
 * UNIMPLEMENTED and a message naming the call, and are reported to the caller so the operation
 * fails even if the program swallowed the error.
 */
import * as grpc from "@grpc/grpc-js";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import * as resrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";

/** Features the 3.248 engine says it supports (everything else: false). */
const ENGINE_FEATURES = new Set([
    "secrets",
    "resourceReferences",
    "outputValues",
    "aliasSpecs",
    "replacementTrigger",
    "deletedWith",
    "replaceWith",
    "transforms",
    "invokeTransforms",
    "parameterization",
    "resourceHooks",
    "errorHooks",
    "sendsOptionsToHooks",
]);

export function engineSupportsFeature(id: string): boolean {
    return ENGINE_FEATURES.has(id);
}

export type LogSeverity = "debug" | "info" | "warning" | "error";

const SEVERITIES: Record<number, LogSeverity> = {
    [engproto.LogSeverity.DEBUG]: "debug",
    [engproto.LogSeverity.INFO]: "info",
    [engproto.LogSeverity.WARNING]: "warning",
    [engproto.LogSeverity.ERROR]: "error",
};

/** One message the program sent with Engine.Log (what the CLI prints as diagnostics). */
export interface ProgramLogEntry {
    severity: LogSeverity;
    message: string;
    urn: string;
    ephemeral: boolean;
}

/** A gRPC error with a status code, as the engine answers. */
export class MonitorError extends Error {
    constructor(
        readonly code: grpc.status,
        message: string,
    ) {
        super(message);
    }
}

export interface EngineServices {
    registerResource(request: resproto.RegisterResourceRequest): Promise<resproto.RegisterResourceResponse>;
    registerResourceOutputs(request: resproto.RegisterResourceOutputsRequest): Promise<void>;
    log(entry: ProgramLogEntry): void;
    /** A call the harness does not implement; the program gets UNIMPLEMENTED with this message. */
    unsupported(call: string, message: string): void;
}

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

function answer<Req, Res>(handler: (request: Req) => Promise<Res>): Unary<Req, Res> {
    return (call, callback) => {
        handler(call.request).then(
            (response) => callback(null, response),
            (e: unknown) => {
                const code = e instanceof MonitorError ? e.code : grpc.status.UNKNOWN;
                callback({ code, details: e instanceof Error ? e.message : String(e), name: "Error", message: String(e), metadata: new grpc.Metadata() });
            },
        );
    };
}

export class EngineServer {
    private rootUrn = "";

    private constructor(
        private readonly server: grpc.Server,
        readonly address: string,
    ) {}

    static async start(services: EngineServices): Promise<EngineServer> {
        const server = new grpc.Server({ "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
        const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
        const engineServer = new EngineServer(server, `127.0.0.1:${port}`);
        const unsupported = <Req, Res>(name: string, detail = ""): Unary<Req, Res> =>
            answer<Req, Res>(async () => {
                const message = `the harness (tools/engine) does not support ${name}${detail ? `: ${detail}` : ""}`;
                services.unsupported(name, message);
                throw new MonitorError(grpc.status.UNIMPLEMENTED, message);
            });
        const monitor: resrpc.IResourceMonitorServer = {
            getDeploymentInfo: unsupported("ResourceMonitor.GetDeploymentInfo"),
            supportsFeature: answer(async (req: resproto.SupportsFeatureRequest) => new resproto.SupportsFeatureResponse().setHassupport(engineSupportsFeature(req.getId()))),
            invoke: unsupported<resproto.ResourceInvokeRequest, never>("ResourceMonitor.Invoke (functions/data sources)"),
            call: unsupported("ResourceMonitor.Call (methods of remote components)"),
            readResource: unsupported("ResourceMonitor.ReadResource (Resource.get)"),
            registerResource: answer((req: resproto.RegisterResourceRequest) => services.registerResource(req)),
            registerResourceOutputs: answer(async (req: resproto.RegisterResourceOutputsRequest) => {
                await services.registerResourceOutputs(req);
                return new emptyproto.Empty();
            }),
            registerStackTransform: unsupported("ResourceMonitor.RegisterStackTransform (transforms)"),
            registerStackInvokeTransform: unsupported("ResourceMonitor.RegisterStackInvokeTransform"),
            registerResourceHook: unsupported("ResourceMonitor.RegisterResourceHook (resource hooks)"),
            registerErrorHook: unsupported("ResourceMonitor.RegisterErrorHook"),
            registerPackage: unsupported("ResourceMonitor.RegisterPackage (parameterized packages)"),
            // The program is done registering; the harness has nothing to wait for (no hooks).
            signalAndWaitForShutdown: answer(async () => new emptyproto.Empty()),
        };
        const engine: engrpc.IEngineServer = {
            log: answer(async (req: engproto.LogRequest) => {
                services.log({ severity: SEVERITIES[req.getSeverity()] ?? "info", message: req.getMessage(), urn: req.getUrn(), ephemeral: req.getEphemeral() });
                return new emptyproto.Empty();
            }),
            getRootResource: answer(async () => new engproto.GetRootResourceResponse().setUrn(engineServer.rootUrn)),
            setRootResource: answer(async (req: engproto.SetRootResourceRequest) => {
                engineServer.rootUrn = req.getUrn();
                return new engproto.SetRootResourceResponse();
            }),
            startDebugging: unsupported("Engine.StartDebugging"),
            requirePulumiVersion: unsupported("Engine.RequirePulumiVersion"),
        };
        server.addService(resrpc.ResourceMonitorService, monitor);
        server.addService(engrpc.EngineService, engine);
        return engineServer;
    }

    /** Stops at once: calls still open (a killed program's) are cancelled. */
    stop(): Promise<void> {
        this.server.forceShutdown();
        return Promise.resolve();
    }
}
