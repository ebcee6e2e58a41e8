/**
 * Destroy leaves the node as it was, timeouts stop work on the node, the version guard holds
 * (issue 15): one test per defect, each starting from the state that triggers it, on the lab's
 * real OVS/OVN/strongSwan. Every expectation reads the nodes independently of the product.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import type { IpsecStatus, NodeStatusReport } from "../../components";
import { purposeOf } from "../../components/transport/scriptKit";
import { Harness, HarnessError, UpResult } from "../../tools/engine/engine";
import { ExecProxy } from "../support/execProxy";
import { KubectlUnderTest, startKubectlUnderTest } from "../support/kubeApi";
import { keyFingerprints, leaksIn } from "../support/keyMaterial";
import { LabNode, LabStatus, freshLab, labAccess, labOk, podOk, podSh } from "../support/lab";
import { configFor, nbIpsec, ourFiles, servicePids } from "../support/node";

jest.setTimeout(240_000);

let lab: LabStatus;
const proxy = new ExecProxy();
const cfg = (over: Record<string, unknown> = {}) => configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) }, ...over });
const node0 = () => lab.nodes[0];

/** other_config's three keys as `ovs-vsctl get` prints them (OVSDB quoting kept), "" when absent. */
function rawOtherConfig(n: LabNode): Record<string, string> {
    const out = podOk(lab, n.target, `for k in certificate private_key ca_cert; do printf '%s=%s\\n' "$k" "$(ovs-vsctl --if-exists get Open_vSwitch . other_config:$k)"; done`);
    return Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}
const externalIds = (n: LabNode) => podOk(lab, n.target, "ovs-vsctl get Open_vSwitch . external_ids").trim();

/** An operator's own IPsec configuration, set by hand with ovs-vsctl (files created too). */
function operatorConfig(n: LabNode, keys: Partial<Record<"certificate" | "private_key" | "ca_cert", string>>): void {
    const files = Object.values(keys).map((f) => `mkdir -p "$(dirname '${f.replace(/'/g, "'\\''")}')" && echo operator > '${f.replace(/'/g, "'\\''")}'`);
    const sets = Object.entries(keys).map(([k, v]) => `other_config:${k}=${JSON.stringify(v).replace(/'/g, "'\\''")}`);
    podOk(lab, n.target, `${files.join(" && ")} && ovs-vsctl set Open_vSwitch . ${sets.map((s) => `'${s}'`).join(" ")}`);
}

async function up(h: Harness, over: Record<string, unknown> = {}): Promise<UpResult> {
    try {
        return await h.up({ config: cfg(over), skipPreview: true, refresh: false });
    } catch (e) {
        if (e instanceof HarnessError) throw new Error(e.message);
        throw e;
    }
}

/** Each test gets a stack of its own, and nodes without any IPsec configuration. */
async function withStack(name: string, body: (h: Harness) => Promise<void>): Promise<void> {
    const h = new Harness({ stack: name });
    try {
        await body(h);
    } finally {
        if (h.state.resources.length > 0) await h.destroy({ config: cfg() }).catch(() => undefined);
        await h.close();
        for (const n of lab.nodes) podSh(lab, n.target, "service openvswitch-ipsec stop; service ipsec stop; ovs-vsctl remove Open_vSwitch . other_config certificate private_key ca_cert; rm -rf /etc/ipsec.d/operator; true");
        podSh(lab, lab.central.target, "ovn-nbctl set nb_global . ipsec=false");
        proxy.clear();
    }
}

beforeAll(() => {
    lab = freshLab(3);
});
afterAll(() => labOk("down"));

