/**
 * CA rotation without an outage (issue 10, FACTS.md 8), on 3 lab nodes through the real stack
 * program: `ca.generation` bumped, with the run stopped by a fault at each stage, and IKE
 * between every pair checked at each point: every node trusts both CAs before any changes its
 * certificate; a node re-issued under the new CA and one still on the old authenticate each
 * other; once every node is re-issued the old CA is gone, and a certificate it signed is refused.
 */
import { execFileSync } from "child_process";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Harness, HarnessError } from "../../tools/engine/engine";
import { caFilePath, fingerprint } from "../../components/node/nodeFiles";
import { ExecProxy } from "../support/execProxy";
import { LabNode, LabStatus, NO_PREVIEW, freshLab, labAccess, labOk, labStatus, podOk, podSh } from "../support/lab";
import { charonLogCount, configFor, ikeDownAll, ikePeers, ikeUp, otherConfig, servicePids, waitFor } from "../support/node";
import { requireTool } from "../support/requireTool";

jest.setTimeout(240_000);

let lab: LabStatus;
let h: Harness;
const proxy = new ExecProxy();

const peersOf = (n: LabNode) => lab.nodes.filter((p) => p.name !== n.name);
/** Our CA files on a node (file names). */
const caFiles = (n: LabNode) => podOk(lab, n.target, "ls -1 /etc/ipsec.d/cacerts/ | grep '^kube-ovn-ipsec-ca-' || true").split("\n").filter(Boolean).sort();
const fileOf = (pem: string) => caFilePath(pem).split("/").pop() as string;
/** The issuer of the certificate other_config points at, on the node itself. */
const issuerOn = (n: LabNode) => new X509Certificate(podOk(lab, n.target, `cat ${otherConfig(lab, n.name).certificate}`)).issuer;
/** What the CA Secret publishes (`ca.crt`). */
const caSecretPem = () => h.kubernetesSecrets().find((s) => s.name === "kube-ovn-ipsec-ca")?.data["ca.crt"];
const caPem = (generation: number) => h.outputsOf(generation === 1 ? "kube-ovn-ipsec-ca" : `kube-ovn-ipsec-ca-g${generation}`).certPem as string;
const config = (generation: number, nodes: LabNode[] = lab.nodes) => configFor(lab, { nodes, access: { command: proxy.wrap(labAccess(lab)) }, ca: { generation, commonName: `kube-ovn-ipsec CA ${generation}` } });

/** An up with these nodes' applies unreachable (an exec-proxy fault): the resources that failed, sorted (none when it succeeded). */
async function upWithAppliesUnreachable(unreachable: LabNode[], generation: number): Promise<string[]> {
    for (const n of unreachable) proxy.fault(n.target, "unreachable-apply");
    try {
        await h.up({ config: config(generation) });
        return [];
    } catch (e) {
        if (!(e instanceof HarnessError)) throw e;
        return e.failures.map((f) => f.name).sort();
    } finally {
        proxy.clear();
    }
}
const nodeResources = (nodes: LabNode[]) => nodes.map((n) => `kube-ovn-ipsec-${n.name}`).sort();

/** Every pair negotiates IKE afresh now (old SAs deleted); each node must hold a new ESTABLISHED IKE SA with every peer. */
async function everyPairAuthenticates(what: string): Promise<void> {
    for (const n of lab.nodes) ikeDownAll(lab, n);
    const since = Date.now();
    for (const n of lab.nodes) ikeUp(lab, n);
    for (const n of lab.nodes) {
        const want = peersOf(n).map((p) => p.systemId).sort().join(",");
        await waitFor(`${what}: fresh IKE SAs of ${n.name} with every peer`, () => ikePeers(lab, n, since).sort().join(",") === want, 40_000);
    }
}

beforeAll(async () => {
    lab = freshLab(3);
    h = new Harness({ stack: "lab", upDefaults: NO_PREVIEW });
    await h.up({ config: config(1) });
    await everyPairAuthenticates("generation 1");
});

afterAll(async () => {
    await h?.close();
    labOk("down");
});

