/**
 * The kubectl transport end to end: the product's runRemote / nodeEndpoint run the REAL kubectl,
 * which execs over WebSocket (v5.channel.k8s.io) through the lab's API stand-in into the lab's
 * pods. stdin arrives byte for byte, stdout is framed as the product expects, exit codes keep
 * their meaning (3 permanent, 75 retried), stderr tails, hangs, broken connections, replaced
 * pods, wrong credentials and a dead API server are reported as the product promises; and the
 * node apply script installs a real key sent on stdin, which appears nowhere else: not in
 * kubectl's argv, not in anything the API stand-in was sent outside the exec's stdin.
 */
import { execFileSync } from "child_process";
import { createHash, generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { nodeFilePaths } from "../../components/node/nodeFiles";
import { applyScript } from "../../components/node/applyScript";
import { applyPayload } from "../../components/node/nodePayload";
import { removeScript } from "../../components/node/removeScript";
import { ExecPolicy, scriptLimits } from "../../components/transport/access";
import { nodeEndpoint } from "../../components/transport/endpoints";
import { Endpoint, RemoteResult, buildRemoteInvocation, runRemote } from "../../components/transport/exec";
import { RemoteError, isRemoteError } from "../../components/transport/remoteError";
import { newBoundary, parseFacts, parseSections, prelude } from "../../components/transport/scriptKit";
import { defaultScenario } from "../../lab/kubeApi/cluster";
import { startKubeApi } from "../../lab/kubeApi/server";
import { keyFingerprints, leaksIn } from "../support/keyMaterial";
import { KubectlUnderTest, accessFor, eventually, execAttempts, execsServed, startKubectlUnderTest } from "../support/kubeApi";
import { LabNode, LabStatus, freshLab, labOk, podOk, podSh } from "../support/lab";
import { otherConfig, ourFiles, servicePids } from "../support/node";

jest.setTimeout(120_000);

let lab: LabStatus;
let k: KubectlUnderTest;
let node: LabNode;
const policy: ExecPolicy = { timeoutSeconds: 20, retries: 0 };

beforeAll(async () => {
    lab = freshLab(2);
    node = lab.nodes[1];
    k = await startKubectlUnderTest();
});
afterAll(async () => {
    await k?.close();
    labOk("down");
});
afterEach(() => {
    Object.assign(k.api.scenario, defaultScenario());
});

const run = async (job: { step: string; script: string; stdin?: string; timeoutSeconds?: number }, p: ExecPolicy = policy, endpoint?: Endpoint): Promise<RemoteResult> =>
    runRemote(k.access, endpoint ?? (await nodeEndpoint(k.access, node.name, p)), job, p);
const failure = async (job: { step: string; script: string; stdin?: string; timeoutSeconds?: number }, p: ExecPolicy = policy, endpoint?: Endpoint): Promise<RemoteError> => {
    const e = await run(job, p, endpoint).then(
        () => new Error("it succeeded"),
        (x: unknown) => x,
    );
    if (!isRemoteError(e)) throw e;
    return e;
};
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const ovsPodOf = async (name: string) => (await k.api.objects()).pods.find((p) => p.object.metadata.labels.app === "ovs" && p.object.spec.nodeName === name)!.object.metadata.name;

describe("stdin and stdout through kubectl exec", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 4096 });
    const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    it.each([
        ["a short line", "hello\n"],
        ["no final newline, shell metacharacters", "a'b\"c $(x) `y` \\ z"],
        ["a PEM-sized private key", pem],
        ["1 MiB of lines holding every latin-1 character but NUL (UTF-8 on the wire)", Array.from({ length: 1 << 12 }, (_, i) => Buffer.from(Array.from({ length: 255 }, (_, j) => ((i + j) % 255) + 1)).toString("latin1") + "\n").join("")],
    ])("%s arrives byte for byte", async (_what, payload) => {
        const endpoint = await nodeEndpoint(k.access, node.name, policy);
        const since = k.api.requests.length;
        const script = "sha256sum | cut -d' ' -f1\n";
        // The node hashes what it received; the stand-in counted what kubectl streamed: the
        // script (`sh -s`) and the payload after it, nothing more.
        const r = await run({ step: "stdin", script, stdin: payload }, policy, endpoint);
        expect(r.stdout.trim()).toBe(sha256(Buffer.from(payload, "utf8")));
        expect(r.attempts).toBe(1);
        const sent = buildRemoteInvocation(k.access, endpoint, script, payload, policy.timeoutSeconds).input ?? "";
        expect(sent).toContain(payload);
        expect(execsServed(k.api, since).map((e) => e.stdinBytes)).toEqual([Buffer.byteLength(sent, "utf8")]);
    });

    it("stdout comes back whole, large and framed, with the completion marker removed", async () => {
        const r = await run({ step: "stdout", script: "seq 1 60000; printf 'no newline at the end'" });
        // The product's completion marker follows on the same line: cut off exactly there.
        const expected = Array.from({ length: 60000 }, (_, i) => String(i + 1)).join("\n") + "\nno newline at the end";
        expect(r.stdout).toBe(expected);
    });

    it("sections framed by a boundary parse as on any transport: the pod's real system-id", async () => {
        const boundary = newBoundary();
        const script = `${prelude(boundary, { budgetSeconds: 20, ovsdbTimeoutSeconds: 5 }, { name: "test-read", readOnly: true })}
echo "noise before the sections, and a fake boundary: @@koi-0000@@ facts"
section facts
printf 'system_id=%s\\n' "$(vsctl get Open_vSwitch . external_ids:system-id | tr -d '"')"
printf 'hostname=%s\\n' "$(hostname)"
`;
        const facts = parseFacts(parseSections((await run({ step: "read", script })).stdout, boundary).get("facts"));
        expect(facts).toEqual({ system_id: node.systemId, hostname: node.target });
    });
});

