/**
 * What users with the Pulumi CLI run, against one lab:
 *
 * - (issue 14) this repository copied elsewhere, installed with `npm ci --omit=dev` (no test
 *   tools, no jest types, no ts-node: @pulumi/pulumi's vendored one), then `pulumi preview` and
 *   `pulumi up` of its stack program, through the harness, which starts the program exactly as
 *   the CLI does (Pulumi.yaml `main` through the copy's @pulumi/pulumi/cmd/run, type checking
 *   on, a fresh ts-node cache since the path is new). Fails on any compile error, any program
 *   error, or any command run during a preview that could change something.
 * - (issue 9) the npm package: `npm pack` of that copy, installed with `npm install <tarball>`
 *   into a fresh TypeScript Pulumi project of a user's own, whose program uses KubeOvnIpsec:
 *   up, status, destroy, with the dynamic providers loaded from the installed package.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { purposeOf } from "../../components/transport/scriptKit";
import { Harness, HarnessError, OperationResult } from "../../tools/engine/engine";
import { ExecProxy, ExecRecord } from "../support/execProxy";
import { LabStatus, REPO, freshLab, labAccess, labOk, podOk } from "../support/lab";
import { configFor, otherConfig, ourFiles, tunnelHeaders } from "../support/node";

jest.setTimeout(300_000);

/**
 * Commands a preview must not run: anything but our read-only scripts (an unlabelled command
 * counts as changing). A preview reads the nodes it decides about (issue 8: it shows which nodes
 * would be repaired and why); the tests also check that the nodes did not change.
 */
function isMutatingCommand(record: ExecRecord): boolean {
    return purposeOf(record.argv)?.readOnly !== true;
}

/** The nodes' IPsec configuration as an operator reads it: a preview must leave it as it is. */
const nodesFingerprint = (lab: LabStatus) => lab.nodes.map((n) => JSON.stringify([otherConfig(lab, n.name), podOk(lab, n.target, "sha256sum /etc/ipsec.d/*/kube-ovn-ipsec-* 2>/dev/null | sort; cat /var/run/openvswitch/ovs-monitor-ipsec.pid /var/run/charon.pid 2>/dev/null; true")]));

/** The repository as a clone has it: tracked and new files, nothing git ignores (node_modules, bin). */
function copyRepository(to: string): void {
    let listing: string;
    try {
        listing = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO, encoding: "utf8" });
    } catch (e) {
        throw new Error(`listing the repository's files needs git and a git checkout (apt-get install git): ${e instanceof Error ? e.message : String(e)}`);
    }
    const listed = listing.split("\0").filter(Boolean);
    for (const file of listed) {
        const from = path.join(REPO, file);
        if (!fs.existsSync(from)) continue; // deleted in the working tree
        fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
        fs.copyFileSync(from, path.join(to, file));
    }
}

const during = (records: ExecRecord[], op: OperationResult): ExecRecord[] => records.filter((r) => r.start >= op.startedAt && r.start <= op.startedAt + op.durationMs);
const errorsOf = (op: OperationResult): string[] => op.log.filter((l) => l.severity === "error").map((l) => l.message);

let copy: string;
let consumer: string;
let lab: LabStatus;
const proxy = new ExecProxy();

