/**
 * A Pulumi project as the CLI sees it (Pulumi.yaml), and how the CLI starts its Node.js program:
 * working directory, argv, environment and config format. Followed, for @pulumi/pulumi 3.248:
 *
 * - pulumi/pulumi `pkg/engine/project.go` `getPwdMain`: for a file `main`, the program's working
 *   directory is that file's directory and the entry point its base name; for a directory, the
 *   directory itself and ".".
 * - `sdk/nodejs/cmd/pulumi-language-nodejs/main.go`: `parseOptions` (runtime options
 *   `typescript` (default true), `tsconfig`, `nodeargs`), `locateModule` (the run script is
 *   `require.resolve("@pulumi/pulumi/cmd/run")` from the program directory), `constructArguments`
 *   (`--monitor --engine [--sync] --organization --project --root-directory --stack --pwd
 *   [--dry-run] --parallel <entry>`), `constructConfig` (keys `<ns>:config:<name>`, values as
 *   the engine sends them) and `execRuntime` (the CLI's environment plus `PULUMI_CONFIG`,
 *   `PULUMI_CONFIG_SECRET_KEYS`, `PULUMI_NODEJS_TYPESCRIPT=true`, `PULUMI_NODEJS_TSCONFIG_PATH`).
 * - `pkg/resource/deploy/target.go` `GetPackageConfig`: a dynamic provider gets the whole stack
 *   config, keys with their namespace.
 */
import * as fs from "fs";
import * as path from "path";

// js-yaml is a dependency of @pulumi/pulumi (it reads Pulumi.yaml files itself).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml") as { load(text: string): unknown };

export interface ProjectRuntime {
    name: string;
    options: Record<string, unknown>;
}

/** What the engine reads from Pulumi.yaml. */
export interface PulumiProject {
    /** The directory of Pulumi.yaml (the CLI's root directory). */
    root: string;
    name: string;
    main: string | undefined;
    runtime: ProjectRuntime;
    /** Pulumi.yaml `options.refresh` ("always" makes every `pulumi up` refresh first). */
    refresh: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readProject(root: string): PulumiProject {
    const file = path.join(root, "Pulumi.yaml");
    const doc = yaml.load(fs.readFileSync(file, "utf8"));
    if (!isRecord(doc) || typeof doc.name !== "string") throw new Error(`${file}: not a Pulumi project (no name)`);
    // `runtime: nodejs` or `runtime: { name: nodejs, options: {...} }`.
    const runtime: ProjectRuntime =
        typeof doc.runtime === "string"
            ? { name: doc.runtime, options: {} }
            : isRecord(doc.runtime) && typeof doc.runtime.name === "string"
              ? { name: doc.runtime.name, options: isRecord(doc.runtime.options) ? doc.runtime.options : {} }
              : { name: "", options: {} };
    if (runtime.name !== "nodejs") throw new Error(`${file}: runtime ${JSON.stringify(runtime.name)} is not supported (only nodejs)`);
    const options = isRecord(doc.options) ? doc.options : {};
    return {
        root: path.resolve(root),
        name: doc.name,
        main: typeof doc.main === "string" ? doc.main : undefined,
        runtime,
        refresh: typeof options.refresh === "string" ? options.refresh : undefined,
    };
}

/** `getPwdMain` (pkg/engine/project.go). */
export function pwdAndEntry(project: PulumiProject): { pwd: string; entry: string } {
    if (!project.main) return { pwd: project.root, entry: "." };
    const main = path.resolve(project.root, project.main);
    const stat = fs.statSync(main, { throwIfNoEntry: false });
    if (!stat) throw new Error(`project 'main' could not be read: ${main} does not exist`);
    return stat.isDirectory() ? { pwd: main, entry: "." } : { pwd: path.dirname(main), entry: path.basename(main) };
}

/** The nodejs runtime options (`parseOptions` in pulumi-language-nodejs). */
export interface NodeRuntimeOptions {
    typescript: boolean;
    tsconfig: string | undefined;
    nodeargs: string[];
}

export function nodeRuntimeOptions(project: PulumiProject): NodeRuntimeOptions {
    const o = project.runtime.options;
    if (o.typescript !== undefined && typeof o.typescript !== "boolean") throw new Error("typescript option must be a boolean");
    if (o.tsconfig !== undefined && typeof o.tsconfig !== "string") throw new Error("tsconfigpath option must be a string");
    if (o.nodeargs !== undefined && typeof o.nodeargs !== "string") throw new Error("nodeargs option must be a string");
    // The language host splits nodeargs like a shell (shlex); plain whitespace covers what we use.
    const nodeargs = typeof o.nodeargs === "string" ? o.nodeargs.split(/\s+/).filter(Boolean) : [];
    return { typescript: o.typescript !== false, tsconfig: o.tsconfig as string | undefined, nodeargs };
}

/** Config as the engine holds it: `<namespace>:<name>` -> string (structured values as JSON). */
export type EngineConfig = Record<string, string>;

/**
 * Config values given to the harness: `key` (the project's namespace) or `namespace:key`;
 * strings as they are, anything else as JSON, as the CLI passes structured config.
 */
export function engineConfig(projectName: string, config: Record<string, unknown>): EngineConfig {
    const out: EngineConfig = {};
    for (const [k, v] of Object.entries(config)) {
        if (v === undefined) continue;
        out[qualifiedKey(projectName, k)] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return out;
}

export function qualifiedKey(projectName: string, key: string): string {
    return key.includes(":") ? key : `${projectName}:${key}`;
}

/** `constructConfig`: the old key format `<namespace>:config:<name>` the SDK still accepts. */
export function programConfigEnv(config: EngineConfig, secretKeys: readonly string[]): { PULUMI_CONFIG: string; PULUMI_CONFIG_SECRET_KEYS: string } {
    const transformed: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        const at = k.indexOf(":");
        transformed[`${k.slice(0, at)}:config:${k.slice(at + 1)}`] = v;
    }
    return { PULUMI_CONFIG: JSON.stringify(transformed), PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys) };
}

