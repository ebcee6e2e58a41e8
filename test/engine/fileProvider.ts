/**
 * A tiny dynamic provider for the harness's own tests (used by the test project in
 * ./projects/files): each resource is a file in `dir`.
 * Every operation appends a line to `<dir>/ops.log` from INSIDE the dynamic-provider host, so
 * tests see the order in which the real host ran the calls.
 *
 * Knobs (inputs): `failOn` makes create/update/delete throw; while `<dir>/<file>.notready`
 * exists, create/update fail with an initialization failure (the error carries id and
 * properties); `replaceOnRename` + a new `file` asks for a replacement, `dbr` for
 * delete-before-replace.
 */
import * as pulumi from "@pulumi/pulumi";
// Named imports on purpose: swc's `import * as` wrapper is not a module object, and the closure
// serializer only emits `require(...)` for real module objects.
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";

export interface FileInputs {
    dir: string;
    file: string;
    content: string;
    failOn?: "create" | "update" | "delete" | null;
    dbr?: boolean;
    /** Anything; tests pass secrets here. */
    extra?: string;
    /** Create/update take this long. */
    delayMs?: number;
}

export interface FileOutputs extends FileInputs {
    size: number;
    writes: number;
}

function log(dir: string, line: string): void {
    appendFileSync(join(dir, "ops.log"), `${line}\n`);
}

function write(inputs: FileInputs, writes: number): FileOutputs {
    writeFileSync(join(inputs.dir, inputs.file), `${inputs.content}${inputs.extra ? `\n${inputs.extra}` : ""}`);
    return { ...inputs, size: inputs.content.length, writes };
}

function pause(inputs: FileInputs): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, inputs.delayMs ?? 0));
}

function notReady(inputs: FileInputs): boolean {
    return existsSync(join(inputs.dir, `${inputs.file}.notready`));
}

export const fileProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: FileInputs, news: FileInputs) {
        // What a preview does not know yet arrives as the unknown sentinel: record that we saw it.
        const unknown = Object.entries(news).filter(([, v]) => v === "04da6b54-80e4-46f7-96ec-b56ff0331ba9").map(([k]) => k);
        if (unknown.length > 0) log(news.dir, `check ${news.file} unknown ${unknown.join(",")}`);
        const failures = news.content === "invalid" ? [{ property: "content", reason: "must not be 'invalid'" }] : [];
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: FileOutputs, news: FileInputs) {
        const replaces = olds.file !== news.file ? ["file"] : [];
        const changes = replaces.length > 0 || olds.content !== news.content || (olds.extra ?? null) !== (news.extra ?? null) || (olds.failOn ?? null) !== (news.failOn ?? null) || (olds.dbr === true) !== (news.dbr === true);
        return { changes, replaces, deleteBeforeReplace: news.dbr === true };
    },

    async create(inputs: FileInputs) {
        log(inputs.dir, `create ${inputs.file}`);
        await pause(inputs);
        if (inputs.failOn === "create") throw new Error(`cannot create ${inputs.file}`);
        const outs = write(inputs, 1);
        if (notReady(inputs)) throw Object.assign(new Error(`${inputs.file} is not ready`), { id: inputs.file, properties: outs, reasons: [`${inputs.file} is not ready`] });
        return { id: inputs.file, outs };
    },

    async read(id: string, props: FileOutputs) {
        const file = join(props.dir, id);
        if (!existsSync(file)) return { id: "", props: {} };
        const content = readFileSync(file, "utf8").split("\n")[0];
        return { id, props: { ...props, content, size: content.length } };
    },

    async update(_id: string, olds: FileOutputs, news: FileInputs) {
        log(news.dir, `update ${news.file}`);
        await pause(news);
        if (news.failOn === "update") throw new Error(`cannot update ${news.file}`);
        const outs = write(news, olds.writes + 1);
        if (notReady(news)) throw Object.assign(new Error(`${news.file} is not ready`), { id: news.file, properties: outs, reasons: [`${news.file} is not ready`] });
        return { outs };
    },

    async delete(id: string, props: FileOutputs) {
        log(props.dir, `delete ${id}`);
        if (props.failOn === "delete") throw new Error(`cannot delete ${id}`);
        rmSync(join(props.dir, id), { force: true });
    },
};

export interface TestFileArgs {
    dir: pulumi.Input<string>;
    file: pulumi.Input<string>;
    content: pulumi.Input<string>;
    failOn?: pulumi.Input<"create" | "update" | "delete" | null>;
    dbr?: pulumi.Input<boolean>;
    extra?: pulumi.Input<string>;
    delayMs?: pulumi.Input<number>;
}

export class TestFile extends pulumi.dynamic.Resource {
    declare readonly content: pulumi.Output<string>;
    declare readonly size: pulumi.Output<number>;
    declare readonly writes: pulumi.Output<number>;
    declare readonly extra: pulumi.Output<string | undefined>;

    constructor(name: string, args: TestFileArgs, opts?: pulumi.CustomResourceOptions) {
        super(fileProvider, name, { failOn: null, dbr: false, extra: undefined, ...args, size: undefined, writes: undefined }, opts, "harness-test", "TestFile");
    }
}

export const TEST_FILE_TYPE = "pulumi-nodejs:dynamic/harness-test:TestFile";
