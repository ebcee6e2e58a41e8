/**
 * Proves the harness itself (tools/engine), not the product: programs started the way the CLI
 * starts them (./projects/*: Pulumi.yaml, cmd/run, type checking), engine semantics against a
 * tiny file-writing dynamic provider (./fileProvider.ts) in Pulumi's real dynamic-provider
 * host, the tls double, and the product's program up to its first remote step (no lab needed).
 * The engine behaviour each test follows is cited in tools/engine/README.md.
 */
import { execFileSync } from "child_process";
import { X509Certificate, createPrivateKey, randomBytes } from "crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Harness, HarnessError, HarnessOptions, HarnessState, OperationResult, UNKNOWN, UpOptions, isSecret } from "../../tools/engine/engine";
import { requireTool } from "../support/requireTool";
import { TEST_FILE_TYPE } from "./fileProvider";
import { privateKeyHeader } from "../fixtures/fakeKeys";

jest.setTimeout(120_000);

const FILES = join(__dirname, "projects", "files");

/** A file resource of the test program (projects/files/index.ts). */
interface FileSpec {
    name: string;
    file?: string;
    content?: string | { of: string; output: string; suffix?: string };
    dependsOn?: string[];
    failOn?: "create" | "update" | "delete" | null;
    dbr?: boolean;
    extra?: string;
    secretExtra?: string;
    delayMs?: number;
}

function ops(result: OperationResult, name?: string): string[] {
    return result.journal.filter((j) => !name || j.name === name).map((j) => (name ? j.op : `${j.op}:${j.name}`));
}

function entry(result: OperationResult, op: string, name: string) {
    const found = result.journal.find((j) => j.op === op && j.name === name);
    if (!found) throw new Error(`no ${op} of ${name} in ${ops(result).join(" ")}`);
    return found;
}

async function failureOf(promise: Promise<unknown>): Promise<HarnessError> {
    const outcome = await promise.then(
        () => null,
        (e: unknown) => e,
    );
    if (!(outcome instanceof HarnessError)) throw new Error(`expected a HarnessError, got ${String(outcome)}`);
    return outcome;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

let dir: string;
const opsLog = (): string[] => (existsSync(join(dir, "ops.log")) ? readFileSync(join(dir, "ops.log"), "utf8").split("\n").filter(Boolean) : []);
const fileNames = (h: Harness): string[] => h.state.resources.filter((r) => r.type === TEST_FILE_TYPE).map((r) => r.name).sort();
/** Config for the test program: these resources (and outputs, tls, ...). */
const files = (resources: FileSpec[], extra: Record<string, unknown> = {}): UpOptions => ({ config: { dir, resources, ...extra } });
/** An update without its preview: for the tests of update semantics. */
const update = (resources: FileSpec[], extra: Record<string, unknown> = {}, more: UpOptions = {}): UpOptions => ({ ...files(resources, extra), skipPreview: true, ...more });

function filesHarness(options: HarnessOptions = {}): Harness {
    return new Harness({ projectDir: FILES, stack: "test", ...options });
}

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "koi-harness-"));
});
afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
});