export interface ProgramLaunchOptions {
    monitorAddress: string;
    engineAddress: string;
    organization: string;
    stack: string;
    dryRun: boolean;
    parallel: number;
    config: EngineConfig;
    secretKeys: readonly string[];
    /** Extra environment for the program (e.g. PULUMI_NODEJS_TRANSPILE_ONLY). */
    env?: Record<string, string>;
}

export interface ProgramLaunch {
    file: string;
    args: string[];
    cwd: string;
    env: NodeJS.ProcessEnv;
    pwd: string;
    entry: string;
    runPath: string;
}

/** `locateModule` + `constructArguments` + `execRuntime` of pulumi-language-nodejs. */
export function programLaunch(project: PulumiProject, o: ProgramLaunchOptions): ProgramLaunch {
    const { pwd, entry } = pwdAndEntry(project);
    const options = nodeRuntimeOptions(project);
    let runPath: string;
    try {
        runPath = require.resolve("@pulumi/pulumi/cmd/run", { paths: [pwd] });
    } catch {
        throw new Error(`It looks like the Pulumi SDK has not been installed in ${project.root} (no @pulumi/pulumi/cmd/run from ${pwd}). Have you run npm ci?`);
    }
    const args = [
        ...options.nodeargs,
        runPath,
        "--monitor",
        o.monitorAddress,
        "--engine",
        o.engineAddress,
        "--organization",
        o.organization,
        "--project",
        project.name,
        "--root-directory",
        project.root,
        "--stack",
        o.stack,
        "--pwd",
        pwd,
        ...(o.dryRun ? ["--dry-run"] : []),
        "--parallel",
        String(o.parallel),
        entry,
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, ...programConfigEnv(o.config, o.secretKeys) };
    if (options.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    else delete env.PULUMI_NODEJS_TYPESCRIPT;
    if (options.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
    else delete env.PULUMI_NODEJS_TSCONFIG_PATH;
    Object.assign(env, o.env ?? {});
    return { file: process.execPath, args, cwd: pwd, env, pwd, entry, runPath };
}