describe("destroy restores exactly what was there", () => {
    it("1. an operator's setup without ca_cert: destroy restores certificate and private_key and leaves ca_cert absent", async () => {
        const n = node0();
        operatorConfig(n, { certificate: "/etc/ipsec.d/operator/cert.pem", private_key: "/etc/ipsec.d/operator/key.pem" });
        const before = rawOtherConfig(n);
        expect(before.ca_cert).toBe("");
        await withStack("d1", async (h) => {
            await up(h);
            expect(rawOtherConfig(n).certificate).toMatch(/kube-ovn-ipsec-/);
            await h.destroy({ config: cfg() });
            expect(rawOtherConfig(n)).toEqual(before);
            // The operator's files are untouched, and our record is gone from OVSDB.
            expect(podOk(lab, n.target, "cat /etc/ipsec.d/operator/cert.pem /etc/ipsec.d/operator/key.pem")).toBe("operator\noperator\n");
            expect(externalIds(n)).not.toContain("kube-ovn-ipsec");
        });
    });

    it("10. paths with quotes, backslashes and spaces come back byte for byte", async () => {
        const n = node0();
        operatorConfig(n, { certificate: '/etc/ipsec.d/operator/a "quoted" cert.pem', private_key: "/etc/ipsec.d/operator/back\\slash key.pem", ca_cert: "/etc/ipsec.d/operator/ça.pem" });
        const before = rawOtherConfig(n);
        expect(before.certificate).toBe('"/etc/ipsec.d/operator/a \\"quoted\\" cert.pem"');
        await withStack("d10", async (h) => {
            await up(h);
            await h.destroy({ config: cfg() });
            expect(rawOtherConfig(n)).toEqual(before);
        });
    });

    it("2. a first apply whose connection dropped after it changed OVSDB: the retry keeps the record, destroy restores the operator's keys", async () => {
        const n = node0();
        operatorConfig(n, { certificate: "/etc/ipsec.d/operator/cert.pem", private_key: "/etc/ipsec.d/operator/key.pem", ca_cert: "/etc/ipsec.d/operator/ca.pem" });
        const before = rawOtherConfig(n);
        await withStack("d2", async (h) => {
            proxy.fault(n.target, "dropoutput-once");
            // The dropped apply is a transport failure: retried, and the retry finds our own paths.
            const result = await up(h, { retries: 1 });
            expect((result.outputs.status as IpsecStatus).summary.ready).toBe(true);
            const applies = proxy.records().filter((r) => r.target === n.target && purposeOf(r.argv)?.name === "apply");
            expect(applies.map((r) => r.rc)).toEqual([255, 0]);
            await h.destroy({ config: cfg() });
            expect(rawOtherConfig(n)).toEqual(before);
        });
    });

    it("3. nb_global ipsec=true before us (ipsec.sh was used): destroy leaves it true, and the state says so beforehand", async () => {
        podOk(lab, lab.central.target, "ovn-nbctl set nb_global . ipsec=true");
        await withStack("d3", async (h) => {
            await up(h);
            expect(h.outputsOf("kube-ovn-ipsec-switch")).toMatchObject({ before: true, restoreOnDestroy: true });
            // A later preview shows what destroy will set.
            const preview = await h.preview({ config: cfg() });
            // (refresh: always: its "read" step comes first.)
            expect(preview.steps.find((s) => s.name === "kube-ovn-ipsec-switch" && s.op !== "read")?.op).toBe("same");
            // What destroy will set is in the switch's outputs (`pulumi stack export`, and the
            // preview's refresh re-reads it from nb_global's own record).
            expect(h.outputsOf("kube-ovn-ipsec-switch")).toMatchObject({ before: true, restoreOnDestroy: true });
            await h.destroy({ config: cfg() });
            expect(nbIpsec(lab)).toBe("true");
            expect(podOk(lab, lab.central.target, "ovn-nbctl get nb_global . external_ids").trim()).not.toContain("kube-ovn-ipsec");
        });
    });

    it("7. a node whose other_config someone else took over: destroy leaves their config and their services running", async () => {
        const n = node0();
        await withStack("d7", async (h) => {
            await up(h);
            const pids = servicePids(lab, n.name);
            expect(pids.monitor).not.toBeNull();
            operatorConfig(n, { certificate: "/etc/ipsec.d/operator/cert.pem", private_key: "/etc/ipsec.d/operator/key.pem", ca_cert: "/etc/ipsec.d/operator/ca.pem" });
            const theirs = rawOtherConfig(n);
            await h.destroy({ config: cfg() });
            expect(rawOtherConfig(n)).toEqual(theirs);
            expect(servicePids(lab, n.name)).toEqual(pids);
            // Our files are gone (nothing points at them any more); theirs stay.
            expect(ourFiles(lab, n.name)).toEqual([]);
            expect(podOk(lab, n.target, "cat /etc/ipsec.d/operator/cert.pem")).toBe("operator\n");
            expect(externalIds(n)).not.toContain("kube-ovn-ipsec");
        });
    });

    it("11. services that were already running before us are left running by destroy", async () => {
        const n = node0();
        podOk(lab, n.target, "service openvswitch-ipsec start >/dev/null 2>&1; for i in $(seq 100); do ipsec status >/dev/null 2>&1 && break; sleep 0.1; done");
        const pids = servicePids(lab, n.name);
        expect(pids.monitor).not.toBeNull();
        expect(pids.charon).not.toBeNull();
        await withStack("d11", async (h) => {
            await up(h);
            expect(servicePids(lab, n.name)).toEqual(pids);
            await h.destroy({ config: cfg() });
            expect(servicePids(lab, n.name)).toEqual(pids);
        });
    });
});

