/**
 * `npm run schema`: asks the package, started as the engine starts it, for its schema and writes
 * schema.json. test/engine/componentPlugin.test.ts fails when the two differ.
 */
import { writeFileSync } from "fs";
import { SCHEMA_FILE, formatSchema, startComponentPlugin } from "./componentPlugin";

async function main(): Promise<void> {
    const refuse = (call: string): never => {
        throw new Error(`GetSchema registers nothing; got ${call}`);
    };
    const plugin = await startComponentPlugin({
        registerResource: () => refuse("RegisterResource"),
        registerResourceOutputs: () => refuse("RegisterResourceOutputs"),
        log: (entry) => console.error(`${entry.severity}: ${entry.message}`),
        unsupported: (call) => refuse(call),
    });
    try {
        writeFileSync(SCHEMA_FILE, formatSchema(await plugin.host.getSchema()));
        console.log(`wrote ${SCHEMA_FILE}`);
    } finally {
        await plugin.stop();
    }
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
