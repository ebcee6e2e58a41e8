/**
 * The dynamic providers of a program in another language (issue 9 item 3, pulumi/pulumi#5455).
 *
 * A Python or YAML program gets KubeOvnIpsec from the component provider plugin, but the engine
 * starts the dynamic-provider host for the stack's dynamic resources in the PROGRAM's directory,
 * and everything is resolved from there: the host itself (`@pulumi/pulumi/cmd/dynamic-provider`,
 * what the CLI's pulumi-resource-pulumi-nodejs script resolves), then, when a resource is called,
 * the provider its stub names (`kube-ovn-ipsec/providers`) and what that loads (execa, statically).
 *
 * Here: the real host, started by the harness the way the CLI starts it, in a Python project's
 * directory that has no node_modules (nor any directory above it): first as it is, then with
 * NODE_PATH pointing at a node_modules that has the host (FACTS.md's other workaround), then
 * after `npm install` of the packed package through the example's package.json, the workaround
 * the README tells users to apply. The resources called are the component's real registrations
 * (their `__provider` as a program produces it).
 */
import { spawnSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join, sep } from "path";
import { KubeOvnIpsec } from "../../components";
import { IpsecReadiness } from "../../components/providers";
import type { ReadinessInputs } from "../../components/status/readinessProvider";
import { DynamicProviderHost, ProviderCallError, resolveAsTheCli } from "../../tools/engine/providerHost";
import { captureGraph } from "../support/graph";

jest.setTimeout(400_000);

const REPO = join(__dirname, "..", "..");
const HOST_SCRIPT = "@pulumi/pulumi/cmd/dynamic-provider";
const READINESS_TYPE = "pulumi-nodejs:dynamic/kube-ovn-ipsec:IpsecReadiness";
const ref = { urn: `urn:pulumi:dev::consumer::kube-ovn-ipsec:index:KubeOvnIpsec$${READINESS_TYPE}::kube-ovn-ipsec-readiness`, type: READINESS_TYPE, name: "kube-ovn-ipsec-readiness" };

/** The environment of a user's shell: no NODE_PATH (this test's own runner may not set one either). */
const { NODE_PATH: _nodePath, ...userEnv } = process.env;

let project: string;
let work: string;
/** The IpsecReadiness registration's `__provider`, as the component registers it. */
let provider: string;
const hosts: DynamicProviderHost[] = [];

async function startHost(env: NodeJS.ProcessEnv): Promise<DynamicProviderHost> {
    const host = await DynamicProviderHost.start({ cwd: project, env });
    hosts.push(host);
    await host.configure({});
    return host;
}

/** What the readiness gate gets for a cluster of two nodes, one of them not ready (or both ready). */
function readinessInputs(ready: boolean): ReadinessInputs {
    return { waitFor: "configured", enabled: true, timeoutSeconds: 7, ready, unready: ready ? [] : ["node-b: tunnel to node-a is INIT"], nodes: 2 };
}

/** The error the installed readiness provider gives, computed here by the same code in-process. */
async function expectedFailure(inputs: ReadinessInputs): Promise<string> {
    try {
        await IpsecReadiness.create?.(inputs);
    } catch (e) {
        return (e as Error).message;
    }
    throw new Error("the readiness provider accepted inputs that are not ready");
}