const SAMPLE_APPLIES = `while :; do
    m=" $(pgrep -f 'kube-ovn-ipsec [s]cript: apply' | tr '\\n' ' ') "; c=0
    for p in $m; do pp=$(awk '{ print $4 }' /proc/$p/stat 2>/dev/null) || continue; case $m in *" $pp "*) ;; *) c=$((c + 1)) ;; esac; done
    echo $c; sleep 0.05
done`;

describe("timeouts stop work on the node", () => {
    it("4. a stopped monitor and a short exec timeout: the script gives up on its own before the exec is killed, and two applies never overlap on the node", async () => {
        const n = node0();
        await withStack("d4", async (h) => {
            await up(h);
            podOk(lab, n.target, "kill -STOP $(cat /var/run/openvswitch/ovs-monitor-ipsec.pid)");
            try {
                // Count our apply scripts running in the pod, every 50 ms, for the whole run:
                // processes whose command line is an apply script and whose parent's is not (a
                // script's subshells carry its command line too). "[s]cript": the sampler itself
                // does not match its own pattern.
                const argv = lab.prefix.map((a) => a.split("{target}").join(n.target));
                const sampler = spawn(argv[0], [...argv.slice(1), "sh", "-c", SAMPLE_APPLIES], { stdio: ["ignore", "pipe", "ignore"] });
                let samples = "";
                sampler.stdout.on("data", (d: Buffer) => (samples += d.toString()));
                const started = Date.now();
                proxy.clear();
                // A rotation of this node's key makes its apply run (and find the monitor hung).
                const result = await h.up({ config: cfg({ execTimeoutSeconds: 8, retries: 1 }), skipPreview: true, refresh: false, replace: [`kube-ovn-ipsec-${n.name}-key`] }).catch((e: unknown) => e as HarnessError);
                const took = Date.now() - started;
                sampler.kill("SIGKILL");
                expect(result).toBeInstanceOf(HarnessError);
                const message = (result as HarnessError).failures.find((f) => f.name === `kube-ovn-ipsec-${n.name}`)?.message ?? "";
                expect(message).toMatch(/step "start-ovs-monitor-ipsec" failed \(exit 75, 2 attempts\): ovs-monitor-ipsec is running \(pid \d+\) but did not answer ovs-appctl for \d+ s/);
                // Bounded: two attempts of at most the exec timeout each, plus backoff and the rest.
                expect(took).toBeLessThan(2 * 8000 + 20_000);
                // Nothing of ours is left running in the pod once the run has returned...
                expect(podSh(lab, n.target, "pgrep -fa 'kube-ovn-ipsec [s]cript'").stdout).toBe("");
                // ...and there never were two applies at once (the node lock, and each script's own deadline).
                const counts = samples.split("\n").filter(Boolean).map(Number);
                expect(counts.length).toBeGreaterThan(10);
                expect(Math.max(...counts)).toBeLessThanOrEqual(1);
                // The attempts did not overlap from the caller's side either.
                const applies = proxy.records().filter((r) => r.target === n.target && purposeOf(r.argv)?.name === "apply");
                expect(applies).toHaveLength(2);
                expect(applies[1].start).toBeGreaterThanOrEqual(applies[0].end ?? Number.MAX_SAFE_INTEGER);
            } finally {
                podOk(lab, n.target, "kill -CONT $(cat /var/run/openvswitch/ovs-monitor-ipsec.pid)");
            }
            const healed = await up(h);
            expect((healed.outputs.status as IpsecStatus).summary.ready).toBe(true);
        });
    });
});

describe("the version guard holds", () => {
    let k: KubectlUnderTest;
    beforeAll(async () => {
        k = await startKubectlUnderTest();
    });
    afterAll(async () => k?.close());

    it.each([
        ["digest-pinned v1.13", "docker.io/kubeovn/kube-ovn:v1.13.0@sha256:" + "ab".repeat(32), /Kube-OVN v1\.13\.0 has built-in IPsec/],
        ["pinned by digest only", "docker.io/kubeovn/kube-ovn@sha256:" + "ab".repeat(32), /cannot tell which Kube-OVN version this cluster runs: its image "docker\.io\/kubeovn\/kube-ovn@sha256:abab.*" carries no version tag/],
    ])("5. a %s controller image, through the real kubectl: refused before anything runs on a node", async (_name, image, expected) => {
        k.api.scenario.controller = { image, args: [] };
        const h = new Harness({ stack: "d5" });
        try {
            const since = k.api.requests.length;
            const error = await h.up({ config: configFor(lab, { access: { kubectl: { binary: k.access.kubectl, kubeconfig: k.kubeconfig, context: k.api.contextName } } }), skipPreview: true, refresh: false }).catch((e: unknown) => e as HarnessError);
            expect(error).toBeInstanceOf(HarnessError);
            expect((error as HarnessError).failures.map((f) => f.name)).toEqual(["kube-ovn-ipsec-preflight"]);
            expect((error as HarnessError).failures[0].message).toMatch(expected);
            expect(k.api.requests.slice(since).filter((r) => r.exec)).toEqual([]);
        } finally {
            await h.close();
            k.api.scenario.controller = null;
        }
    });
});

