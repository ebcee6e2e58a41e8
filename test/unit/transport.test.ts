/**
 * How remote commands are built and run. Argv is asserted exactly; running uses a real local
 * "transport" (command access whose prefix is `env`), so retries, timeouts, stdin and error
 * messages are exercised with real processes, not mocks.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ExecPolicy, ResolvedCommandAccess, ResolvedKubectlAccess } from "../../components/transport/access";
import { buildRemoteInvocation, runRemote } from "../../components/transport/exec";
import { isRemoteError } from "../../components/transport/remoteError";
import { parseFacts, parseSections, prelude } from "../../components/transport/scriptKit";
import { shellQuote } from "../../components/transport/shellQuote";
import { fakePrivateKeyPem } from "../fixtures/fakeKeys";

const kubectl: ResolvedKubectlAccess = {
    kind: "kubectl",
    kubectl: "kubectl",
    kubeconfig: "/home/ops/.kube/prod",
    context: "prod",
    namespace: "kube-system",
    ovsPodSelector: "app=ovs",
    ovsContainer: "openvswitch",
    centralPodSelector: "ovn-nb-leader=true",
    centralContainer: "ovn-central",
    kubeOvnVersion: null,
};

const END = "\nprintf '%s\\n' 'kube-ovn-ipsec: done'\n";

describe("argv", () => {
    it("kubectl exec: flags as --flag=value, container, and `sh -s`: the script and its data on stdin, never in the request URL", () => {
        const inv = buildRemoteInvocation(kubectl, { kind: "pod", label: "w1", pod: "ovs-ovn-abcde", container: "openvswitch" }, "echo hi", "DATA\n", 30);
        expect(inv.file).toBe("kubectl");
        expect(inv.args).toEqual([
            "--kubeconfig=/home/ops/.kube/prod",
            "--context=prod",
            "--namespace=kube-system",
            "--request-timeout=30s",
            "exec",
            "--stdin",
            "ovs-ovn-abcde",
            "--container=openvswitch",
            "--",
            "sh",
            "-s",
        ]);
        expect(inv.input).toMatch(new RegExp(`^\\{\\necho hi\\nprintf '%s\\\\n' 'kube-ovn-ipsec: done'\\n\\} <<'(KOI_EOF_[0-9a-f]{16})'\\nDATA\\n\\1\\n$`));
        // A real sh runs it so: the script sees the data on its stdin, byte for byte, with or
        // without a final newline (a here-document always ends in one).
        const through = (data: string) => execFileSync("sh", ["-s"], { input: buildRemoteInvocation(kubectl, { kind: "pod", label: "w1", pod: "p", container: "c" }, "od -An -c; echo end", data, 30).input }).toString();
        const local = (data: string) => execFileSync("od", ["-An", "-c"], { input: data }).toString() + "end\nkube-ovn-ipsec: done\n";
        for (const data of ["line 1\nline 2", "line 1\nline 2\n", "", "\n", "no newline", "a\n\n\nb", "trailing\n\n", "KOI_EOF_0\n'$x' \\ `y`"]) expect(through(data)).toBe(local(data));
    });

    it("kubectl exec without data still reads the script from stdin, and omits unset kubeconfig/context", () => {
        const inv = buildRemoteInvocation({ ...kubectl, kubeconfig: null, context: null }, { kind: "pod", label: "c", pod: "ovn-central-1", container: "ovn-central" }, "true", undefined, 10);
        expect(inv.args).toEqual(["--namespace=kube-system", "--request-timeout=10s", "exec", "--stdin", "ovn-central-1", "--container=ovn-central", "--", "sh", "-s"]);
        expect(inv.input).toMatch(/^\{\ntrue\n/);
    });

    it("command access: the target replaces {target} inside elements, then sh -c script", () => {
        const access: ResolvedCommandAccess = { kind: "command", prefix: ["nsenter", "--net=/run/netns/koi-{target}", "--mount=/run/lab/{target}/mnt", "--"], targets: { central: "c", nodes: {} }, scriptVia: "argv", kubeOvnVersion: null };
        const inv = buildRemoteInvocation(access, { kind: "target", label: "w1", target: "kube-ovn-worker" }, "echo hi", "KEY", 10);
        expect(inv.file).toBe("nsenter");
        expect(inv.args).toEqual(["--net=/run/netns/koi-kube-ovn-worker", "--mount=/run/lab/kube-ovn-worker/mnt", "--", "sh", "-c", "echo hi" + END]);
        expect(inv.input).toBe("KEY");
    });

    it("command access via stdin: argv is prefix + sh -s, the script and its data come on stdin", () => {
        const access: ResolvedCommandAccess = { kind: "command", prefix: ["ssh", "root@{target}"], targets: { central: "c", nodes: {} }, scriptVia: "stdin", kubeOvnVersion: null };
        const inv = buildRemoteInvocation(access, { kind: "target", label: "w1", target: "10.0.0.5" }, "cat", "-----BEGIN X-----\nabc\n", 10);
        expect(inv.file).toBe("ssh");
        expect(inv.args).toEqual(["root@10.0.0.5", "sh", "-s"]);
        expect(inv.input).toMatch(/^\{\ncat\n/);
        expect(inv.input).toContain("-----BEGIN X-----\nabc\n");
        // The key never reaches argv.
        expect(inv.args.join(" ")).not.toContain("BEGIN");
    });
});

describe("shellQuote", () => {
    const hostile = [
        "plain",
        "",
        "it's",
        // Several quotes, adjacent and apart: escaping only the first would let the rest out.
        "a'b'c",
        "''",
        "'''; id; echo '",
        "x' y 'z' $(id) '",
        "'; rm -rf / #",
        "$(reboot)",
        "`id`",
        "a\nb",
        "--flag=value",
        "-n",
        "tab\there",
        "back\\slash",
        "\"double\"",
        "ünïcødé ☃",
        "x".repeat(5000),
        "*",
        "~root",
        "a b  c",
    ];
    it.each(hostile.map((h) => [JSON.stringify(h).slice(0, 40), h]))("round-trips %s through a real sh", (_label, value) => {
        const out = execFileSync("sh", ["-c", `printf '%s' ${shellQuote(value)}`], { encoding: "utf8" });
        expect(out).toBe(value);
    });

    it("refuses a NUL byte", () => {
        expect(() => shellQuote("a\0b")).toThrow(/NUL/);
    });
});

describe("runRemote through a real local transport", () => {
    let dir: string;
    let access: ResolvedCommandAccess;
    const policy: ExecPolicy = { timeoutSeconds: 5, retries: 2 };
    const endpoint = { kind: "target" as const, label: "worker-7", target: "t7" };
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-transport-"));
        // A prefix that logs its argv, then runs the rest locally: a real process boundary.
        const logger = path.join(dir, "log-argv");
        fs.writeFileSync(logger, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${shellQuote(path.join(dir, "argv.log"))}\nshift\nexec "$@"\n`, { mode: 0o755 });
        access = { kind: "command", prefix: [logger, "{target}"], targets: { central: "c", nodes: {} }, scriptVia: "argv", kubeOvnVersion: null };
    });

    it("passes stdin, returns stdout without the completion marker", async () => {
        const r = await runRemote(access, endpoint, { step: "echo", script: "cat; echo done" , stdin: "payload\n" }, policy);
        expect(r.stdout).toBe("payload\ndone\n");
        expect(r.attempts).toBe(1);
    });

    it("works the same with the script on stdin", async () => {
        const r = await runRemote({ ...access, scriptVia: "stdin" }, endpoint, { step: "echo", script: "cat; echo done", stdin: "payload" }, policy);
        // Byte for byte: no newline added to data that had none.
        expect(r.stdout).toBe("payloaddone\n");
    });

    it("never puts stdin data in argv", async () => {
        const secret = fakePrivateKeyPem("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=");
        await runRemote(access, endpoint, { step: "read", script: "cat >/dev/null", stdin: secret }, policy);
        await runRemote({ ...access, scriptVia: "stdin" }, endpoint, { step: "read", script: "cat >/dev/null", stdin: secret }, policy);
        const argv = fs.readFileSync(path.join(dir, "argv.log"), "utf8");
        expect(argv).toContain("t7 sh -c");
        expect(argv).not.toContain("PRIVATE KEY");
        expect(argv).not.toContain("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo");
    });

    it("a permanent failure is not retried; the error names node, step, detail", async () => {
        const counter = path.join(dir, "perm");
        const script = `${prelude("@@b@@", { budgetSeconds: 20, ovsdbTimeoutSeconds: 5 }, { name: "test", readOnly: true })}echo x >> ${shellQuote(counter)}\nfail $PERMANENT check-system-id "OVS system-id is 'b' but the certificate is for 'a'"`;
        const err = await runRemote(access, endpoint, { step: "apply", script }, policy).catch((e: unknown) => e);
        expect(isRemoteError(err)).toBe(true);
        expect((err as Error).message).toBe(`[worker-7] step "check-system-id" failed (exit 3, 1 attempt): OVS system-id is 'b' but the certificate is for 'a'`);
        expect(fs.readFileSync(counter, "utf8").split("\n").filter(Boolean)).toHaveLength(1);
    });

    it("a transient failure is retried with backoff until it succeeds", async () => {
        const counter = path.join(dir, "transient");
        const script = `${prelude("@@b@@", { budgetSeconds: 20, ovsdbTimeoutSeconds: 5 }, { name: "test", readOnly: true })}echo x >> ${shellQuote(counter)}\n[ "$(wc -l < ${shellQuote(counter)})" -ge 3 ] || fail $TRANSIENT read-system-id "ovsdb-server not answering"\necho ok`;
        const r = await runRemote(access, endpoint, { step: "apply", script }, policy);
        expect(r.stdout).toBe("ok\n");
        expect(r.attempts).toBe(3);
    });

    it("gives up after retries and reports the attempts and the stderr tail", async () => {
        const err = (await runRemote(access, endpoint, { step: "apply", script: "echo 'something broke' >&2; exit 1" }, { timeoutSeconds: 5, retries: 1 }).catch((e: unknown) => e)) as Error;
        expect(err.message).toMatch(/^\[worker-7\] step "apply" failed \(exit 1, 2 attempts\): the command failed with exit 1/);
        expect(err.message).toContain("stderr: something broke");
        expect(err.message).toContain("what to do:");
    });

    it("kills a hung command at the timeout and says so", async () => {
        const started = Date.now();
        const err = (await runRemote(access, endpoint, { step: "status", script: "sleep 30" }, { timeoutSeconds: 1, retries: 0 }).catch((e: unknown) => e)) as Error;
        expect(Date.now() - started).toBeLessThan(5000);
        expect(err.message).toMatch(/step "status" failed .*no answer within 1s \(killed\)/);
    });

    it("treats output cut before the completion marker as a transport failure", async () => {
        // Exit 0 without running to the end (the marker is appended after the script).
        const err = (await runRemote(access, endpoint, { step: "read", script: "echo partial; exit 0" }, { timeoutSeconds: 5, retries: 0 }).catch((e: unknown) => e)) as Error;
        expect(err.message).toMatch(/the output ended before the script finished/);
    });

    it("redacts key material that a remote tool echoes to stderr", async () => {
        const key = fakePrivateKeyPem("A".repeat(64)).trimEnd();
        const err = (await runRemote(access, endpoint, { step: "apply", script: "cat >&2; exit 1", stdin: key }, { timeoutSeconds: 5, retries: 0 }).catch((e: unknown) => e)) as Error;
        expect(err.message).toContain("[redacted private key]");
        expect(err.message).not.toContain("A".repeat(64));
    });

    it("names a missing transport program without retrying", async () => {
        const err = (await runRemote({ ...access, prefix: ["/nonexistent/kubectl-like", "{target}"] }, endpoint, { step: "apply", script: "true" }, policy).catch((e: unknown) => e)) as Error;
        expect(err.message).toMatch(/could not run \/nonexistent\/kubectl-like: ENOENT/);
        expect(err.message).toContain("1 attempt");
    });
});

describe("framed output", () => {
    it("splits sections by a boundary nothing else can print", () => {
        const b = "@@koi-0123456789abcdef@@";
        const out = `noise\n${b} facts\na=1\nb=x=y\n${b} tunnels\n@@koi-fake@@ facts\nline\n`;
        const sections = parseSections(out, b);
        expect(parseFacts(sections.get("facts"))).toEqual({ a: "1", b: "x=y" });
        expect(sections.get("tunnels")).toBe("@@koi-fake@@ facts\nline\n");
    });
});
