/**
 * What a user with the Pulumi CLI runs (issue 14): this repository copied elsewhere, installed
 * with `npm ci --omit=dev` (no test tools, no jest types, no ts-node: @pulumi/pulumi's vendored
 * one), then `pulumi preview` and `pulumi up` of its stack program against the lab, through the
 * harness, which starts the program exactly as the CLI does (Pulumi.yaml `main` through the
 * copy's @pulumi/pulumi/cmd/run, type checking on, a fresh ts-node cache since the path is new).
 * Fails on any compile error, any program error, or any command run during a preview that
 * could change something (previews read the nodes they will decide about, and nothing else).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { purposeOf } from "../../components/transport/scriptKit";
import { Harness, HarnessError, OperationResult } from "../../tools/engine/engine";
import { ExecProxy, ExecRecord } from "../support/execProxy";
import { LabStatus, REPO, freshLab, labAccess, labOk, podOk } from "../support/lab";
import { configFor, otherConfig, tunnelHeaders } from "../support/node";

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
let lab: LabStatus;
const proxy = new ExecProxy();

beforeAll(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "koi-installed-"));
    copyRepository(copy);
    const t0 = Date.now();
    const npm = spawnSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: copy, encoding: "utf8", timeout: 240_000 });
    if (npm.status !== 0) throw new Error(`npm ci --omit=dev failed (${npm.status}) in ${copy}:\n${npm.stderr}`);
    process.stderr.write(`npm ci --omit=dev: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    lab = freshLab(2);
});

afterAll(() => {
    labOk("down");
    if (copy) fs.rmSync(copy, { recursive: true, force: true });
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
        const preview = await h.preview({ config: configFor(lab, { access: proxy.wrap(labAccess(lab)) }) }).catch((e: unknown) => {
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
        const up = await h.up({ config: configFor(lab, { access: proxy.wrap(labAccess(lab)) }) }).catch((e: unknown) => {
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