/** Runs npm; fails with its output. */
function npm(args: string[], cwd: string): string {
    const t0 = Date.now();
    const r = spawnSync("npm", args, { cwd, encoding: "utf8", timeout: 240_000 });
    if (r.status !== 0) throw new Error(`npm ${args.join(" ")} failed (${r.status}) in ${cwd}:\n${r.stdout}\n${r.stderr}`);
    process.stderr.write(`npm ${args[0]}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return r.stdout;
}

/** The versions this repository pins, so the user's project and the package share one @pulumi/pulumi. */
function pinned(pkg: string): string {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const version = manifest.dependencies[pkg];
    if (!version) throw new Error(`package.json has no dependency ${pkg}`);
    return `${pkg}@${version}`;
}

/**
 * A user's own TypeScript Pulumi project: its Pulumi.yaml, tsconfig, a program that imports the
 * package by name, and the package installed from the tarball with `npm install`. @pulumi/pulumi,
 * TypeScript and @types/node come from the registry as a user's would (through the npm cache,
 * which `npm ci` of this repository filled: no network when it is warm), at this repository's
 * versions so npm dedupes them with the package's own: one SDK in the program.
 */
function userProject(tarball: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-consumer-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: koi-consumer\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "koi-consumer", private: true }, null, 2));
    fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({ compilerOptions: { target: "ES2022", module: "commonjs", moduleResolution: "node", strict: true, types: ["node"], skipLibCheck: true }, include: ["index.ts"] }, null, 2),
    );
    fs.writeFileSync(
        path.join(dir, "index.ts"),
        [
            'import * as pulumi from "@pulumi/pulumi";',
            'import { Access, KubeOvnIpsec, NodeSpec, WaitFor } from "kube-ovn-ipsec";',
            "",
            'const config = new pulumi.Config("kube-ovn-ipsec");',
            'const ipsec = new KubeOvnIpsec("ipsec", {',
            '    nodes: config.requireObject<NodeSpec[]>("nodes"),',
            '    access: config.requireObject<Access>("access"),',
            '    waitFor: config.require("waitFor") as WaitFor,',
            '    timeoutSeconds: config.requireNumber("timeoutSeconds"),',
            '    execTimeoutSeconds: config.requireNumber("execTimeoutSeconds"),',
            "});",
            "export const enabled = ipsec.enabled;",
            "export const summary = ipsec.status.summary;",
            "export const nodes = ipsec.nodes;",
            "",
        ].join("\n"),
    );
    npm(["install", "--prefer-offline", "--no-audit", "--no-fund", tarball, pinned("@pulumi/pulumi"), pinned("typescript"), pinned("@types/node")], dir);
    return dir;
}

/** Files the host loaded (NODE_DEBUG=module: `MODULE <pid>: load "<file>" for module ...`). */
function loadedFiles(hostLog: readonly string[]): string[] {
    return hostLog.flatMap((line) => {
        const m = /^MODULE \d+: load "([^"]+)" for module/.exec(line);
        return m ? [m[1]] : [];
    });
}

let tarball: string;
let packed: string[];

beforeAll(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "koi-installed-"));
    copyRepository(copy);
    // Also runs `prepare` (the package build): bin/ is git-ignored, so the copy has none before.
    npm(["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], copy);
    const packs = fs.mkdtempSync(path.join(os.tmpdir(), "koi-pack-"));
    const [info] = JSON.parse(npm(["pack", "--json", "--pack-destination", packs], copy)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(packs, info.filename);
    packed = info.files.map((f) => f.path).sort();
    consumer = userProject(tarball);
    lab = freshLab(2);
});

afterAll(() => {
    labOk("down");
    for (const dir of [copy, consumer, tarball && path.dirname(tarball)]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the npm package", () => {
    it("holds the compiled library, its type declarations and the consumer docs, and nothing else", () => {
        const other = packed.filter((f) => !/^bin\/components\/.+\.(js|d\.ts)$/.test(f));
        // schema.json: the component's schema, for readers (pulumi package add reads the git repository, not this tarball).
        expect(other).toEqual(["README.md", "docs/ARCHITECTURE.md", "docs/CONFIG.md", "docs/SECURITY.md", "package.json", "schema.json"]);
        // Every source module compiled, with its declarations (and no source, test, lab or bench file).
        const sources = execFileSync("git", ["ls-files", "components/*.ts"], { cwd: REPO, encoding: "utf8" }).split("\n").filter(Boolean);
        expect(sources.length).toBeGreaterThan(30);
        for (const source of sources) {
            const base = path.join("bin", source.replace(/\.ts$/, ""));
            expect(packed).toEqual(expect.arrayContaining([`${base}.js`, `${base}.d.ts`]));
        }
        const manifest = JSON.parse(fs.readFileSync(path.join(consumer, "node_modules", "kube-ovn-ipsec", "package.json"), "utf8")) as { exports: Record<string, unknown> };
        expect(Object.keys(manifest.exports).sort()).toEqual([".", "./components", "./package.json", "./providers"]);
    });

    it("is what `require` finds in the user's project, by its name and its exported subpaths", () => {
        const probe = (spec: string) => spawnSync(process.execPath, ["-e", `console.log(require.resolve(${JSON.stringify(spec)}))`], { cwd: consumer, encoding: "utf8" });
        const installed = path.join(consumer, "node_modules", "kube-ovn-ipsec", "bin", "components");
        expect(probe("kube-ovn-ipsec").stdout.trim()).toBe(path.join(installed, "index.js"));
        expect(probe("kube-ovn-ipsec/components").stdout.trim()).toBe(path.join(installed, "index.js"));
        expect(probe("kube-ovn-ipsec/providers").stdout.trim()).toBe(path.join(installed, "providers.js"));
        // Internals are not part of the API.
        expect(probe("kube-ovn-ipsec/bin/components/node/nodeIpsecProvider").stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    });
});

describe("a copy installed with npm ci --omit=dev", () => {
    let h: Harness;

    it("has no dev dependencies: no jest types, no ts-node of its own, but typescript and @types/node", () => {
        const has = (pkg: string) => fs.existsSync(path.join(copy, "node_modules", pkg, "package.json"));
        expect(["jest", "@types/jest", "@swc/core", "ts-node"].filter(has)).toEqual([]);
        expect(["typescript", "@types/node", "@pulumi/pulumi"].filter(has)).toEqual(["typescript", "@types/node", "@pulumi/pulumi"]);
    });

    it("previews with type checking on, runs no command, and plans every resource", async () => {
        h = new Harness({ projectDir: copy, stack: "installed" });
        proxy.clear();
        const preview = await h.preview({ config: configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) } }) }).catch((e: unknown) => {
            throw e instanceof HarnessError ? new Error(`${e.message}\n${e.result.programOutput.join("\n")}`) : e;
        });
        expect(errorsOf(preview)).toEqual([]);
        // Compiled by the copy's TypeScript (not the SDK's vendored 3.8) with type checking on.
        const debug = preview.log.filter((l) => l.severity === "debug").map((l) => l.message);
        const typescript = JSON.parse(fs.readFileSync(path.join(copy, "node_modules", "typescript", "package.json"), "utf8")) as { version: string };
        expect(debug).toContain(`Found typescript version ${typescript.version} at ${path.join(copy, "node_modules", "typescript", "lib", "typescript.js")}`);
        expect(process.env.PULUMI_NODEJS_TRANSPILE_ONLY).toBeUndefined();
        expect(proxy.records().filter(isMutatingCommand)).toEqual([]);
        // A first preview: everything is to be created, one node step per lab node.
        expect(preview.steps.filter((s) => s.op !== "create")).toEqual([]);
        expect(preview.steps.filter((s) => s.type.endsWith(":NodeIpsec")).map((s) => s.name).sort()).toEqual(lab.nodes.map((n) => `kube-ovn-ipsec-${n.name}`).sort());
        expect(h.state.resources).toEqual([]);
    });

    it("ups (a preview, then the update): every tunnel configured, no command during its preview", async () => {
        proxy.clear();
        const up = await h.up({ config: configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) } }) }).catch((e: unknown) => {
            throw e instanceof HarnessError ? new Error(`${e.message}\n${e.result.programOutput.join("\n")}`) : e;
        });
        const records = proxy.records();
        expect(during(records, up.preview as OperationResult).filter(isMutatingCommand)).toEqual([]);
        expect(during(records, up).length).toBeGreaterThan(0);
        expect([...errorsOf(up.preview as OperationResult), ...errorsOf(up)]).toEqual([]);
        expect(up.outputs.summary).toMatchObject({ ready: true, tunnelsExpected: 2, configured: 2 });
        for (const node of lab.nodes) {
            expect(otherConfig(lab, node.name).certificate).toMatch(/\/kube-ovn-ipsec-/);
            expect(tunnelHeaders(podOk(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show")).map((t) => t.state)).toEqual(["CONFIGURED"]);
        }
        // The provider hosts ran from the copy too, in the program's directory (its @pulumi/pulumi, its execa).
        expect(h.hosts.filter((x) => x.cwd !== path.join(copy, "stacks") || !x.entry.startsWith(path.join(copy, "node_modules", "@pulumi", "pulumi")))).toEqual([]);
    });

    it("previews again with nothing to change but the re-observed status, reading only; destroy leaves the nodes clean", async () => {
        proxy.clear();
        const before = nodesFingerprint(lab);
        const again = await h.preview();
        // The status is re-observed on every run, and the readiness gate re-judged from it.
        expect(again.steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.name}:${s.op}`).sort()).toEqual(["kube-ovn-ipsec-readiness:update", "kube-ovn-ipsec-status:update"]);
        expect(proxy.records().filter(isMutatingCommand)).toEqual([]);
        // Each node was read once (to decide whether it needs a repair), and nothing on it changed.
        for (const node of lab.nodes) expect(proxy.records().filter((r) => r.target === node.target).map((r) => purposeOf(r.argv)?.name)).toEqual(["observe"]);
        expect(nodesFingerprint(lab)).toEqual(before);
        await h.destroy();
        for (const node of lab.nodes) expect(otherConfig(lab, node.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
    });
});

