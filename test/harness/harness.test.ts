/**
 * Proves the harness itself: engine step semantics against a tiny file-writing dynamic provider
 * (./fileProvider.ts) running in Pulumi's real dynamic-provider host, the tls double, and the
 * product's component up to its first remote step (no lab needed).
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { execFileSync } from "child_process";
import { X509Certificate, createPrivateKey, randomBytes } from "crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { runStack } from "../../stacks/program";
import { Harness, HarnessError, OperationResult, isSecret } from "./engine";
import { TEST_FILE_TYPE, TestFile, TestFileArgs } from "./fileProvider";
import { DynamicProviderHost } from "./providerHost";

jest.setTimeout(30_000);

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

describe("engine semantics (file provider in the real dynamic-provider host)", () => {
    let host: DynamicProviderHost;
    let dir: string;
    let h: Harness;
    const opsLog = (): string[] => readFileSync(join(dir, "ops.log"), "utf8").split("\n").filter(Boolean);
    const file = (name: string, args: Partial<TestFileArgs> = {}, opts?: pulumi.CustomResourceOptions): TestFile =>
        new TestFile(name, { dir, file: `${name}.txt`, content: `${name}-v1`, ...args }, opts);

    beforeAll(async () => {
        // One real host for every harness of this block (host: instance = shared, not stopped).
        host = await DynamicProviderHost.start();
    });
    afterAll(async () => {
        const pid = host.pid;
        await host.stop();
        expect(alive(pid)).toBe(false);
    });
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "koi-harness-"));
        h = new Harness({ host });
    });
    afterEach(async () => {
        await h.close();
        rmSync(dir, { recursive: true, force: true });
    });

    test("create, then a rerun without changes makes no Create/Update call", async () => {
        const program = () => {
            const a = file("a");
            const b = file("b", { content: a.content.apply((c) => `${c}+b`) });
            return { a: a.content, b: b.content };
        };
        const first = await h.up(program);
        expect(first.outputs).toEqual({ a: "a-v1", b: "a-v1+b" });
        expect(ops(first)).toEqual(["configure:default", "check:a", "create:a", "check:b", "create:b"]);
        expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("a-v1+b");
        expect(h.resource("b").dependencies).toEqual([h.resource("a").urn]);

        const second = await h.up(program);
        expect(second.journal.filter((j) => j.op === "create" || j.op === "update")).toEqual([]);
        expect(ops(second, "a")).toEqual(["check", "diff"]);
        expect(second.steps.map((s) => `${s.op}:${s.name}`)).toEqual(["same:a", "same:b"]);
        expect(opsLog()).toEqual(["create a.txt", "create b.txt"]);
    });

    test("a changed input is an Update; dependents see the new value", async () => {
        const program = (v: string) => () => {
            const a = file("a", { content: v });
            file("b", { content: a.content.apply((c) => `${c}+b`) });
        };
        await h.up(program("one"));
        const idBefore = h.resource("a").id;
        const result = await h.up(program("two"));
        expect(ops(result, "a")).toEqual(["check", "diff", "update"]);
        expect(ops(result, "b")).toEqual(["check", "diff", "update"]);
        expect(h.resource("a").id).toBe(idBefore);
        expect(h.outputsOf("a")).toMatchObject({ content: "two", writes: 2 });
        expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("two+b");
    });

    test("replace: the new one is created first, the old one deleted at the end", async () => {
        await h.up(() => {
            const a = file("a");
            file("b", { content: a.id });
        });
        const result = await h.up(() => {
            const a = file("a", { file: "a2.txt" });
            file("b", { content: a.id });
        });
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

    test("`replace` forces a replacement without changes, like `pulumi up --replace`", async () => {
        const program = () => {
            file("a");
            new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        };
        await h.up(program);
        const key = h.outputsOf("key").privateKeyPem;
        const result = await h.up(program, { replace: ["a", "key"] });
        expect(ops(result, "a")).toEqual(["check", "diff", "create", "delete"]);
        expect(ops(result, "key")).toEqual(["create", "delete"]);
        expect(h.outputsOf("key").privateKeyPem).not.toBe(key);
        expect(opsLog()).toEqual(["create a.txt", "create a.txt", "delete a.txt"]);
    });

    test("replace with deleteBeforeReplace deletes first", async () => {
        await h.up(() => void file("a", { dbr: true }));
        const result = await h.up(() => void file("a", { dbr: true, file: "a2.txt" }));
        expect(ops(result, "a")).toEqual(["check", "diff", "delete", "create"]);
        expect(opsLog()).toEqual(["create a.txt", "delete a.txt", "create a2.txt"]);
    });

    test("resources the program no longer registers are deleted, dependents first", async () => {
        await h.up(() => {
            const a = file("a");
            const b = file("b", {}, { dependsOn: a });
            file("c", {}, { dependsOn: b });
            file("d");
        });
        const result = await h.up(() => {
            file("a");
            file("d");
        });
        expect(entry(result, "delete", "c").endSeq).toBeLessThan(entry(result, "delete", "b").startSeq);
        expect(opsLog().slice(-2)).toEqual(["delete c.txt", "delete b.txt"]);
        expect(h.state.resources.filter((r) => r.type === TEST_FILE_TYPE).map((r) => r.name)).toEqual(["a", "d"]);
    });

    test("destroy deletes everything in reverse dependency order", async () => {
        await h.up(() => {
            const a = file("a", { delayMs: 50 });
            const b = file("b", { content: a.content });
            file("c", {}, { dependsOn: b });
            file("d");
        });
        const result = await h.destroy();
        expect(entry(result, "delete", "c").endSeq).toBeLessThan(entry(result, "delete", "b").startSeq);
        expect(entry(result, "delete", "b").endSeq).toBeLessThan(entry(result, "delete", "a").startSeq);
        expect(h.state.resources).toEqual([]);
        expect(["a", "b", "c", "d"].filter((n) => existsSync(join(dir, `${n}.txt`)))).toEqual([]);
    });

    test("refresh reads through the provider; a resource that is gone leaves the state", async () => {
        const program = () => {
            file("a");
            file("b");
            new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        };
        await h.up(program);
        const keyOutputs = h.resource("key").outputs;
        writeFileSync(join(dir, "a.txt"), "edited");
        unlinkSync(join(dir, "b.txt"));
        const result = await h.refresh();
        expect(ops(result).sort()).toEqual(["configure:default", "read:a", "read:b"]);
        expect(h.outputsOf("a").content).toBe("edited");
        expect(() => h.resource("b")).toThrow();
        expect(h.resource("key").outputs).toBe(keyOutputs);
        // The next up repairs both: Update for the drifted one, Create for the missing one.
        const up = await h.up(program);
        expect(ops(up, "a")).toEqual(["check", "diff", "update"]);
        expect(ops(up, "b")).toEqual(["check", "create"]);
    });

    test("a failing resource stops its dependents only; in-flight and independent ones finish", async () => {
        const program = (failOn: "create" | null) => () => {
            const a = file("a", { failOn });
            file("b", { content: a.content });
            const c = file("c", { delayMs: 300 });
            file("d", {}, { dependsOn: c });
            return { b: "static" };
        };
        const error = await failureOf(h.up(program("create")));
        expect(error.failures.map((f) => `${f.name}:${f.op}:${f.message}`)).toEqual(["a:create:cannot create a.txt"]);
        expect(error.message).toContain("a [pulumi-nodejs:dynamic/harness-test:TestFile] create: cannot create a.txt");
        expect(ops(error.result, "b")).toEqual([]);
        expect(ops(error.result, "d")).toEqual(["check", "create"]);
        expect(h.state.resources.filter((r) => r.type === TEST_FILE_TYPE).map((r) => r.name).sort()).toEqual(["c", "d"]);

        const fixed = await h.up(program(null));
        expect(ops(fixed, "a")).toEqual(["check", "create"]);
        expect(ops(fixed, "b")).toEqual(["check", "create"]);
        expect(ops(fixed, "c")).toEqual(["check", "diff"]);

        // A Check failure is a step failure too, with the provider's reason.
        const invalid = await failureOf(h.up(() => void file("a", { content: "invalid" })));
        expect(invalid.failures[0].message).toBe("check failed: content: must not be 'invalid'");
        // Nothing is deleted after a failed run.
        expect(h.state.resources.filter((r) => r.type === TEST_FILE_TYPE).map((r) => r.name).sort()).toEqual(["a", "b", "c", "d"]);
    });

    test("a program error fails the up and deletes nothing", async () => {
        await h.up(() => void file("a"));
        const error = await failureOf(
            h.up(() => {
                throw new Error("bad config");
            }),
        );
        expect(error.failures).toEqual([]);
        expect(error.programError).toContain("bad config");
        expect(error.result.journal).toEqual([]);
        expect(h.resource("a").id).toBe("a.txt");
        expect(existsSync(join(dir, "a.txt"))).toBe(true);
    });

    test("an initialization failure is recorded, and the next up always calls Update", async () => {
        const program = () => void file("a");
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
        const error = await failureOf(h.up(() => void file("a", { extra: randomBytes(50_000).toString("hex") })));
        expect(error.failures.map((f) => f.name)).toEqual(["a"]);
        expect(error.failures[0].message).toContain("dropped the connection");
        expect(() => h.resource("a")).toThrow(); // its properties never arrived
        unlinkSync(join(dir, "a.txt.notready"));
        const ok = await h.up(() => void file("a"));
        expect(ops(ok, "a")).toEqual(["check", "create"]);
    });

    test("`parallel` bounds concurrent steps, like the engine's --parallel", async () => {
        const limited = new Harness({ host, parallel: 1 });
        try {
            const result = await limited.up(() => {
                for (const n of ["a", "b", "c"]) file(n, { delayMs: 100 });
            });
            const creates = result.journal.filter((j) => j.op === "create").sort((x, y) => x.startSeq - y.startSeq);
            expect(creates).toHaveLength(3);
            for (let i = 1; i < creates.length; i++) expect(creates[i - 1].endSeq).toBeLessThan(creates[i].startSeq);
        } finally {
            await limited.close();
        }
    });

    test("secrets stay wrapped in state and outputs; the host gets plain values", async () => {
        const result = await h.up(() => {
            const a = file("a", { extra: pulumi.secret("s3cr3t-value") });
            return { extra: a.extra, size: a.size };
        });
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
    });

    test("tls double: outputs stable across runs, renewal follows the harness clock", async () => {
        const t0 = new Date("2030-01-01T00:00:00Z");
        const hours = (n: number) => new Date(t0.getTime() + n * 3600_000);
        const program = () => {
            const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const cert = new tls.SelfSignedCert("cert", {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: "example", organization: "harness" },
                validityPeriodHours: 10,
                earlyRenewalHours: 2,
                allowedUses: ["digital_signature", "server_auth"],
                dnsNames: ["example.test"],
            });
            return { key: key.privateKeyPem, pem: cert.certPem, ready: cert.readyForRenewal, start: cert.validityStartTime };
        };
        const first = await h.up(program, { now: t0 });
        expect(first.secretOutputs).toEqual(["key"]);
        expect(String(first.outputs.key)).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
        expect(first.outputs.start).toBe("2030-01-01T00:00:00Z");
        const x509 = new X509Certificate(String(first.outputs.pem));
        expect(x509.subject).toBe("O=harness\nCN=example");
        expect(x509.subjectAltName).toBe("DNS:example.test");
        expect(x509.checkPrivateKey(createPrivateKey(String(first.outputs.key)))).toBe(true);
        expect(new Date(x509.validTo).getTime()).toBe(hours(10).getTime());

        const later = await h.up(program, { now: hours(7) });
        expect(later.journal.filter((j) => j.op === "create")).toEqual([]);
        expect(later.outputs.pem).toBe(first.outputs.pem);

        const renewal = await h.up(program, { now: hours(8.5) });
        expect(ops(renewal)).toEqual(["create:cert", "delete:cert"]);
        expect(renewal.outputs.key).toBe(first.outputs.key);
        expect(renewal.outputs.pem).not.toBe(first.outputs.pem);
        expect(renewal.outputs.start).toBe("2030-01-01T08:30:00Z");
        expect(renewal.outputs.ready).toBe(false);
    });
});

describe("the product's component for 2 nodes without a lab", () => {
    const nodes = [
        { name: "node-a", systemId: "aaaa-1111" },
        { name: "node-b", systemId: "bbbb-2222" },
    ];
    let h: Harness;
    beforeAll(() => {
        h = new Harness({ project: "kube-ovn-ipsec", stack: "harness" });
    });
    afterAll(async () => {
        const pid = await h.hostPid();
        await h.close();
        if (pid !== null) expect(alive(pid)).toBe(false);
    });

    test("real certificates and Secrets; the Preflight fails naming the central", async () => {
        const program = () =>
            runStack({
                nodes,
                access: {
                    kind: "command",
                    // An installed program that fails: every command through this transport fails.
                    prefix: ["false", "{target}"],
                    targets: { central: "central-0", nodes: { "node-a": "pod-a", "node-b": "pod-b" } },
                    kubeOvnVersion: "v1.12.35",
                },
                retries: 0,
                waitFor: "none",
            });
        const error = await failureOf(h.up(program));
        expect(error.failures).toHaveLength(1);
        expect(error.failures[0]).toMatchObject({ name: "kube-ovn-ipsec-preflight", type: "pulumi-nodejs:dynamic/kube-ovn-ipsec:Preflight", op: "create" });
        expect(error.failures[0].message).toContain("[ovn-central]");
        expect(error.failures[0].message).toContain("the command failed with exit 1");
        // Everything after the Preflight depends on it: never registered.
        expect(error.result.journal.filter((j) => !j.emulated && j.name !== "default").map((j) => `${j.op}:${j.name}`)).toEqual([
            "check:kube-ovn-ipsec-preflight",
            "create:kube-ovn-ipsec-preflight",
        ]);
        expect(h.resourcesOfType("pulumi-nodejs:dynamic/kube-ovn-ipsec:NodeIpsec")).toEqual([]);

        const caPem = String(h.outputsOf("kube-ovn-ipsec-ca").certPem);
        const ca = new X509Certificate(caPem);
        expect(ca.ca).toBe(true);
        expect(ca.subject).toBe("O=kube-ovn\nCN=kube-ovn-ipsec CA");
        expect(ca.checkIssued(ca)).toBe(true);
        let openssl = true;
        try {
            execFileSync("openssl", ["version"], { stdio: "ignore" });
        } catch {
            openssl = false;
        }
        if (openssl) expect(execFileSync("openssl", ["x509", "-noout", "-ext", "basicConstraints"], { input: caPem }).toString()).toMatch(/critical\s+CA:TRUE/);

        const secrets = h.kubernetesSecrets();
        expect(secrets.find((s) => s.name === "kube-ovn-ipsec-ca")?.data).toEqual({ "ca.crt": caPem });
        for (const node of nodes) {
            const certPem = String(h.outputsOf(`kube-ovn-ipsec-${node.name}-cert`).certPem);
            const keyPem = String(h.outputsOf(`kube-ovn-ipsec-${node.name}-key`).privateKeyPem);
            expect(keyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
            const cert = new X509Certificate(certPem);
            expect(cert.subject).toBe(`O=kube-ovn\nCN=${node.systemId}`);
            expect(cert.subjectAltName).toBe(`DNS:${node.systemId}`);
            expect(cert.issuer).toBe(ca.subject);
            expect(cert.checkIssued(ca)).toBe(true);
            expect(cert.verify(ca.publicKey)).toBe(true);
            expect(cert.ca).toBe(false);
            expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
            if (openssl) {
                const dirForVerify = mkdtempSync(join(tmpdir(), "koi-verify-"));
                try {
                    writeFileSync(join(dirForVerify, "ca.pem"), caPem);
                    writeFileSync(join(dirForVerify, "cert.pem"), certPem);
                    expect(execFileSync("openssl", ["verify", "-CAfile", join(dirForVerify, "ca.pem"), join(dirForVerify, "cert.pem")]).toString()).toContain("OK");
                } finally {
                    rmSync(dirForVerify, { recursive: true, force: true });
                }
            }
            const secret = secrets.find((s) => s.name === `kube-ovn-ipsec-${node.name}`);
            expect(secret?.type).toBe("kubernetes.io/tls");
            expect(secret?.data).toEqual({ "tls.crt": certPem, "tls.key": keyPem, "ca.crt": caPem });
            expect(h.resource(`kube-ovn-ipsec-${node.name}-secret`).secretOutputPaths).toEqual(expect.arrayContaining(["stringData", "data"]));
        }

        // No private key material outside a secret anywhere in the state.
        const keyBodies = h.resourcesOfType("tls:index/privateKey:PrivateKey").map((k) => String(h.outputsOf(k.name).privateKeyPem).split("\n")[1]);
        expect(keyBodies).toHaveLength(3);
        expect(h.stringsOutsideSecrets().filter((s) => keyBodies.some((b) => s.value.includes(b)))).toEqual([]);

        // Same inputs: the same keys and certificates; the Preflight is tried again.
        const serialsNow = (): string[] => h.resourcesOfType("tls:index/locallySignedCert:LocallySignedCert").map((r) => `${r.name}=${r.id}`).sort();
        const serials = serialsNow();
        const again = await failureOf(h.up(program));
        expect(again.result.journal.filter((j) => j.emulated)).toEqual([]);
        expect(serialsNow()).toEqual(serials);
        expect(again.failures.map((f) => f.name)).toEqual(["kube-ovn-ipsec-preflight"]);
    });
});

test("per-operation host mode starts a fresh host for each operation and stops it after", async () => {
    const dir = mkdtempSync(join(tmpdir(), "koi-harness-"));
    const h = new Harness({ host: "per-operation" });
    try {
        const result = await h.up(() => void new TestFile("a", { dir, file: "a.txt", content: "x" }));
        expect(ops(result)).toEqual(["configure:default", "check:a", "create:a"]);
        expect(await h.hostPid()).toBeNull();
        await h.destroy();
        expect(existsSync(join(dir, "a.txt"))).toBe(false);
    } finally {
        await h.close();
        rmSync(dir, { recursive: true, force: true });
    }
});
