/**
 * This package as the engine starts it for `pulumi package add` and for programs in other
 * languages: Pulumi's real `cmd/run-plugin` on the package directory, spoken to over gRPC
 * (GetSchema, Construct), with the harness's ResourceMonitor/Engine services as the engine's side.
 */
import * as path from "path";
import { EngineServer, EngineServices } from "../engine/monitor";
import { DynamicProviderHost } from "../engine/providerHost";

/** The package directory: where PulumiPlugin.yaml and package.json are. */
export const PACKAGE_DIR = path.resolve(__dirname, "..", "..");

/** The committed schema (what `npm run schema` writes). */
export const SCHEMA_FILE = path.join(PACKAGE_DIR, "schema.json");

export interface ComponentPlugin {
    host: DynamicProviderHost;
    engine: EngineServer;
    stop(): Promise<void>;
}

/** Starts the plugin; `services` answer what the component registers during Construct. */
export async function startComponentPlugin(services: EngineServices, directory = PACKAGE_DIR): Promise<ComponentPlugin> {
    const engine = await EngineServer.start(services);
    try {
        // The analyzer reads the TypeScript sources: allow it the time a cold tsc takes.
        const host = await DynamicProviderHost.start({ cwd: directory, plugin: { directory, engineAddress: engine.address }, startTimeoutMs: 120_000 });
        return {
            host,
            engine,
            stop: async () => {
                await host.stop();
                await engine.stop();
            },
        };
    } catch (e) {
        await engine.stop();
        throw e;
    }
}

/** The schema as the plugin serves it, in the form committed as schema.json. */
export function formatSchema(schema: string): string {
    return `${JSON.stringify(JSON.parse(schema), null, 2)}\n`;
}