function npm(args: string[], cwd: string): string {
    const r = spawnSync("npm", args, { cwd, encoding: "utf8", timeout: 300_000, env: userEnv });
    if (r.status !== 0) throw new Error(`npm ${args.join(" ")} failed (${r.status}) in ${cwd}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "koi-other-languages-"));
    project = join(work, "python-project");
    // Nothing above the project may hold a node_modules, or it would resolve from there.
    for (let d = work; d !== dirname(d); d = dirname(d)) {
        if (existsSync(join(d, "node_modules"))) throw new Error(`${join(d, "node_modules")} exists: this test needs a directory with no node_modules above it (set TMPDIR elsewhere)`);
    }
    mkdirSync(project);
    // The Python example as a user copies it: its program, its Pulumi.yaml, no node_modules.
    for (const f of ["Pulumi.yaml", "__main__.py"]) writeFileSync(join(project, f), readFileSync(join(REPO, "examples", "python", f)));

    const nodes = [
        { name: "node-a", systemId: "sid-a" },
        { name: "node-b", systemId: "sid-b" },
    ];
    const { registrations, error } = await captureGraph((opts) => new KubeOvnIpsec("kube-ovn-ipsec", { nodes, access: { kubectl: {} } }, opts));
    if (error) throw error;
    const readiness = registrations.find((r) => r.type === READINESS_TYPE);
    if (!readiness || typeof readiness.inputs.__provider !== "string") throw new Error("the component registered no IpsecReadiness with a serialized provider");
    provider = readiness.inputs.__provider;
});

afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    if (work) rmSync(work, { recursive: true, force: true });
});

test("every example in another language carries the package.json that brings the dynamic providers", () => {
    const specs = ["yaml", "python", "go", "csharp"].map((lang) => {
        const dir = join(REPO, "examples", lang);
        const runtime = /^runtime:\s*(\S+)/m.exec(readFileSync(join(dir, "Pulumi.yaml"), "utf8"))?.[1];
        expect(runtime).toBe({ yaml: "yaml", python: "python", go: "go", csharp: "dotnet" }[lang]);
        return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies;
    });
    for (const deps of specs) expect(deps).toEqual(specs[0]);
    expect(Object.keys(specs[0])).toEqual(["kube-ovn-ipsec"]);
});

test("without node_modules the host itself cannot be found: the CLI's resolution fails, and so does the harness's", async () => {
    expect(readdirSync(project).sort()).toEqual(["Pulumi.yaml", "__main__.py"]);
    // What pulumi-resource-pulumi-nodejs runs to find the host, in the program's directory.
    const cli = spawnSync(process.execPath, ["-e", `console.log(require.resolve(${JSON.stringify(HOST_SCRIPT)}))`], { cwd: project, env: userEnv, encoding: "utf8" });
    expect(cli.status).not.toBe(0);
    expect(cli.stderr).toContain(`Cannot find module '${HOST_SCRIPT}'`);
    await expect(DynamicProviderHost.start({ cwd: project, env: userEnv })).rejects.toThrow(`${HOST_SCRIPT} cannot be resolved from ${project}`);
});

test("with the host reachable through NODE_PATH, the providers are not: the resource's error says where and what to run", async () => {
    const host = await startHost({ ...userEnv, NODE_PATH: join(REPO, "node_modules") });
    expect(host.entry.startsWith(join(REPO, "node_modules") + sep)).toBe(true);
    const inputs = { __provider: provider, ...readinessInputs(true) };
    const checked = await host.check(ref, {}, inputs);
    const error = await host.create(ref, checked.inputs).then(
        () => null,
        (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderCallError);
    const message = (error as ProviderCallError).message;
    expect(message).toContain(`kube-ovn-ipsec/providers cannot be loaded from ${project}, where Pulumi runs this stack's dynamic providers`);
    expect(message).toContain("run `npm install kube-ovn-ipsec` there");
});

test("after npm install of the package through the example's package.json, host, execa and providers all load from the project", async () => {
    const packed = JSON.parse(npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work], REPO)) as Array<{ filename: string }>;
    const tarball = join(work, packed[0].filename);
    // The example's package.json, with the tarball where a user has the git URL.
    const manifest = JSON.parse(readFileSync(join(REPO, "examples", "python", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(["kube-ovn-ipsec"]);
    manifest.dependencies["kube-ovn-ipsec"] = `file:${tarball}`;
    writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2));
    npm(["install", "--no-audit", "--no-fund", "--prefer-offline"], project);

    const installed = join(project, "node_modules");
    // Resolved by node itself (not jest's resolver), from that directory, as the CLI resolves the host.
    const resolved = (id: string, from: string) => resolveAsTheCli(id, from, userEnv);
    expect(resolved("kube-ovn-ipsec/providers", project).startsWith(join(installed, "kube-ovn-ipsec") + sep)).toBe(true);
    // execa is what the providers load first (transport/exec.ts): from the same install.
    expect(resolved("execa", join(installed, "kube-ovn-ipsec")).startsWith(installed + sep)).toBe(true);

    const host = await startHost(userEnv);
    expect(host.entry).toBe(join(installed, "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js"));
    // Met: the installed provider passes the inputs through as its outputs.
    const ready = readinessInputs(true);
    const created = await host.create(ref, (await host.check(ref, {}, { __provider: provider, ...ready })).inputs);
    expect(created.properties).toMatchObject({ ...ready });
    // Not met: its error is the one this code computes for the same inputs.
    const notReady = readinessInputs(false);
    const failed = await host.create(ref, (await host.check(ref, {}, { __provider: provider, ...notReady })).inputs).then(
        () => null,
        (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(ProviderCallError);
    expect((failed as ProviderCallError).message).toContain(await expectedFailure(notReady));
});