describe("update semantics (file provider in the real dynamic-provider host)", () => {
    let h: Harness;
    beforeEach(() => {
        h = filesHarness();
    });
    afterEach(async () => {
        await h.close();
    });

    test("create, then a rerun without changes makes no Create/Update call", async () => {
        const program = [{ name: "a" }, { name: "b", content: { of: "a", output: "content", suffix: "+b" } }];
        const first = await h.up(update(program, { outputs: { a: "a.content", b: "b.content" } }));
        expect(first.outputs).toEqual({ a: "a-v1", b: "a-v1+b" });
        expect(ops(first)).toEqual(["configure:default", "check:a", "create:a", "check:b", "create:b"]);
        expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("a-v1+b");
        expect(h.resource("b").dependencies).toEqual([h.resource("a").urn]);
        // The engine's URN: parent types, but not the root stack's.
        expect(h.resource("a").urn).toBe("urn:pulumi:test::files::pulumi-nodejs:dynamic/harness-test:TestFile::a");

        const second = await h.up(update(program, { outputs: { a: "a.content", b: "b.content" } }));
        expect(second.journal.filter((j) => j.op === "create" || j.op === "update")).toEqual([]);
        expect(ops(second, "a")).toEqual(["check", "diff"]);
        expect(second.steps.map((s) => `${s.op}:${s.name}`)).toEqual(["same:a", "same:b"]);
        expect(opsLog()).toEqual(["create a.txt", "create b.txt"]);
    });

    test("a changed input is an Update; dependents see the new value", async () => {
        const program = (v: string) => [{ name: "a", content: v }, { name: "b", content: { of: "a", output: "content", suffix: "+b" } }];
        await h.up(update(program("one")));
        const idBefore = h.resource("a").id;
        const result = await h.up(update(program("two")));
        expect(ops(result, "a")).toEqual(["check", "diff", "update"]);
        expect(ops(result, "b")).toEqual(["check", "diff", "update"]);
        expect(h.resource("a").id).toBe(idBefore);
        expect(h.outputsOf("a")).toMatchObject({ content: "two", writes: 2 });
        expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("two+b");
    });

    test("replace: the new one is created first, the old one deleted at the end", async () => {
        await h.up(update([{ name: "a" }, { name: "b", content: { of: "a", output: "id" } }]));
        const result = await h.up(update([{ name: "a", file: "a2.txt" }, { name: "b", content: { of: "a", output: "id" } }]));
        const create = entry(result, "create", "a");
        const del = entry(result, "delete", "a");
        expect(create.endSeq).toBeLessThan(del.startSeq);
        // The original goes after everything else in the run (b was updated with the new id).
        expect(result.journal[result.journal.length - 1]).toBe(del);
        expect(entry(result, "update", "b").endSeq).toBeLessThan(del.startSeq);
        expect(result.steps.find((s) => s.name === "a")?.op).toBe("replace");
        expect(opsLog()).toEqual(["create a.txt", "create b.txt", "create a2.txt", "update b.txt", "delete a.txt"]);
        expect(existsSync(join(dir, "a.txt"))).toBe(false);
        expect(h.resource("a").id).toBe("a2.txt");
        expect(h.state.resources.some((r) => r.pendingDelete)).toBe(false);
    });

    test("`replace` forces a replacement without changes, like `pulumi up --replace` (no Diff: step_generator.go)", async () => {
        const program = update([{ name: "a" }], { tlsKey: true });
        await h.up(program);
        const key = h.outputsOf("key").privateKeyPem;
        const result = await h.up({ ...program, replace: ["a", "key"] });
        expect(ops(result, "a")).toEqual(["check", "create", "delete"]);
        expect(ops(result, "key")).toEqual(["create", "delete"]);
        expect(h.outputsOf("key").privateKeyPem).not.toBe(key);
        expect(opsLog()).toEqual(["create a.txt", "create a.txt", "delete a.txt"]);
    });

    test("replace with deleteBeforeReplace deletes first", async () => {
        await h.up(update([{ name: "a", dbr: true }]));
        const result = await h.up(update([{ name: "a", dbr: true, file: "a2.txt" }]));
        expect(ops(result, "a")).toEqual(["check", "diff", "delete", "create"]);
        expect(opsLog()).toEqual(["create a.txt", "delete a.txt", "create a2.txt"]);
    });

    test("resources the program no longer registers are deleted, dependents first", async () => {
        await h.up(update([{ name: "a" }, { name: "b", dependsOn: ["a"] }, { name: "c", dependsOn: ["b"] }, { name: "d" }]));
        const result = await h.up(update([{ name: "a" }, { name: "d" }]));
        expect(entry(result, "delete", "c").endSeq).toBeLessThan(entry(result, "delete", "b").startSeq);
        expect(opsLog().slice(-2)).toEqual(["delete c.txt", "delete b.txt"]);
        expect(fileNames(h)).toEqual(["a", "d"]);
    });

    test("destroy deletes everything in reverse dependency order", async () => {
        await h.up(update([{ name: "a", delayMs: 50 }, { name: "b", content: { of: "a", output: "content" } }, { name: "c", dependsOn: ["b"] }, { name: "d" }]));
        const result = await h.destroy();
        expect(entry(result, "delete", "c").endSeq).toBeLessThan(entry(result, "delete", "b").startSeq);
        expect(entry(result, "delete", "b").endSeq).toBeLessThan(entry(result, "delete", "a").startSeq);
        expect(h.state.resources).toEqual([]);
        expect(["a", "b", "c", "d"].filter((n) => existsSync(join(dir, `${n}.txt`)))).toEqual([]);
    });

    test("refresh reads through the provider; a resource that is gone leaves the state; stack outputs stay", async () => {
        const program = update([{ name: "a" }, { name: "b" }], { tlsKey: true, outputs: { a: "a.content" } });
        await h.up(program);
        const keyOutputs = h.resource("key").outputs;
        const stackOutputs = h.state.resources.find((r) => r.kind === "stack")?.outputs;
        writeFileSync(join(dir, "a.txt"), "edited");
        unlinkSync(join(dir, "b.txt"));
        const result = await h.refresh();
        expect(ops(result).filter((o) => !o.startsWith("read:key")).sort()).toEqual(["configure:default", "read:a", "read:b"]);
        expect(h.outputsOf("a").content).toBe("edited");
        expect(() => h.resource("b")).toThrow();
        expect(h.resource("key").outputs).toEqual(keyOutputs);
        // Without --run-program the program does not run: stack outputs are as they were.
        expect(h.state.resources.find((r) => r.kind === "stack")?.outputs).toEqual(stackOutputs);
        // The next up repairs both: Update for the drifted one, Create for the missing one.
        const up = await h.up(program);
        expect(ops(up, "a")).toEqual(["check", "diff", "update"]);
        expect(ops(up, "b")).toEqual(["check", "create"]);
    });

    test("a program error fails the up and deletes nothing", async () => {
        await h.up(update([{ name: "a" }]));
        const error = await failureOf(h.up(update([], { throw: "bad config" })));
        expect(error.failures).toEqual([]);
        expect(error.programError).toContain("bad config");
        expect(error.result.journal).toEqual([]);
        expect(h.resource("a").id).toBe("a.txt");
        expect(existsSync(join(dir, "a.txt"))).toBe(true);
    });

    test("an initialization failure is recorded, and the next up always calls Update", async () => {
        const program = update([{ name: "a" }]);
        writeFileSync(join(dir, "a.txt.notready"), "");
        const first = await failureOf(h.up(program));
        expect(first.failures[0].message).toBe("a.txt is not ready");
        expect(h.resource("a").initErrors).toEqual(["a.txt is not ready"]);
        expect(h.outputsOf("a")).toMatchObject({ content: "a-v1", writes: 1 });

        const again = await failureOf(h.up(program));
        expect(ops(again.result, "a")).toEqual(["check", "diff", "update"]);
        expect(h.outputsOf("a").writes).toBe(2);

        unlinkSync(join(dir, "a.txt.notready"));
        const ok = await h.up(program);
        expect(ops(ok, "a")).toEqual(["check", "diff", "update"]);
        expect(h.resource("a").initErrors).toEqual([]);
        expect(ops(await h.up(program), "a")).toEqual(["check", "diff"]);
    });

    test("an init failure too large for the host's HTTP/2 trailer becomes an error, not a hang", async () => {
        // The host sends init-failure properties in a trailer; Node's HTTP/2 cannot send a header
        // field over 64 KB, and the host's session dies silently (as it would under the engine).
        writeFileSync(join(dir, "a.txt.notready"), "");
        const error = await failureOf(h.up(update([{ name: "a", extra: randomBytes(50_000).toString("hex") }])));
        expect(error.failures.map((f) => f.name)).toEqual(["a"]);
        expect(error.failures[0].message).toContain("dropped the connection");
        expect(() => h.resource("a")).toThrow(); // its properties never arrived
        unlinkSync(join(dir, "a.txt.notready"));
        const ok = await h.up(update([{ name: "a" }]));
        expect(ops(ok, "a")).toEqual(["check", "create"]);
    });

    test("`parallel` bounds concurrent steps, like the engine's --parallel", async () => {
        const limited = filesHarness({ parallel: 1 });
        const result = await limited.up(update(["a", "b", "c"].map((name) => ({ name, delayMs: 100 }))));
        const creates = result.journal.filter((j) => j.op === "create").sort((x, y) => x.startSeq - y.startSeq);
        expect(creates).toHaveLength(3);
        for (let i = 1; i < creates.length; i++) expect(creates[i - 1].endSeq).toBeLessThan(creates[i].startSeq);
    });

    test("secrets stay wrapped in state and outputs; the host gets plain values", async () => {
        const result = await h.up(update([{ name: "a", secretExtra: "s3cr3t-value" }], { outputs: { extra: "a.extra", size: "a.size" } }));
        expect(result.outputs).toEqual({ extra: "s3cr3t-value", size: 4 });
        expect(result.secretOutputs).toEqual(["extra"]);
        const a = h.resource("a");
        expect(isSecret(a.inputs.extra)).toBe(true);
        expect(a.secretInputPaths).toEqual(["extra"]);
        expect(a.secretOutputPaths).toEqual(["extra"]);
        expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("a-v1\ns3cr3t-value");
        const outside = h.stringsOutsideSecrets();
        expect(outside.some((s) => s.path === "__provider" && s.value.includes("exports.handler"))).toBe(true);
        expect(outside.filter((s) => s.value.includes("s3cr3t"))).toEqual([]);
        // Nor in anything the program sent or printed.
        expect(h.programLog.filter((l) => l.includes("s3cr3t"))).toEqual([]);
    });

    test("tls double: outputs stable across runs, renewal follows the harness clock", async () => {
        const t0 = new Date("2030-01-01T00:00:00Z");
        const hours = (n: number) => new Date(t0.getTime() + n * 3600_000);
        const program = (now: Date) => update([], { tlsKey: true, tlsCert: true, outputs: { key: "key.privateKeyPem", pem: "cert.certPem", ready: "cert.readyForRenewal", start: "cert.validityStartTime" } }, { now });
        const first = await h.up(program(t0));
        expect(first.secretOutputs).toEqual(["key"]);
        expect(String(first.outputs.key)).toMatch(new RegExp(`^${privateKeyHeader("EC ")}\n`));
        expect(first.outputs.start).toBe("2030-01-01T00:00:00Z");
        const x509 = new X509Certificate(String(first.outputs.pem));
        expect(x509.subject).toBe("O=harness\nCN=example");
        expect(x509.subjectAltName).toBe("DNS:example.test");
        expect(x509.checkPrivateKey(createPrivateKey(String(first.outputs.key)))).toBe(true);
        expect(new Date(x509.validTo).getTime()).toBe(hours(10).getTime());

        const later = await h.up(program(hours(7)));
        expect(later.journal.filter((j) => j.op === "create")).toEqual([]);
        expect(later.outputs.pem).toBe(first.outputs.pem);

        const renewal = await h.up(program(hours(8.5)));
        expect(ops(renewal)).toEqual(["create:cert", "delete:cert"]);
        expect(renewal.outputs.key).toBe(first.outputs.key);
        expect(renewal.outputs.pem).not.toBe(first.outputs.pem);
        expect(renewal.outputs.start).toBe("2030-01-01T08:30:00Z");
        expect(renewal.outputs.ready).toBe(false);
    });
});

