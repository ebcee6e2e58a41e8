/**
 * Private keys never leave secrets: across a whole lifecycle (enable, rotate, add a node,
 * disable, a failed run, destroy), no key material in any argv the product ran, any line the
 * provider host logged, any error message, or anything in the state outside a secret; and on
 * the nodes the key files are written atomically with mode 0600.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateKeyPairSync } from "crypto";
import { nodeFilePaths } from "../../components/node/nodeFiles";
import { applyScript } from "../../components/node/applyScript";
import { applyPayload } from "../../components/node/nodePayload";
import { scriptLimits } from "../../components/transport/access";
import { Harness, HarnessError } from "../../tools/engine/engine";
import { ExecProxy } from "../support/execProxy";
import { keyFingerprints, leaksIn, privateKeys } from "../support/keyMaterial";
import { LabStatus, freshLab, labAccess, labOk, labStatus, podOk, podSh, NO_PREVIEW } from "../support/lab";
import { configFor, otherConfig, ourFiles, waitFor } from "../support/node";

jest.setTimeout(240_000);

let lab: LabStatus;
let h: Harness;
const proxy = new ExecProxy();
const config = (over: Record<string, unknown> = {}) => configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) }, ...over });

beforeAll(() => {
    lab = freshLab(2);
    h = new Harness({ stack: "secrets", upDefaults: NO_PREVIEW });
});
afterAll(async () => {
    await h?.close();
    labOk("down");
});

describe("key material across a lifecycle", () => {
    it("appears only inside secrets", async () => {
        const keys = new Set<string>();
        const errors: string[] = [];
        const collect = () => privateKeys(h).forEach((k) => keys.add(k));

        await h.up({ config: config() });
        collect();
        await h.up({ config: config(), replace: [`kube-ovn-ipsec-${lab.nodes[0].name}-key`] });
        collect();
        labOk("add-node");
        lab = labStatus();
        await h.up({ config: config() });
        collect();
        // A failed run: its error messages are scanned too.
        proxy.fault(lab.nodes[1].target, "unreachable");
        await h.up({ config: config({ retries: 0 }), replace: [`kube-ovn-ipsec-${lab.nodes[1].name}-key`] }).catch((e: unknown) => errors.push((e as HarnessError).message));
        proxy.fault(lab.nodes[1].target, null);
        collect();
        await h.up({ config: config({ enabled: false }) });
        await h.refresh();
        collect();
        const stateStrings = h.stringsOutsideSecrets();
        await h.destroy();

        expect(keys.size).toBeGreaterThanOrEqual(2 * (3 + 1 + 2)); // 4 keys at the start, 2 rotations, 1 node added; pem + pkcs8 each
        expect(errors).toHaveLength(1);
        const fingerprints = keyFingerprints([...keys]);
        const records = proxy.records();
        expect(records.length).toBeGreaterThan(10);
        const places: Array<[string, string]> = [
            ["argv of every command run", proxy.rawLog()],
            ["provider host log", h.hostLog.join("\n")],
            ["program output and diagnostics", h.programLog.join("\n")],
            ["error messages", errors.join("\n")],
            ["journal errors", h.journal.map((j) => j.error ?? "").join("\n")],
            ...stateStrings.map((s): [string, string] => [`state ${s.name}.${s.field}.${s.path}`, s.value]),
        ];
        const leaks = places.flatMap(([where, text]) => leaksIn(text, fingerprints).map((l) => `${where}: ${l}`));
        expect(leaks).toEqual([]);
        // The serialized providers are in the state too (as __provider), outside secrets: scanned above.
        expect(stateStrings.some((s) => s.path === "__provider")).toBe(true);
    });
});

describe("key files on a node", () => {
    it("are never partial or readable by others, and a killed write leaves the old file", async () => {
        await h.up({ config: config() });
        const node = lab.nodes[0];
        const old = otherConfig(lab, node.name);
        const oldKey = podOk(lab, node.target, `cat ${old.private_key}`);

        // A new key and certificate, sent to the real apply script; the writer is killed before
        // the payload is complete. (A 4096-bit key makes the payload longer than awk's 4 KiB
        // input buffer, so awk has started writing the key when the stream stops.)
        const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 4096 });
        const keyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
        const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "koi-key-")), "key.pem");
        fs.writeFileSync(keyFile, keyPem, { mode: 0o600 });
        const certPem = execFileSync("openssl", ["req", "-x509", "-key", keyFile, "-subj", `/O=kube-ovn/CN=${node.systemId}`, "-days", "1"], { encoding: "utf8" });
        fs.rmSync(path.dirname(keyFile), { recursive: true });
        const ca = podOk(lab, node.target, `cat ${old.ca_cert}`);
        const paths = nodeFilePaths(node.systemId, certPem, ca);
        const script = applyScript({ boundary: "@@b@@", limits: scriptLimits({ timeoutSeconds: 30, retries: 0 }), systemId: node.systemId, paths, guard: false, restartServices: false });
        const payload = applyPayload({ caCert: ca, certificate: certPem, privateKey: keyPem });
        const argv = lab.prefix.map((a) => a.split("{target}").join(node.target));
        const writer = spawn(argv[0], [...argv.slice(1), "sh", "-c", script], { stdio: ["pipe", "ignore", "ignore"] });
        writer.stdin.write(payload.slice(0, payload.length - "koi-end\n".length - 10));
        const tmp = `${paths.privateKey}.koi-tmp`;
        // (awk buffers its output: the file exists, its content may still be in the writer.)
        await waitFor("the half-written key", () => podSh(lab, node.target, `test -e ${tmp}`).status === 0, 10_000);
        // The window: the half-written key exists only under its temporary name, mode 0600.
        expect(podOk(lab, node.target, `stat -c %a ${tmp}`).trim()).toBe("600");
        expect(podSh(lab, node.target, `test -e ${paths.privateKey}`).status).not.toBe(0);
        // Kill the writer inside the pod (the pod's own PID namespace: only this awk), then the exec.
        podOk(lab, node.target, "pkill -KILL -x awk");
        writer.kill("SIGKILL");
        await new Promise((r) => writer.once("exit", r));

        // OVS still points at the old, intact files; the new key never appeared under its name.
        expect(otherConfig(lab, node.name)).toEqual(old);
        expect(podOk(lab, node.target, `cat ${old.private_key}`)).toBe(oldKey);
        expect(podSh(lab, node.target, `test -e ${paths.privateKey}`).status).not.toBe(0);
        // Every file of ours that holds a key is 0600, the leftover included.
        for (const f of ourFiles(lab, node.name).filter((x) => x.includes("/private/"))) expect(podOk(lab, node.target, `stat -c %a ${f}`).trim()).toBe("600");

        // The next real run cleans the leftover up.
        await h.up({ config: config(), replace: [`kube-ovn-ipsec-${node.name}-key`] });
        expect(ourFiles(lab, node.name).filter((f) => f.endsWith(".koi-tmp"))).toEqual([]);
        const now = otherConfig(lab, node.name);
        expect(podOk(lab, node.target, `stat -c %a ${now.private_key}`).trim()).toBe("600");
        await h.destroy();
        expect(ourFiles(lab, node.name)).toEqual([]);
    });
});