describe("exit codes, stderr and the product's classification", () => {
    it("exit 0: one attempt, stderr kept on the result", async () => {
        const r = await run({ step: "ok", script: "echo warn >&2" });
        expect(r).toMatchObject({ attempts: 1, stderr: "warn\n" });
    });

    it("exit 0 before the script's end (no completion marker) is a cut output, not a success", async () => {
        const e = await failure({ step: "ok", script: "echo partial; exit 0" });
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "ok" failed (exit 0, 1 attempt): the output ended before the script finished (connection cut?)`);
        expect(e.remote.transient).toBe(true);
    });

    it("exit 3 is permanent: one attempt, the step and message the script named", async () => {
        const since = k.api.requests.length;
        const e = await failure({ step: "apply", script: "echo 'kube-ovn-ipsec: step=check-system-id: the id is wrong' >&2; exit 3" }, { timeoutSeconds: 20, retries: 2 });
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "check-system-id" failed (exit 3, 1 attempt): the id is wrong`);
        expect(e.remote).toMatchObject({ transient: false, exitCode: 3, attempts: 1 });
        expect(execsServed(k.api, since).map((x) => x.exitCode)).toEqual([3]);
    });

    it("exit 75 is transient: retried until the attempts run out, each one a real exec", async () => {
        const since = k.api.requests.length;
        const e = await failure({ step: "apply", script: "echo 'kube-ovn-ipsec: step=set-other-config: OVSDB busy' >&2; exit 75" }, { timeoutSeconds: 20, retries: 2 });
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "set-other-config" failed (exit 75, 3 attempts): OVSDB busy`);
        expect(e.remote.transient).toBe(true);
        expect(execsServed(k.api, since).map((x) => x.exitCode)).toEqual([75, 75, 75]);
    });

    it("another exit code is the script's own: its stderr tail (last lines, as kubectl relayed them) is in the error", async () => {
        const e = await failure({ step: "apply", script: "i=1; while [ $i -le 30 ]; do echo \"stderr line $i\" >&2; i=$((i+1)); done; exit 1" });
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "apply" failed (exit 1, 1 attempt): the command failed with exit 1`);
        expect(e.message).toContain("stderr line 30");
        expect(e.message).toContain("command terminated with exit code 1");
        expect(e.message).not.toContain("stderr line 5\n");
        expect(e.remote.exitCode).toBe(1);
    });

    it("a command killed in the pod comes back as 128 + signal, as a container runtime reports it", async () => {
        const e = await failure({ step: "apply", script: "kill -9 $$" });
        expect(e.remote.exitCode).toBe(137);
        expect(e.message).toContain("command terminated with exit code 137");
    });
});