describe("engine behaviour (pulumi/pulumi v3.248.0 pkg/resource/deploy, cited in tools/engine/README.md)", () => {
    test("preview: Check and Diff get the unknown sentinel, Create/Update are not sent, nothing is saved", async () => {
        const h = filesHarness();
        const program = (v: string) => files([{ name: "a", content: v }, { name: "b", content: { of: "a", output: "writes", suffix: "+b" } }], { outputs: { b: "b.content" } });
        const preview = await h.preview(program("one"));
        // b's content comes from a's `writes`, an output the preview cannot know.
        expect(opsLog()).toEqual(["check b.txt unknown content"]);
        expect(ops(preview)).toEqual(["configure:default", "check:a", "check:b"]);
        expect(preview.steps.map((s) => `${s.op}:${s.name}`)).toEqual(["create:a", "create:b"]);
        expect(preview.outputs.b).toBe(UNKNOWN);
        expect(h.state.resources).toEqual([]);
        expect(h.checkpointCount).toBe(0);

        await h.up({ ...program("one"), skipPreview: true });
        const changed = await h.preview(program("two"));
        // a's new content is known; b's content depends on a's writes after the update: unknown.
        expect(ops(changed)).toEqual(["configure:default", "check:a", "diff:a", "check:b", "diff:b"]);
        expect(changed.steps.map((s) => `${s.op}:${s.name}`)).toEqual(["update:a", "update:b"]);
        expect(opsLog()).toEqual(["check b.txt unknown content", "create a.txt", "create b.txt", "check b.txt unknown content"]);
        expect(h.outputsOf("a").content).toBe("one");
        // A resource the program dropped: a planned delete, not executed.
        const dropped = await h.preview(files([{ name: "a", content: "one" }]));
        expect(dropped.steps.map((s) => `${s.op}:${s.name}`)).toEqual(["same:a", "delete:b"]);
        expect(existsSync(join(dir, "b.txt"))).toBe(true);
    });

    test("up previews first, in its own deployment with its own provider host; each host is stopped after", async () => {
        const h = filesHarness();
        const up = await h.up(files([{ name: "a" }, { name: "b", content: { of: "a", output: "writes" } }]));
        expect(up.preview?.steps.map((s) => `${s.op}:${s.name}`)).toEqual(["create:a", "create:b"]);
        expect(ops(up.preview as OperationResult)).toEqual(["configure:default", "check:a", "check:b"]);
        expect(up.preview?.journal.every((j) => j.command === "preview")).toBe(true);
        expect(ops(up)).toEqual(["configure:default", "check:a", "create:a", "check:b", "create:b"]);
        // pkg/backend/diy/backend.go `apply`: a new engine context and plugin host per deployment.
        expect(h.hostPids).toHaveLength(2);
        expect(new Set(h.hostPids).size).toBe(2);
        expect(h.hostPids.filter(alive)).toEqual([]);
        // refresh and destroy are deployments too.
        await h.refresh();
        await h.destroy();
        expect(h.hostPids).toHaveLength(4);
        expect(h.hostPids.filter(alive)).toEqual([]);
    });

    test("after the first failed step no new step starts; steps in flight finish (continueOnError: they all run)", async () => {
        const program = (failOn: "create" | null) => [
            { name: "a", failOn },
            { name: "b", content: { of: "a", output: "content" } },
            { name: "c", delayMs: 400 },
            { name: "d", dependsOn: ["c"] },
        ];
        const h = filesHarness();
        const error = await failureOf(h.up(update(program("create"), { outputs: { b: "static" } })));
        expect(error.failures.map((f) => `${f.name}:${f.op}:${f.message}`)).toEqual(["a:create:cannot create a.txt"]);
        expect(error.message).toContain("a [pulumi-nodejs:dynamic/harness-test:TestFile] create: cannot create a.txt");
        // c was in flight when a failed: it finished and is in the state; d (after c) never started.
        expect(ops(error.result, "c")).toEqual(["check", "create"]);
        expect(ops(error.result, "d")).toEqual([]);
        expect(ops(error.result, "b")).toEqual([]);
        expect(fileNames(h)).toEqual(["c"]);

        const going = filesHarness({ state: h.snapshot() });
        const error2 = await failureOf(going.up(update(program("create"), {}, { continueOnError: true })));
        expect(error2.failures.map((f) => f.name)).toEqual(["a"]);
        expect(ops(error2.result, "d")).toEqual(["check", "create"]);
        expect(ops(error2.result, "b")).toEqual([]); // its input never resolved
        expect(fileNames(going)).toEqual(["c", "d"]);

        const fixed = await going.up(update(program(null)));
        expect(ops(fixed, "a")).toEqual(["check", "create"]);
        expect(ops(fixed, "b")).toEqual(["check", "create"]);
        expect(ops(fixed, "c")).toEqual(["check", "diff"]);

        // A Check failure is a step failure too, with the provider's reason; nothing is deleted.
        const invalid = await failureOf(going.up(update([{ name: "a", content: "invalid" }])));
        expect(invalid.failures[0].message).toBe("check failed: content: must not be 'invalid'");
        expect(fileNames(going)).toEqual(["a", "b", "c", "d"]);
    });

    test("the state is saved after every step (onCheckpoint: what a file backend writes)", async () => {
        const saved: Array<{ names: string[]; pending: string[]; bytes: number }> = [];
        const h = filesHarness({
            onCheckpoint: (state: HarnessState, bytes: number) => {
                saved.push({ names: state.resources.filter((r) => r.type === TEST_FILE_TYPE).map((r) => r.name), pending: state.pendingOperations.map((o) => `${o.type}:${o.resource.name}`), bytes });
                expect(bytes).toBe(Buffer.byteLength(JSON.stringify(state)));
            },
        });
        await h.up(update([{ name: "a" }, { name: "b", dependsOn: ["a"] }]));
        // Each create: saved when it begins (its pending operation) and when it ends.
        const fileSaves = saved.filter((s) => s.pending.length > 0 || s.names.length > 0);
        expect(fileSaves.map((s) => `${s.names.join(",")}|${s.pending.join(",")}`)).toEqual(expect.arrayContaining(["|creating:a", "a|", "a|creating:b", "a,b|"]));
        expect(saved.every((s) => s.bytes > 0)).toBe(true);
        expect(h.checkpointCount).toBe(saved.length);
        // A second up that changes one resource, deletes one and adds one: the sizes (cached per
        // resource) still equal the whole state serialized, checked inside onCheckpoint.
        const before = saved.length;
        await h.up(update([{ name: "a", content: "changed" }, { name: "c" }]));
        expect(saved.length).toBeGreaterThan(before);
        expect(saved[saved.length - 1].names.sort()).toEqual(["a", "c"]);
    });

    test("interrupted after any step like a killed CLI: state as saved, operations in flight pending; the next up converges", async () => {
        const program = update([{ name: "a" }, { name: "b", dependsOn: ["a"], delayMs: 300 }, { name: "c", delayMs: 300 }]);
        const h = filesHarness();
        // a and c start together; a ends first (step 1): stop there, with c in flight.
        const error = await failureOf(h.up({ ...program, interruptAfterSteps: 1 }));
        expect(error.interrupted).toBe(true);
        expect(error.message).toContain("up interrupted");
        expect(fileNames(h)).toEqual(["a"]);
        expect(h.state.pendingOperations.map((o) => `${o.type}:${o.resource.name}`)).toEqual(["creating:c"]);
        expect(h.hostPids.filter(alive)).toEqual([]);
        await new Promise((r) => setTimeout(r, 500));
        // c's create was cut off with the host; b never started.
        expect(opsLog()).toEqual(["create a.txt", "create c.txt"]);

        const next = await h.up(program);
        expect(next.warnings.join("\n")).toContain("1 pending operations from previous deployment");
        expect(next.warnings.join("\n")).toContain("::c, interrupted while creating");
        expect(ops(next, "a")).toEqual(["check", "diff"]);
        expect(ops(next, "b")).toEqual(["check", "create"]);
        expect(ops(next, "c")).toEqual(["check", "create"]);
        expect(fileNames(h)).toEqual(["a", "b", "c"]);
        // Pending creates need a person (snapshot.go): they stay in the state.
        expect(h.state.pendingOperations.map((o) => `${o.type}:${o.resource.name}`)).toEqual(["creating:c"]);
    });

    test("refresh --run-program: registrations answered with the refreshed state, stack outputs recomputed", async () => {
        const h = filesHarness();
        const program = update([{ name: "a" }, { name: "b", content: { of: "a", output: "content", suffix: "+b" } }], { outputs: { a: "a.content", b: "b.content" } });
        await h.up(program);
        writeFileSync(join(dir, "a.txt"), "edited");
        const plain = await h.refresh();
        expect(ops(plain).sort()).toEqual(["configure:default", "read:a", "read:b"]);
        expect(h.state.resources.find((r) => r.kind === "stack")?.outputs).toEqual({ a: "a-v1", b: "a-v1+b" });
        const withProgram = await h.refresh({ runProgram: true });
        // No Check, no Diff: each registered resource is read (step_generator.go refreshMode).
        expect(ops(withProgram).sort()).toEqual(["configure:default", "read:a", "read:b"]);
        expect(h.state.resources.find((r) => r.kind === "stack")?.outputs).toEqual({ a: "edited", b: "a-v1+b" });
        expect(opsLog()).toEqual(["create a.txt", "create b.txt"]);
    });

    test("destroy --run-program: the program runs (answered with the old state), then everything is deleted", async () => {
        const h = filesHarness();
        await h.up(update([{ name: "a" }, { name: "b", dependsOn: ["a"] }]));
        const result = await h.destroy({ runProgram: true });
        expect(ops(result)).toEqual(["configure:default", "delete:b", "delete:a"]);
        expect(result.log.some((l) => l.message.includes("Running program"))).toBe(true);
        expect(h.state.resources).toEqual([]);
    });

    test("up with refresh (or Pulumi.yaml options.refresh: always) reads first, then diffs against what it read", async () => {
        const h = filesHarness();
        const program = update([{ name: "a" }]);
        await h.up(program);
        writeFileSync(join(dir, "a.txt"), "edited");
        const result = await h.up({ ...program, refresh: true });
        expect(ops(result)).toEqual(["configure:default", "read:a", "check:a", "diff:a", "update:a"]);
        expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("a-v1");

        // The same program in a project whose Pulumi.yaml says `options: refresh: always`.
        const root = mkdtempSync(join(tmpdir(), "koi-refresh-always-"));
        try {
            writeFileSync(join(root, "Pulumi.yaml"), `name: files\nruntime:\n  name: nodejs\n  options:\n    tsconfig: tsconfig.json\nmain: ${join(FILES, "index.ts")}\noptions:\n  refresh: always\n`);
            const always = new Harness({ projectDir: root, stack: "test", state: h.snapshot() });
            writeFileSync(join(dir, "a.txt"), "edited");
            expect(ops(await always.up(program))).toEqual(["configure:default", "read:a", "check:a", "diff:a", "update:a"]);
            // An explicit `refresh: false` (`--refresh=false`) wins.
            writeFileSync(join(dir, "a.txt"), "edited");
            expect(ops(await always.up({ ...program, refresh: false }))).toEqual(["configure:default", "check:a", "diff:a"]);
        } finally {
            rmSync(root, { recursive: true, force: true });
        }
    });

    test("programs are type-checked as the CLI compiles them: a type error fails with the compiler's message", async () => {
        const h = new Harness({ projectDir: join(__dirname, "projects", "type-error"), stack: "test" });
        const error = await failureOf(h.up());
        expect(error.command).toBe("preview");
        expect(error.programError).toContain("Unable to compile TypeScript");
        expect(error.programError).toMatch(/index\.ts\(2,7\): error TS2322: Type 'string' is not assignable to type 'number'/);
    });

    test("calls the harness does not implement fail clearly; Log messages reach the result", async () => {
        const h = filesHarness();
        const error = await failureOf(h.up(update([], { invoke: true, log: "hello from the program" })));
        expect(error.programError).toContain("the harness (tools/engine) does not support ResourceMonitor.Invoke");
        expect(error.result.log).toEqual(expect.arrayContaining([expect.objectContaining({ severity: "info", message: "hello from the program" })]));
        expect(h.programLog).toContain("info: hello from the program");
    });
});