describe("secrets stay out of argv", () => {
    it("6. during a key rotation, neither the key nor its sha256 is in any process's argv on the node or in any command the product ran", async () => {
        const n = node0();
        await withStack("d6", async (h) => {
            await up(h);
            const argv = lab.prefix.map((a) => a.split("{target}").join(n.target));
            const sampler = spawn(argv[0], [...argv.slice(1), "sh", "-c", "while :; do ps -eo args; echo ===; sleep 0.02; done"], { stdio: ["ignore", "pipe", "ignore"] });
            let ps = "";
            sampler.stdout.on("data", (d: Buffer) => (ps += d.toString()));
            proxy.clear();
            await h.up({ config: cfg(), skipPreview: true, refresh: false, replace: [`kube-ovn-ipsec-${n.name}-key`] });
            sampler.kill("SIGKILL");
            const key = podOk(lab, n.target, `cat "$(ovs-vsctl get Open_vSwitch . other_config:private_key | tr -d '"')"`);
            const digest = createHash("sha256").update(key).digest("hex");
            // The capture did see the apply running (so an argv leak would have been caught).
            expect(ps).toContain("kube-ovn-ipsec script: apply");
            const places: Array<[string, string]> = [
                ["ps on the node", ps],
                ["argv of every command run", proxy.rawLog()],
            ];
            for (const [where, text] of places) {
                expect({ where, leaks: leaksIn(text, keyFingerprints([key])) }).toEqual({ where, leaks: [] });
                expect({ where, digest: text.includes(digest) }).toEqual({ where, digest: false });
            }
        });
    });
});

describe("one limit for every node command", () => {
    it("8. refresh with parallelism 1 never runs two node commands at once", async () => {
        await withStack("d8", async (h) => {
            await up(h, { parallelism: 1 });
            proxy.clear();
            await h.refresh({ config: cfg({ parallelism: 1 }) });
            const onNodes = (r: { target: string }) => r.target !== lab.central.target;
            expect(proxy.records().filter(onNodes).length).toBe(lab.nodes.length);
            expect(proxy.maxConcurrent(onNodes)).toBe(1);
        });
    });
});

describe("output size is bounded", () => {
    it("9. a node printing a 200 MB tunnels/show: the status is small, says it was cut, and keeps the tunnels to known peers", async () => {
        const n = node0();
        // In this pod only: ovs-appctl replaced by a wrapper that appends 200 MB of tunnels to
        // nodes outside the stack after the real tunnels/show.
        const wrapper = [
            "#!/bin/sh",
            'case "$*" in',
            '    *tunnels/show*) /tmp/ovs-appctl.real "$@" || exit $?',
            "        yes \"$(printf 'Interface name: ovn-ffffff-0 v1 (CONFIGURED)\\n  Remote name:    ffffffff-0000-4000-8000-000000000000\\n')\" | head -c 200000000 ;;",
            '    *) exec /tmp/ovs-appctl.real "$@" ;;',
            "esac",
            "",
        ].join("\n");
        podOk(lab, n.target, "cp /usr/bin/ovs-appctl /tmp/ovs-appctl.real && cat > /tmp/ovs-appctl.big && chmod 755 /tmp/ovs-appctl.big && mount --bind /tmp/ovs-appctl.big /usr/bin/ovs-appctl", wrapper);
        try {
            await withStack("d9", async (h) => {
                const result = await up(h, { waitFor: "none" });
                const status = result.outputs.status as IpsecStatus;
                const report = status.nodes.find((r) => r.node === n.name) as NodeStatusReport;
                expect(report.truncated).toBe(true);
                expect(report.tunnels.map((t) => t.peerNode).sort()).toEqual(lab.nodes.filter((p) => p.name !== n.name).map((p) => p.name).sort());
                expect(report.otherTunnels).toBeGreaterThan(1000);
                expect(JSON.stringify(status).length).toBeLessThan(200_000);
            });
        } finally {
            podOk(lab, n.target, "umount /usr/bin/ovs-appctl; rm -f /tmp/ovs-appctl.big /tmp/ovs-appctl.real");
        }
    });
});