describe("hangs and broken connections", () => {
    it("a command that hangs in the pod: kubectl is killed at the timeout, the error names node and step", async () => {
        const since = k.api.requests.length;
        const started = Date.now();
        const e = await failure({ step: "wait-configured", script: "sleep 40", timeoutSeconds: 2 });
        expect(Date.now() - started).toBeLessThan(8000);
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "wait-configured" failed (1 attempt): no answer within 2s (killed)`);
        expect(e.message).toContain("what to do:");
        // (Recorded as it starts: wait until the stand-in saw the client go.)
        await eventually(() => execsServed(k.api, since).some((x) => x.clientWentAway || x.exitCode !== null));
        expect(execsServed(k.api, since)).toEqual([expect.objectContaining({ clientWentAway: true, exitCode: null })]);
        // As under a real runtime, killing kubectl does not stop the command in the pod.
        expect(podSh(lab, node.target, "pgrep -x sleep").status).toBe(0);
        podSh(lab, node.target, "pkill -x sleep");
    });

    it("a node whose kubelet accepts the exec and never answers: the same bounded failure, retried", async () => {
        k.api.scenario.execFaults[await ovsPodOf(node.name)] = "hang";
        const since = k.api.requests.length;
        const e = await failure({ step: "apply", script: "true", timeoutSeconds: 2 }, { timeoutSeconds: 2, retries: 1 });
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "apply" failed (2 attempts): no answer within 2s (killed)`);
        await eventually(() => execAttempts(k.api, since).length === 2);
        expect(execAttempts(k.api, since)).toEqual([`GET ${await ovsPodOf(node.name)} 101`, `GET ${await ovsPodOf(node.name)} 101`]);
    });

    it("a connection cut mid-stream is a transport failure: retried, and the retry succeeds", async () => {
        k.api.scenario.execFaultsOnce[await ovsPodOf(node.name)] = "drop";
        const r = await run({ step: "read", script: "echo first; sleep 0.3; echo second" }, { timeoutSeconds: 20, retries: 1 });
        expect(r).toMatchObject({ attempts: 2, stdout: "first\nsecond\n" });

        k.api.scenario.execFaultsOnce[await ovsPodOf(node.name)] = "drop";
        const e = await failure({ step: "read", script: "echo first; sleep 0.3; echo second" });
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "read" failed (exit 1, 1 attempt): the exec connection broke before the command's exit status came back`);
        expect(e.remote.transient).toBe(true);
    });
});