describe("the product's program for 2 nodes without a lab", () => {
    const nodes = [
        { name: "node-a", systemId: "aaaa-1111" },
        { name: "node-b", systemId: "bbbb-2222" },
    ];
    const config = {
        nodes,
        // An installed program that fails: every command through this transport fails.
        access: { command: { prefix: ["false", "{target}"], targets: { central: "central-0", nodes: { "node-a": "pod-a", "node-b": "pod-b" } }, kubeOvnVersion: "v1.12.35" } },
        retries: 0,
        waitFor: "none",
    };

    test("its first preview passes Check with the certificates unknown (issue 14); the up then creates real certificates and Secrets and fails at the Preflight, naming the central", async () => {
        const h = new Harness({ stack: "harness" });
        const error = await failureOf(h.up({ config }));
        // The preview ran every Check (certificates unknown on a first up) and planned everything.
        const preview = h.journal.filter((j) => j.command === "preview");
        expect(preview.filter((j) => j.op === "check").map((j) => j.name).sort()).toEqual(["kube-ovn-ipsec-ca-retire", "kube-ovn-ipsec-ca-trust", "kube-ovn-ipsec-node-a", "kube-ovn-ipsec-node-b", "kube-ovn-ipsec-preflight", "kube-ovn-ipsec-readiness", "kube-ovn-ipsec-status", "kube-ovn-ipsec-switch"]);
        expect(preview.filter((j) => j.error !== null)).toEqual([]);
        expect(error.command).toBe("up");
        expect(error.failures).toHaveLength(1);
        expect(error.failures[0]).toMatchObject({ name: "kube-ovn-ipsec-preflight", type: "pulumi-nodejs:dynamic/kube-ovn-ipsec:Preflight", op: "create" });
        expect(error.failures[0].message).toContain("[ovn-central]");
        expect(error.failures[0].message).toContain("the command failed with exit 1");
        // Everything after the Preflight depends on it: never registered.
        expect(error.result.journal.filter((j) => !j.emulated && j.name !== "default").map((j) => `${j.op}:${j.name}`)).toEqual(["check:kube-ovn-ipsec-preflight", "create:kube-ovn-ipsec-preflight"]);
        expect(h.resourcesOfType("pulumi-nodejs:dynamic/kube-ovn-ipsec:NodeIpsec")).toEqual([]);

        const caPem = String(h.outputsOf("kube-ovn-ipsec-ca").certPem);
        const ca = new X509Certificate(caPem);
        expect(ca.ca).toBe(true);
        expect(ca.subject).toBe("O=kube-ovn\nCN=kube-ovn-ipsec CA");
        expect(ca.checkIssued(ca)).toBe(true);
        // An independent X.509 implementation checks what node:crypto says (never skipped).
        const openssl = requireTool("openssl", "apt-get install openssl");
        expect(execFileSync(openssl, ["x509", "-noout", "-ext", "basicConstraints"], { input: caPem }).toString()).toMatch(/critical\s+CA:TRUE/);

        const secrets = h.kubernetesSecrets();
        // The CA Secret publishes what the nodes trust (CaTrust's output): not before the Preflight passed.
        expect(secrets.find((s) => s.name === "kube-ovn-ipsec-ca")).toBeUndefined();
        for (const node of nodes) {
            const certPem = String(h.outputsOf(`kube-ovn-ipsec-${node.name}-cert`).certPem);
            const keyPem = String(h.outputsOf(`kube-ovn-ipsec-${node.name}-key`).privateKeyPem);
            expect(keyPem).toMatch(new RegExp(`^${privateKeyHeader("RSA ")}\n`));
            const cert = new X509Certificate(certPem);
            expect(cert.subject).toBe(`O=kube-ovn\nCN=${node.systemId}`);
            expect(cert.subjectAltName).toBe(`DNS:${node.systemId}`);
            expect(cert.issuer).toBe(ca.subject);
            expect(cert.checkIssued(ca)).toBe(true);
            expect(cert.verify(ca.publicKey)).toBe(true);
            expect(cert.ca).toBe(false);
            expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
            const dirForVerify = mkdtempSync(join(tmpdir(), "koi-verify-"));
            try {
                writeFileSync(join(dirForVerify, "ca.pem"), caPem);
                writeFileSync(join(dirForVerify, "cert.pem"), certPem);
                expect(execFileSync(openssl, ["verify", "-CAfile", join(dirForVerify, "ca.pem"), join(dirForVerify, "cert.pem")]).toString()).toContain("OK");
            } finally {
                rmSync(dirForVerify, { recursive: true, force: true });
            }
            const secret = secrets.find((s) => s.name === `kube-ovn-ipsec-${node.name}`);
            expect(secret?.type).toBe("kubernetes.io/tls");
            // Only the node's own pair: the CA is in kube-ovn-ipsec-ca, once.
            expect(secret?.data).toEqual({ "tls.crt": certPem, "tls.key": keyPem });
            expect(h.resource(`kube-ovn-ipsec-${node.name}-secret`).secretOutputPaths).toEqual(expect.arrayContaining(["data"]));
            expect(h.resource(`kube-ovn-ipsec-${node.name}-secret`).secretInputPaths).toEqual(expect.arrayContaining(["data"]));
        }

        // No private key material outside a secret anywhere in the state, or in what the program logged.
        const keyBodies = h.resourcesOfType("tls:index/privateKey:PrivateKey").map((k) => String(h.outputsOf(k.name).privateKeyPem).split("\n")[1]);
        expect(keyBodies).toHaveLength(3);
        expect(h.stringsOutsideSecrets().filter((s) => keyBodies.some((b) => s.value.includes(b)))).toEqual([]);
        expect(h.programLog.filter((l) => keyBodies.some((b) => l.includes(b)))).toEqual([]);
        // (The SDK's own debug diagnostics can carry them: its "RegisterResource RPC finished" line
        // prints whole responses (@pulumi/pulumi runtime/resource.js); the CLI shows those only with
        // --debug. docs/SECURITY.md says so. Whether such a line is sent before a failed run stops
        // the program is a matter of timing, so it is not asserted here.)

        // Same inputs: the same keys and certificates; the Preflight is tried again.
        const serialsNow = (): string[] => h.resourcesOfType("tls:index/locallySignedCert:LocallySignedCert").map((r) => `${r.name}=${r.id}`).sort();
        const serials = serialsNow();
        const again = await failureOf(h.up({ config, skipPreview: true }));
        // (refresh: always: the emulated tls and Secret resources are read, and nothing else is called on them.)
        expect(again.result.journal.filter((j) => j.emulated && j.op !== "read")).toEqual([]);
        expect(serialsNow()).toEqual(serials);
        expect(again.failures.map((f) => f.name)).toEqual(["kube-ovn-ipsec-preflight"]);
    });
});