describe("a user's TypeScript project with the package installed from the tarball", () => {
    let h: Harness;

    it("ups: every tunnel configured, the status output observed, the providers from the installed package", async () => {
        // NODE_DEBUG=module: the host prints every file it loads (to the harness's host log).
        h = new Harness({ projectDir: consumer, stack: "user", hostOptions: { env: { ...process.env, NODE_DEBUG: "module" } } });
        const up = await h.up({ config: configFor(lab) }).catch((e: unknown) => {
            throw e instanceof HarnessError ? new Error(`${e.message}\n${e.result.programOutput.join("\n")}`) : e;
        });
        expect([...errorsOf(up.preview as OperationResult), ...errorsOf(up)]).toEqual([]);
        expect(up.outputs.enabled).toBe(true);
        expect(up.outputs.summary).toMatchObject({ ready: true, tunnelsExpected: 2, configured: 2 });
        expect((up.outputs.nodes as Array<{ name: string }>).map((n) => n.name).sort()).toEqual(lab.nodes.map((n) => n.name).sort());
        for (const node of lab.nodes) {
            expect(otherConfig(lab, node.name).certificate).toMatch(/\/kube-ovn-ipsec-/);
            expect(tunnelHeaders(podOk(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show")).map((t) => t.state)).toEqual(["CONFIGURED"]);
        }
        // The hosts ran in the user's project, with its SDK...
        expect(h.hosts.length).toBeGreaterThan(0);
        expect(h.hosts.filter((x) => x.cwd !== consumer || !x.entry.startsWith(path.join(consumer, "node_modules", "@pulumi", "pulumi")))).toEqual([]);
        // ...and loaded our provider code from the installed package, never from this repository or the copy.
        // (The harness's own preload, tools/engine/hostWatchdog.js, is not provider code.)
        const installed = path.join(consumer, "node_modules", "kube-ovn-ipsec") + path.sep;
        const harness = path.join(REPO, "tools", "engine") + path.sep;
        const ours = loadedFiles(h.hostLog).filter((f) => !f.startsWith(harness) && (f.includes(`${path.sep}kube-ovn-ipsec${path.sep}`) || f.startsWith(REPO) || f.startsWith(copy)));
        expect(ours).toContain(path.join(installed, "bin", "components", "providers.js"));
        expect(ours).toContain(path.join(installed, "bin", "components", "node", "nodeIpsecProvider.js"));
        expect(ours.filter((f) => !f.startsWith(installed))).toEqual([]);
        // What the state keeps of each provider is the stub that names the package, not its code:
        // each dynamic resource at most 8 KB beyond its own data (issue 9 item 4).
        const dynamic = h.state.resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"));
        const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
        const strip = ({ __provider: _p, ...rest }: Record<string, unknown>) => rest;
        const overhead = (r: (typeof dynamic)[number]) => bytes(r) - bytes({ ...r, inputs: strip(r.inputs), outputs: strip(r.outputs) });
        for (const r of dynamic) expect(r.inputs.__provider).toEqual(expect.stringContaining('"kube-ovn-ipsec/providers"'));
        expect(dynamic.map((r) => [r.name, overhead(r)]).filter(([, o]) => Number(o) > 8192)).toEqual([]);
        const total = Buffer.byteLength(JSON.stringify(h.state));
        process.stderr.write(`user project state: ${total} bytes for ${lab.nodes.length} nodes; dynamic resources ${dynamic.map((r) => `${r.name} ${Buffer.byteLength(JSON.stringify(r))}`).join(", ")}\n`);
    });

    it("destroys: the nodes end clean", async () => {
        await h.destroy();
        expect(h.state.resources).toEqual([]);
        for (const node of lab.nodes) {
            expect(otherConfig(lab, node.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
            expect(ourFiles(lab, node.name)).toEqual([]);
        }
    });
});