describe("pods and the API server", () => {
    it("a pod replaced between lookup and exec: the exec fails on the old name, the retry finds the new pod", async () => {
        const endpoint = await nodeEndpoint(k.access, node.name, policy);
        k.api.replaceOvsPod(node.name);
        const replacement = await ovsPodOf(node.name);
        expect(replacement).not.toBe((endpoint as { pod: string }).pod);
        const since = k.api.requests.length;
        const r = await run({ step: "read", script: "hostname" }, { timeoutSeconds: 20, retries: 1 }, endpoint);
        expect(r).toMatchObject({ attempts: 2, stdout: `${node.target}\n` });
        expect(k.api.requests.slice(since).filter((x) => x.status === 404).map((x) => x.url.split("?")[0])).toEqual([`/api/v1/namespaces/kube-system/pods/${(endpoint as { pod: string }).pod}`]);
        expect(execsServed(k.api, since).map((x) => x.pod)).toEqual([replacement]);
    });

    it("without a retry left, the error says the pod is gone", async () => {
        const endpoint = await nodeEndpoint(k.access, node.name, policy);
        k.api.replaceOvsPod(node.name);
        const e = await failure({ step: "read", script: "hostname" }, policy, endpoint);
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "read" failed (exit 1, 1 attempt): pod ${(endpoint as { pod: string }).pod} is gone (replaced since it was looked up?)`);
    });

    it("a pod that stopped running after the lookup: the retry reports that the node has no running pod", async () => {
        const endpoint = await nodeEndpoint(k.access, node.name, policy);
        k.api.scenario.ovsPods[node.name] = { phase: "Pending" };
        const e = await failure({ step: "read", script: "hostname" }, { timeoutSeconds: 20, retries: 1 }, endpoint);
        expect(e.message.split("\n")[0]).toBe(`[${node.name}] step "find-ovs-pod" failed: no running pod with label app=ovs on node ${node.name} in namespace kube-system`);
        expect(e.remote.transient).toBe(false);
    });

    it("wrong credentials: 401, reported in one line naming kubeconfig and context, not retried, no exec served", async () => {
        const endpoint = await nodeEndpoint(k.access, node.name, policy);
        const bad = k.api.writeKubeconfig(path.join(k.dir, "wrong-token"), { token: "koi-lab.wrong" });
        const since = k.api.requests.length;
        const e = await runRemote(accessFor(bad), endpoint, { step: "apply", script: "true" }, { timeoutSeconds: 20, retries: 2 }).then(
            () => null,
            (x: RemoteError) => x,
        );
        expect(e?.message).toBe(
            `[${node.name}] step "apply" failed (exit 1, 1 attempt): Unauthorized: the API server rejected the credentials of context "kube-ovn-ipsec-lab" of kubeconfig ${bad}; renew them (token or client certificate) or set access.kubectl.kubeconfig / access.kubectl.context to credentials that may read pods and exec into them in kube-system`,
        );
        const seen = k.api.requests.slice(since);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((r) => r.status === 401)).toBe(true);
    });

    it("the API server is down: a clear error naming the server, retried as transient", async () => {
        const gone = await startKubeApi();
        const kubeconfig = gone.writeKubeconfig(path.join(k.dir, "gone"));
        const endpoint = await nodeEndpoint(k.access, node.name, policy);
        await gone.close();
        const e = await runRemote(accessFor(kubeconfig), endpoint, { step: "apply", script: "true" }, { timeoutSeconds: 20, retries: 1 }).then(
            () => null,
            (x: RemoteError) => x,
        );
        expect(e?.message.split("\n")[0]).toBe(`[${node.name}] step "apply" failed (exit 1, 2 attempts): the API server ${new URL(gone.url).host} of context "kube-ovn-ipsec-lab" of kubeconfig ${kubeconfig} refused the connection`);
        expect(e?.remote.transient).toBe(true);
    });
});

describe("the node apply script with a real key on stdin", () => {
    it("installs exactly what was sent, and the key is nowhere but on stdin", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-key-"));
        const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const keyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
        fs.writeFileSync(path.join(dir, "key.pem"), keyPem, { mode: 0o600 });
        const certPem = execFileSync("openssl", ["req", "-x509", "-key", path.join(dir, "key.pem"), "-subj", `/O=kube-ovn/CN=${node.systemId}`, "-addext", `subjectAltName=DNS:${node.systemId}`, "-days", "1"], { encoding: "utf8" });
        const caPem = execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null", "-subj", "/O=kube-ovn/CN=test-ca", "-days", "1"], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true });

        const exec: ExecPolicy = { timeoutSeconds: 60, retries: 0 };
        const limits = scriptLimits(exec);
        const paths = nodeFilePaths(node.systemId, certPem, caPem);
        const argvBefore = k.argvLog().length;
        const since = k.api.requests.length;
        const payload = applyPayload({ caCert: caPem, certificate: certPem, privateKey: keyPem });
        const script = applyScript({ boundary: newBoundary(), limits, systemId: node.systemId, paths, guard: false, restartServices: false });
        const endpoint = await nodeEndpoint(k.access, node.name, exec);
        const applied = await run({ step: "apply", script, stdin: payload }, exec, endpoint);

        // On the node, read through the lab's own transport: the files are what was sent, the key 0600.
        expect(otherConfig(lab, node.name)).toEqual({ certificate: paths.certificate, private_key: paths.privateKey, ca_cert: paths.caCert });
        expect(podOk(lab, node.target, `cat ${paths.privateKey}`)).toBe(keyPem);
        expect(podOk(lab, node.target, `cat ${paths.certificate}`)).toBe(certPem);
        expect(podOk(lab, node.target, `cat ${paths.caCert}`)).toBe(caPem);
        expect(podOk(lab, node.target, `stat -c %a ${paths.privateKey}`).trim()).toBe("600");
        // The key went to the node on the exec's stdin, after the script (the stand-in counted both)...
        const sent = buildRemoteInvocation(k.access, endpoint, script, payload, exec.timeoutSeconds).input ?? "";
        expect(sent).toContain(payload);
        expect(execsServed(k.api, since).map((x) => x.stdinBytes)).toEqual([Buffer.byteLength(sent)]);

        // ...and nowhere else: not in any argv kubectl got, not in any URL or header the API saw.
        const fingerprints = keyFingerprints([keyPem]);
        const places: Array<[string, string]> = [
            ["kubectl argv", k.argvLog().slice(argvBefore).join("\n")],
            ["API requests", JSON.stringify(k.api.requests.slice(since))],
            ["script output", applied.stdout + applied.stderr],
        ];
        expect(places.flatMap(([where, text]) => leaksIn(text, fingerprints).map((l) => `${where}: ${l}`))).toEqual([]);
        // The checks above can see a key: the payload itself is caught.
        expect(leaksIn(payload, fingerprints).length).toBeGreaterThan(0);
        // ...and the argv log holds this exec (`sh -s`, the script on stdin: not even the key's path is in argv).
        const argvs = k.argvLog().slice(argvBefore);
        const pod = endpoint.kind === "pod" ? endpoint.pod : "(not a pod)";
        expect(argvs.some((a) => a.includes(`exec\n--stdin\n${pod}\n`) && a.endsWith("\nsh\n-s\n"))).toBe(true);
        expect(argvs.some((a) => a.includes(paths.privateKey))).toBe(false);

        await run({ step: "remove", script: removeScript({ boundary: newBoundary(), limits }) }, exec);
        expect(otherConfig(lab, node.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
        expect(ourFiles(lab, node.name)).toEqual([]);
        expect(servicePids(lab, node.name)).toEqual({ monitor: null, charon: null });
    });
});
