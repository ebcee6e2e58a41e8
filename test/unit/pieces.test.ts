/**
 * Small pure pieces the node scripts and the providers rely on: OVSDB's string form, image
 * references, the cause a failing command's text names, the program lookup, the facts an
 * observation is parsed from, the drift a node shows against what the stack wants, and a
 * certificate's expiry as the outputs report it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseImageReference } from "../../components/cluster/imageReference";
import { nodeDrift } from "../../components/node/drift";
import { nodeFilePaths } from "../../components/node/nodeFiles";
import { NodeObservation, parseObservation, unreadableNode } from "../../components/observe/nodeObservation";
import { expiryOf } from "../../components/pki/expiry";
import { classifyFailure } from "../../components/transport/failureCause";
import { ovsdbQuote, parseOvsdbString } from "../../components/transport/ovsdbString";
import { MAX_SECTION_BYTES } from "../../components/transport/scriptKit";
import { findProgram } from "../../components/util/findProgram";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", name), "utf8");

describe("OVSDB strings", () => {
    it.each([
        ['"/etc/ipsec.d/certs/a.pem"', "/etc/ipsec.d/certs/a.pem"],
        ['"a \\"b\\\\c"', 'a "b\\c'],
        ['"päth ü"', "päth ü"],
        ['""', ""],
        ["simple", "simple"],
        ['"line\\nbreak"', "line\nbreak"],
    ])("%s is %j", (raw, value) => {
        expect(parseOvsdbString(raw)).toBe(value);
        // And the quoted form of the value reads back as the same value.
        expect(parseOvsdbString(ovsdbQuote(value))).toBe(value);
    });

    it.each(["", '"unterminated', 'two words', '"a" "b"'])("%j is not one string (or is absent)", (raw) => {
        expect(parseOvsdbString(raw)).toBeNull();
    });
});

describe("image references", () => {
    const digest = "sha256:" + "ab".repeat(32);
    it.each([
        ["kubeovn/kube-ovn:v1.12.22", { name: "kubeovn/kube-ovn", tag: "v1.12.22", digest: null }],
        [`docker.io/kubeovn/kube-ovn:v1.13.0@${digest}`, { name: "docker.io/kubeovn/kube-ovn", tag: "v1.13.0", digest }],
        [`kubeovn/kube-ovn@${digest}`, { name: "kubeovn/kube-ovn", tag: null, digest }],
        ["registry.local:5000/kubeovn/kube-ovn", { name: "registry.local:5000/kubeovn/kube-ovn", tag: null, digest: null }],
        ["registry.local:5000/kubeovn/kube-ovn:v1.12.3-amd64", { name: "registry.local:5000/kubeovn/kube-ovn", tag: "v1.12.3-amd64", digest: null }],
        ["kube-ovn", { name: "kube-ovn", tag: null, digest: null }],
    ])("%s", (ref, parsed) => {
        expect(parseImageReference(ref)).toEqual(parsed);
    });

    it.each(["", "a b:c", "kube-ovn:", "kube-ovn:v1@sha256:short", "registry:5000/"])("%j is not an image reference", (ref) => {
        expect(parseImageReference(ref)).toBeNull();
    });
});

describe("the cause a command's message names", () => {
    // Messages as the tools in the pods print them (mawk, coreutils, ovs-vsctl).
    it.each([
        ['writing the new files into /etc/ipsec.d: awk: cannot open "/etc/ipsec.d/private/x.pem.koi-tmp" for output (Read-only file system)', "read-only file system", true],
        ["writing the new files into /etc/ipsec.d: awk: write failure (No space left on device) awk: close failed on file /etc/ipsec.d/private/x (No space left on device)", "no space left on device", true],
        ["renaming the private key into /etc/ipsec.d/private/x.pem: mv: cannot move 'a' to 'b': Permission denied", "permission denied", true],
        ["ovs-vsctl could not read external_ids:system-id: ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)", "OVSDB not answering", false],
        ["ovs-vsctl could not read external_ids:system-id: no answer within 3 s (the database is not responding)", "timeout", false],
        ["service ipsec start: /etc/init.d/ipsec: 12: ipsec: not found", "program not found", true],
    ])("%s", (text, cause, permanent) => {
        expect(classifyFailure(text)).toMatchObject({ cause, permanent });
    });

    it("names no cause it cannot see", () => {
        expect(classifyFailure("ovs-vsctl set other_config: something odd happened")).toBeNull();
    });
});

describe("certificate expiry", () => {
    const notAfter = "2027-01-31T12:00:00Z";
    const end = Date.parse(notAfter);
    const H = 3600 * 1000;

    it("renews from exactly earlyRenewalHours before the end, not a millisecond earlier", () => {
        expect(expiryOf(notAfter, 720, new Date(end - 720 * H))?.renewsOnNextUp).toBe(true);
        expect(expiryOf(notAfter, 720, new Date(end - 720 * H - 1))?.renewsOnNextUp).toBe(false);
        // No window (the CA): only once expired.
        expect(expiryOf(notAfter, 0, new Date(end - 1))?.renewsOnNextUp).toBe(false);
        expect(expiryOf(notAfter, 0, new Date(end))?.renewsOnNextUp).toBe(true);
    });

    it("counts whole days left, negative once expired", () => {
        expect(expiryOf(notAfter, 0, new Date(end - 10 * 24 * H))?.daysLeft).toBe(10);
        expect(expiryOf(notAfter, 0, new Date(end - 10 * 24 * H + 1))?.daysLeft).toBe(9);
        expect(expiryOf(notAfter, 0, new Date(end - 1))?.daysLeft).toBe(0);
        expect(expiryOf(notAfter, 0, new Date(end + 1))?.daysLeft).toBe(-1);
        expect(expiryOf(notAfter, 0, new Date(end))).toEqual({ notAfter, daysLeft: 0, renewsOnNextUp: true });
    });

    it("has nothing to say about a time it cannot read", () => {
        expect(expiryOf("", 720, new Date())).toBeNull();
        expect(expiryOf("not a time", 720, new Date())).toBeNull();
    });
});

describe("findProgram", () => {
    it("finds a program on PATH or by path, and only executable files", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-prog-"));
        fs.writeFileSync(path.join(dir, "tool"), "#!/bin/sh\n", { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "plain"), "", { mode: 0o644 });
        expect(findProgram("tool", dir)).toBe(path.join(dir, "tool"));
        expect(findProgram("plain", dir)).toBeNull();
        expect(findProgram(path.join(dir, "tool"), "")).toBe(path.join(dir, "tool"));
        expect(findProgram(dir, "")).toBeNull();
        expect(findProgram("tool", "")).toBeNull();
        fs.rmSync(dir, { recursive: true });
    });
});

describe("observations and drift", () => {
    const sid = "25941846-9896-421b-a58f-1e030d5a1f5b";
    const cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const ca = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
    const paths = nodeFilePaths(sid, cert, ca);
    const b = "@@koi-00000000000000ff@@";
    const framed = (facts: string[], tunnels = fixture("tunnels-show-3node-configured-n1.txt"), rc = "0") =>
        [`${b} facts`, ...facts, `${b} tunnels`, tunnels, `${b} ike`, fixture("ipsec-status-routed-only.txt"), `${b} codes`, `tunnels_rc=${rc}`, "ike_rc=0"].join("\n");
    const healthyFacts = [
        `system_id="${sid}"`,
        `oc_certificate="${paths.certificate}"`,
        `oc_private_key="${paths.privateKey}"`,
        `oc_ca_cert="${paths.caCert}"`,
        "before=recorded",
        "manifest=1",
        `m_certificate=${paths.certificate}`,
        "f_certificate=ok",
        `m_private_key=${paths.privateKey}`,
        "f_private_key=ok",
        "key_mode=600",
        `m_ca_cert=${paths.caCert}`,
        "f_ca_cert=ok",
        "our_files=3",
        "started=monitor ike ",
        "monitor=1",
        "ike=1",
        "xfrm_policies=8",
        "guard_tool=1",
        "guard_jumps=0",
        "guard_chain=0",
        "guard_addrs=",
        "guard_drops=0",
        "guard_wanted=10.99.0.12 10.99.0.13 ",
    ];
    const at = new Date("2026-12-01T10:00:00Z");
    const want = { systemId: sid, paths, guard: false };

    it("parses the facts, OVSDB quoting undone exactly", () => {
        const o = parseObservation("n1", framed(healthyFacts), b, at);
        expect(o).toMatchObject({
            node: "n1",
            observedAt: "2026-12-01T10:00:00.000Z",
            reachable: true,
            systemId: sid,
            otherConfig: { certificate: paths.certificate, private_key: paths.privateKey, ca_cert: paths.caCert },
            manifest: { certificate: paths.certificate, private_key: paths.privateKey, ca_cert: paths.caCert },
            files: { certificate: "ok", private_key: "ok", ca_cert: "ok" },
            privateKeyMode: "600",
            beforeRecorded: true,
            startedByUs: { monitor: true, ike: true },
            monitorRunning: true,
            ikeDaemonRunning: true,
            xfrmPolicies: 8,
            guard: { tool: true, jumps: 0, chain: false, addresses: [], wanted: ["10.99.0.12", "10.99.0.13"], drops: 0, invalid: [] },
        });
        expect(o.tunnelsShow).toEqual({ ok: true, text: fixture("tunnels-show-3node-configured-n1.txt"), truncated: false });
    });

    it("a node as desired has no drift", () => {
        expect(nodeDrift(want, parseObservation("n1", framed(healthyFacts), b, at))).toEqual({ reasons: [], restartServices: false });
    });

    it("after a pod restart: the files, the manifest and the daemons are named", () => {
        const facts = healthyFacts.filter((f) => !/^(m_|f_|key_mode|manifest|our_files|started|monitor|ike)/.test(f)).concat(["manifest=0", "our_files=0", "monitor=0", "ike=0"]);
        expect(nodeDrift(want, parseObservation("n1", framed(facts, "", "1"), b, at)).reasons).toEqual([
            "our certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)",
            "ovs-monitor-ipsec is not running",
            "the IKE daemon (strongSwan charon) is not running",
        ]);
    });

    it("our strongSwan settings file missing or changed is drift (no restart); not reported, nothing is said", () => {
        const withSw = (v: string) => nodeDrift(want, parseObservation("n1", framed([...healthyFacts, `swconf=${v}`]), b, at));
        expect(withSw("ok")).toEqual({ reasons: [], restartServices: false });
        expect(withSw("missing")).toEqual({ reasons: ["kube-ovn-ipsec's strongSwan settings file (xfrm_acq_expires) is missing"], restartServices: false });
        expect(withSw("changed").reasons).toEqual(["kube-ovn-ipsec's strongSwan settings file (xfrm_acq_expires) was changed"]);
        expect(withSw("garbage").reasons).toEqual([]);
    });

    it("daemons running but the kernel lost their policies: restart them", () => {
        const bare = fixture("tunnels-show-3node-configured-n1.txt").replace(/^ {2}src .*\n/gm, "");
        expect(nodeDrift(want, parseObservation("n1", framed(healthyFacts, bare), b, at))).toEqual({ reasons: ["2 configured tunnel(s) have no kernel IPsec policy"], restartServices: true });
    });

    it("someone else's paths in other_config, a key that changed, a wrong mode", () => {
        const facts = healthyFacts.map((f) => (f.startsWith("oc_certificate=") ? 'oc_certificate="/etc/ipsec.d/certs/theirs \\"x\\".pem"' : f.startsWith("f_private_key=") ? "f_private_key=changed" : f.startsWith("key_mode=") ? "key_mode=644" : f));
        expect(nodeDrift(want, parseObservation("n1", framed(facts), b, at)).reasons).toEqual([
            `other_config:certificate is "/etc/ipsec.d/certs/theirs \\"x\\".pem", not ${paths.certificate}`,
            "the private key file was changed",
            "the private key file has mode 644, not 600",
        ]);
    });

    it("the fail-closed guard: missing, duplicated, out of date, or there when not wanted", () => {
        const guard = (jumps: number, chain: number, addrs: string) => healthyFacts.map((f) => (f.startsWith("guard_jumps=") ? `guard_jumps=${jumps}` : f.startsWith("guard_chain=") ? `guard_chain=${chain}` : f.startsWith("guard_addrs=") ? `guard_addrs=${addrs}` : f));
        const drift = (jumps: number, chain: number, addrs: string, wanted: boolean) => nodeDrift({ ...want, guard: wanted }, parseObservation("n1", framed(guard(jumps, chain, addrs)), b, at)).reasons;
        expect(drift(0, 0, "", true)).toEqual(["the fail-closed guard is not installed"]);
        expect(drift(2, 1, "10.99.0.12 10.99.0.13", true)).toEqual(["the fail-closed guard is hooked into OUTPUT 2 times"]);
        expect(drift(1, 1, "10.99.0.12", true)).toEqual(["the fail-closed guard covers [10.99.0.12], the node's Geneve peers are [10.99.0.12, 10.99.0.13]"]);
        expect(drift(1, 1, "10.99.0.13 10.99.0.12", true)).toEqual([]);
        expect(drift(1, 1, "10.99.0.12 10.99.0.13", false)).toEqual(["a fail-closed guard is installed but not wanted (failClosed is off, or IPsec is disabled)"]);
    });

    it("a tunnels/show longer than we read is marked as cut, and its beginning kept", () => {
        const one = fixture("tunnels-show-3node-configured-n1.txt");
        const huge = one.repeat(Math.ceil((MAX_SECTION_BYTES + 10) / one.length));
        const o = parseObservation("n1", framed(healthyFacts, huge.slice(0, MAX_SECTION_BYTES + 1), "141"), b, at);
        expect(o.tunnelsShow.truncated).toBe(true);
        expect(o.tunnelsShow.ok).toBe(true);
        expect(Buffer.byteLength(o.tunnelsShow.text)).toBe(MAX_SECTION_BYTES);
    });

    it("lists the IKE SAs the script saw stay CONNECTING, each a name[id], nothing else", () => {
        const withStuck = (lines: string[]) => parseObservation("n1", framed(healthyFacts).replace(`${b} codes`, [`${b} ike_stuck`, ...lines, `${b} codes`].join("\n")), b, at).ikeStuck;
        expect(withStuck(["ovn-63c90f-0-in-1[4]", "   (unnamed)[2]  "])).toEqual(["ovn-63c90f-0-in-1[4]", "(unnamed)[2]"]);
        expect(withStuck(["", "not an SA", "x[]", "a b[1]", "y[12345678901]"])).toEqual([]);
        expect(parseObservation("n1", framed(healthyFacts), b, at).ikeStuck).toEqual([]);
    });

    it("reads every fact as the node printed it, with no default standing in for a value", () => {
        const set = (changes: Record<string, string | null>) => {
            const kept = healthyFacts.filter((f) => !(f.slice(0, f.indexOf("=")) in changes));
            return kept.concat(Object.entries(changes).flatMap(([k, v]) => (v === null ? [] : [`${k}=${v}`])));
        };
        const o = (changes: Record<string, string | null>) => parseObservation("n1", framed(set(changes)), b, at);
        expect(o({ encap_ip: '"10.99.0.11"' }).encapIp).toBe("10.99.0.11");
        expect(o({}).encapIp).toBeNull();
        // Each tool's section is read into its own output.
        expect(o({}).ipsecStatus).toEqual({ ok: true, text: fixture("ipsec-status-routed-only.txt"), truncated: false });
        expect(o({}).ourFiles).toBe(3);
        expect(o({ our_files: null }).ourFiles).toBe(0);
        expect(o({ our_files: "garbage" }).ourFiles).toBe(0);
        expect(o({ xfrm_policies: "0" }).xfrmPolicies).toBe(0);
        expect(o({ xfrm_policies: "" }).xfrmPolicies).toBeNull();
        expect(o({ xfrm_policies: null }).xfrmPolicies).toBeNull();
        expect(o({ key_mode: null }).privateKeyMode).toBeNull();
        expect(o({ before: null }).beforeRecorded).toBe(false);
        expect(o({ started: "ike" }).startedByUs).toEqual({ monitor: false, ike: true });
        expect(o({ started: "monitor" }).startedByUs).toEqual({ monitor: true, ike: false });
        expect(o({ started: null }).startedByUs).toEqual({ monitor: false, ike: false });
        expect(o({ monitor: "0", ike: "1" })).toMatchObject({ monitorRunning: false, ikeDaemonRunning: true });
        expect(o({ monitor: "1", ike: "0" })).toMatchObject({ monitorRunning: true, ikeDaemonRunning: false });
        // A file the manifest lists but whose state is not one we know is unknown, never ok.
        expect(o({ f_ca_cert: "bogus" }).files).toEqual({ certificate: "ok", private_key: "ok", ca_cert: "unknown" });
        expect(o({ f_certificate: "missing", f_private_key: "changed" }).files).toEqual({ certificate: "missing", private_key: "changed", ca_cert: "ok" });
        expect(o({ m_ca_cert: "" }).manifest).toEqual({ certificate: paths.certificate, private_key: paths.privateKey, ca_cert: null });
        // No manifest: nothing to compare the files with.
        const none = o({ manifest: "0" });
        expect(none.manifest).toBeNull();
        expect(none.files).toEqual({ certificate: "unknown", private_key: "unknown", ca_cert: "unknown" });
        expect(o({ guard_tool: "0" }).guard.tool).toBe(false);
        const guard = o({ guard_jumps: "1", guard_chain: "1", guard_addrs: "10.99.0.13 10.99.0.12", guard_wanted: "10.99.0.13  10.99.0.12", guard_drops: "17", guard_invalid: "host name\tfe80::1%eth0" }).guard;
        expect(guard).toEqual({ tool: true, jumps: 1, chain: true, addresses: ["10.99.0.12", "10.99.0.13"], wanted: ["10.99.0.12", "10.99.0.13"], drops: 17, invalid: ["host name", "fe80::1%eth0"] });
        expect(o({ guard_jumps: null, guard_drops: null }).guard).toMatchObject({ jumps: 0, drops: 0 });
        expect(o({ guard_jumps: "x", guard_drops: "y" }).guard).toMatchObject({ jumps: 0, drops: 0 });
        expect(o({ guard_wanted: null, guard_addrs: null }).guard).toMatchObject({ wanted: [], addresses: [] });
    });

    it("a tool's output is read when it exited 0, or was cut by us (141) after more than we keep", () => {
        const show = (text: string, rc: string) => parseObservation("n1", framed(healthyFacts, text, rc), b, at).tunnelsShow;
        const exactly = "x".repeat(MAX_SECTION_BYTES);
        expect(show(exactly, "0")).toEqual({ ok: true, text: exactly, truncated: false });
        // At the limit nothing was cut: a 141 there is the tool dying, not us closing the pipe.
        expect(show(exactly, "141")).toEqual({ ok: false, text: exactly, truncated: false });
        expect(show(exactly + "y", "1")).toEqual({ ok: false, text: exactly, truncated: true });
        expect(show("No tunnels configured with IPsec\n", "1").ok).toBe(false);
        // Cut by bytes, not characters: a multi-byte character across the limit is not kept whole.
        const wide = "ü".repeat(MAX_SECTION_BYTES / 2 + 1);
        const cut = show(wide, "141");
        expect(cut.truncated).toBe(true);
        expect(Buffer.byteLength(cut.text)).toBe(MAX_SECTION_BYTES);
        // A script that printed no section at all: nothing read.
        const bare = parseObservation("n1", [`${b} facts`, ...healthyFacts].join("\n"), b, at);
        expect(bare.tunnelsShow).toEqual({ ok: false, text: "", truncated: false });
        expect(bare.ipsecStatus).toEqual({ ok: false, text: "", truncated: false });
    });

    it("a node that could not be read knows nothing: no fact is claimed, the reason is kept", () => {
        const o = unreadableNode("n1", "kubectl exec: no answer within 30 s", at);
        expect(o).toMatchObject({ node: "n1", observedAt: at.toISOString(), reachable: false, error: "kubectl exec: no answer within 30 s" });
        // The same shape as a node that answered (with no manifest of ours, as the unreadable one
        // claims none), so every consumer reads both the same way.
        const answered = parseObservation("n1", framed(healthyFacts.map((f) => (f === "manifest=1" ? "manifest=0" : f))), b, at);
        const shape = (x: unknown): unknown => (Array.isArray(x) ? "array" : x !== null && typeof x === "object" ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, shape((x as Record<string, unknown>)[k])])) : "leaf");
        expect(shape(o)).toEqual(shape(answered));
        // Every other leaf says "not known": false, 0, null, empty, or "unknown".
        const claims: string[] = [];
        const walk = (x: unknown, at: string): void => {
            if (Array.isArray(x)) {
                if (x.length > 0) claims.push(`${at} = ${JSON.stringify(x)}`);
            } else if (x !== null && typeof x === "object") {
                for (const [k, v] of Object.entries(x)) walk(v, `${at}.${k}`);
            } else if (!(x === false || x === 0 || x === null || x === "" || x === "unknown")) claims.push(`${at} = ${JSON.stringify(x)}`);
        };
        const { node: _node, observedAt: _observedAt, error: _error, ...rest }: NodeObservation = o;
        walk(rest, "$");
        expect(claims).toEqual([]);
        expect(nodeDrift(want, o).reasons).toEqual(["the node cannot be read: kubectl exec: no answer within 30 s"]);
    });

    it("a node that cannot be read is drift, with the reason", () => {
        expect(nodeDrift(want, { ...parseObservation("n1", framed(healthyFacts), b, at), reachable: false, error: "no answer" }).reasons).toEqual(["the node cannot be read: no answer"]);
    });
});