describe("ca.generation 1 -> 2", () => {
    let oldCa: string;
    let oldCaKey: string;
    const pidsBefore: Record<string, unknown> = {};

    it("phase 1, every node unreachable for its apply: all trust both CAs, none changed its certificate, every pair authenticates", async () => {
        oldCa = caPem(1);
        oldCaKey = h.outputsOf("kube-ovn-ipsec-ca-key").privateKeyPem as string;
        for (const n of lab.nodes) pidsBefore[n.name] = servicePids(lab, n.name);
        const before = lab.nodes.map((n) => otherConfig(lab, n.name));
        expect(await upWithAppliesUnreachable(lab.nodes, 2)).toEqual(nodeResources(lab.nodes));
        const newCa = caPem(2);
        expect(newCa).not.toBe(oldCa);
        for (const n of lab.nodes) expect([n.name, caFiles(n)]).toEqual([n.name, [fileOf(oldCa), fileOf(newCa)].sort()]);
        expect(lab.nodes.map((n) => otherConfig(lab, n.name))).toEqual(before);
        for (const n of lab.nodes) expect(issuerOn(n)).toContain("CN=kube-ovn-ipsec CA 1");
        // The CA Secret holds both: the new one first (it signs from now on), then the old.
        expect(caSecretPem()).toBe(newCa + oldCa);
        await everyPairAuthenticates("phase 1");
    });

    it("phase 2, one node unreachable: the others re-issued under the new CA, old and new certificates authenticate each other", async () => {
        const [a, b, c] = lab.nodes;
        expect(await upWithAppliesUnreachable([c], 2)).toEqual(nodeResources([c]));
        expect([issuerOn(a), issuerOn(b), issuerOn(c)].map((i) => i.split("\n").find((l) => l.startsWith("CN=")))).toEqual(["CN=kube-ovn-ipsec CA 2", "CN=kube-ovn-ipsec CA 2", "CN=kube-ovn-ipsec CA 1"]);
        // The old CA stays trusted everywhere: c still presents a certificate it signed.
        for (const n of lab.nodes) expect(caFiles(n)).toEqual([fileOf(oldCa), fileOf(caPem(2))].sort());
        expect(caSecretPem()).toBe(caPem(2) + oldCa);
        await everyPairAuthenticates("phase 2 (a, b new; c old)");
        // The status read by a refresh shows it per node: who signed each certificate, what each trusts.
        await h.refresh();
        const reports = (h.outputsOf("kube-ovn-ipsec-status") as { reports: Array<{ node: string; ca: { signedBy: string; trusted: string[] } }> }).reports;
        const both = [fingerprint(oldCa), fingerprint(caPem(2))].sort();
        expect(lab.nodes.map((n) => reports.find((r) => r.node === n.name)?.ca)).toEqual([
            { signedBy: fingerprint(caPem(2)), trusted: both },
            { signedBy: fingerprint(caPem(2)), trusted: both },
            { signedBy: fingerprint(oldCa), trusted: both },
        ]);
    });

    it("phase 3, the re-run: c re-issued, the old CA gone from every node, every pair authenticates, no daemon restarted", async () => {
        const result = await h.up({ config: config(2) });
        expect(result.outputs.summary).toMatchObject({ ready: true, ca: { current: fingerprint(caPem(2)), rotation: "none" } });
        for (const r of (result.outputs.status as { nodes: Array<{ ca: unknown }> }).nodes) expect(r.ca).toEqual({ signedBy: fingerprint(caPem(2)), trusted: [fingerprint(caPem(2))] });
        for (const n of lab.nodes) {
            expect([n.name, caFiles(n)]).toEqual([n.name, [fileOf(caPem(2))]]);
            expect(issuerOn(n)).toContain("CN=kube-ovn-ipsec CA 2");
            expect(servicePids(lab, n.name)).toEqual(pidsBefore[n.name]);
        }
        // The CA Secret follows one up later: the up that finishes the rotation published the
        // bundle before its nodes ran; the next one reads that no node trusts the old CA any more.
        expect(caSecretPem()).toBe(caPem(2) + oldCa);
        const next = await h.up({ config: config(2) });
        expect(caSecretPem()).toBe(caPem(2));
        // ...and that next up changed nothing on any node.
        expect(next.steps.filter((x) => x.type.endsWith(":NodeIpsec") && x.op !== "same")).toEqual([]);
        const third = await h.up({ config: config(2) });
        expect(third.steps.filter((x) => x.name === "kube-ovn-ipsec-ca-trust").map((x) => x.op)).toEqual(["same"]);
        // The old CA's resources are gone from the state.
        expect(h.state.resources.filter((r) => r.urn.endsWith("::kube-ovn-ipsec-ca") || r.urn.endsWith("::kube-ovn-ipsec-ca-key"))).toEqual([]);
        await everyPairAuthenticates("phase 3");
    });

    it("a certificate signed by the old CA is refused now, and the next up repairs that node", async () => {
        const openssl = requireTool("openssl", "apt-get install -y openssl");
        const [a, b] = lab.nodes;
        // A new key for a's identity (O=kube-ovn, CN=<system-id>, SAN DNS), certified by the old
        // CA. (a's own re-issued certificate kept its key: strongSwan would then accept the key
        // through the new certificate it has seen, so the key must be one no trusted CA vouches for.)
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-oldca-"));
        fs.writeFileSync(path.join(dir, "ca.pem"), oldCa);
        fs.writeFileSync(path.join(dir, "ca.key"), oldCaKey, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "ext"), `subjectAltName=DNS:${a.systemId}\nkeyUsage=digitalSignature,keyEncipherment\n`);
        execFileSync(openssl, ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"), "-subj", `/O=kube-ovn/CN=${a.systemId}`, "-out", path.join(dir, "csr.pem")], { stdio: "ignore" });
        execFileSync(openssl, ["x509", "-req", "-in", path.join(dir, "csr.pem"), "-CA", path.join(dir, "ca.pem"), "-CAkey", path.join(dir, "ca.key"), "-CAcreateserial", "-days", "30", "-extfile", path.join(dir, "ext"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
        const cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8").trim();
        const key = fs.readFileSync(path.join(dir, "key.pem"), "utf8").trim();
        fs.rmSync(dir, { recursive: true, force: true });
        expect(new X509Certificate(cert).issuer).toContain("CN=kube-ovn-ipsec CA 1");

        // Node a presents it (as a node restored from an old backup would).
        podOk(lab, a.target, `mkdir -p /etc/ipsec.d/old && cat > /etc/ipsec.d/old/cert.pem <<'PEM'\n${cert}\nPEM\ncat > /etc/ipsec.d/old/key.pem <<'PEM'\n${key}\nPEM\nchmod 600 /etc/ipsec.d/old/key.pem && ovs-vsctl set Open_vSwitch . other_config:certificate=/etc/ipsec.d/old/cert.pem other_config:private_key=/etc/ipsec.d/old/key.pem`);
        try {
            await waitFor(`${a.name}'s monitor on the old CA's certificate`, () => podSh(lab, a.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show").stdout.includes("/etc/ipsec.d/old/cert.pem"), 15_000);
            // Every IKE SA deleted first: any ESTABLISHED one after this would be new.
            for (const n of lab.nodes) ikeDownAll(lab, n);
            // b finds no trusted issuer for it and refuses; a is told AUTHENTICATION_FAILED.
            const count = (n: LabNode, line: string) => charonLogCount(lab, n, line, true);
            const untrusted = `no issuer certificate found for "O=kube-ovn, CN=${a.systemId}"`;
            const before = { b: count(b, untrusted), a: count(a, "received AUTHENTICATION_FAILED notify error") };
            ikeUp(lab, a);
            await waitFor(`${b.name} refusing ${a.name}'s certificate from the old CA`, () => count(b, untrusted) > before.b && count(a, "received AUTHENTICATION_FAILED notify error") > before.a, 30_000);
            expect(ikePeers(lab, a)).not.toContain(b.systemId);
            // charon itself no longer holds the old CA (rereadcacerts dropped it with its file).
            expect(podOk(lab, b.target, "ipsec listcacerts")).not.toContain("CN=kube-ovn-ipsec CA 1");
            // The next up sees the drift and puts a's current certificate back.
            const repaired = await h.up({ config: config(2) });
            expect((repaired.outputs.summary as { ready: boolean }).ready).toBe(true);
            expect(issuerOn(a)).toContain("CN=kube-ovn-ipsec CA 2");
        } finally {
            podSh(lab, a.target, `[ "$(ovs-vsctl get Open_vSwitch . other_config:certificate)" != '"/etc/ipsec.d/old/cert.pem"' ] || ovs-vsctl remove Open_vSwitch . other_config certificate private_key; rm -rf /etc/ipsec.d/old`);
        }
        await everyPairAuthenticates("after the repair");
    });

    it("a node that joins during a rotation trusts both CAs and authenticates with every node; destroy in the middle leaves every node clean", async () => {
        expect(lab.nodes.map((n) => podSh(lab, n.target, "ls /etc/ipsec.d/old 2>/dev/null").stdout.trim())).toEqual(["", "", ""]);
        // Phase 1 of a third generation, stopped by a fault: two CA files on every node.
        expect(await upWithAppliesUnreachable(lab.nodes, 3)).toEqual(nodeResources(lab.nodes));
        for (const n of lab.nodes) expect(caFiles(n)).toEqual([fileOf(caPem(2)), fileOf(caPem(3))].sort());
        // A node joins while c still cannot be configured: c keeps its generation-2 certificate.
        const old = lab.nodes.map((n) => n.name);
        labOk("add-node");
        lab = labStatus();
        const joined = lab.nodes.find((n) => !old.includes(n.name)) as LabNode;
        const c = lab.nodes.find((n) => n.name === old[2]) as LabNode;
        expect(await upWithAppliesUnreachable([c], 3)).toEqual(nodeResources([c]));
        expect(caFiles(joined)).toEqual([fileOf(caPem(2)), fileOf(caPem(3))].sort());
        expect(issuerOn(joined)).toContain("CN=kube-ovn-ipsec CA 3");
        expect(issuerOn(c)).toContain("CN=kube-ovn-ipsec CA 2");
        await everyPairAuthenticates("a joiner during the rotation (c still on generation 2)");

        await h.destroy({ config: config(3) });
        for (const n of lab.nodes) {
            expect([n.name, caFiles(n)]).toEqual([n.name, []]);
            expect(otherConfig(lab, n.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
        }
    });

    it("a node that joins in the very up that changes the CA trusts both, authenticates with a node still on the old CA, and ends with the new one alone", async () => {
        // Three nodes on generation 4; the fourth (clean since the destroy) joins with generation 5.
        const [a, , c, joiner] = lab.nodes;
        const first = lab.nodes.slice(0, 3);
        await h.up({ config: config(4, first) });
        for (const n of first) expect(caFiles(n)).toEqual([fileOf(caPem(4))]);
        expect(caFiles(joiner)).toEqual([]);
        // c cannot be configured in that up: it keeps its generation-4 certificate.
        expect(await upWithAppliesUnreachable([c], 5)).toEqual(nodeResources([c]));
        expect(caFiles(joiner)).toEqual([fileOf(caPem(4)), fileOf(caPem(5))].sort());
        expect(issuerOn(joiner)).toContain("CN=kube-ovn-ipsec CA 5");
        expect(issuerOn(c)).toContain("CN=kube-ovn-ipsec CA 4");
        expect(issuerOn(a)).toContain("CN=kube-ovn-ipsec CA 5");
        await everyPairAuthenticates("a joiner in the CA change's own up (c still on generation 4)");
        // The re-run finishes the rotation: the old CA is gone, the joiner's too.
        await h.up({ config: config(5) });
        for (const n of lab.nodes) expect([n.name, caFiles(n)]).toEqual([n.name, [fileOf(caPem(5))]]);
        await everyPairAuthenticates("generation 5, rotation finished");
    });
});
