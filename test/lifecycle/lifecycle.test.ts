/**
 * The product's whole lifecycle against real Open vSwitch, OVN, ovs-monitor-ipsec and
 * strongSwan (the lab, 3 nodes), driven through Pulumi's real dynamic-provider host by the
 * harness, running the real stack program with stack config. Tests run in order and share
 * the lab and the harness state, like successive `pulumi up` runs on one stack.
 */
import { X509Certificate } from "crypto";
import { STRONGSWAN_SETTINGS, STRONGSWAN_SETTINGS_TEXT, XFRM_ACQ_EXPIRES_SECONDS } from "../../components/node/strongswanSettings";
import { Harness, HarnessError, UpResult } from "../../tools/engine/engine";
import { LabNode, LabStatus, freshLab, labOk, labStatus, podOk, podSh, NO_PREVIEW } from "../support/lab";
import { MONITOR_RESTARTS_IKE, charonLogCount, configFor, ikeDownAll, monitorLogCount, monitorWithoutQuickStart, ikePeers, ikeUp, ikeUpInBackground, nbIpsec, nbKey, otherConfig, ourFiles, servicePids, strongswanConns, triggerIke, tunnelHeaders, waitFor } from "../support/node";

jest.setTimeout(180_000);

const NO_TUNNELS = "No tunnels configured with IPsec";

let lab: LabStatus;
let h: Harness;
let last: UpResult;
let upStarted = 0;

const nodeNames = () => lab.nodes.map((n) => n.name);
const peersOf = (n: LabNode) => lab.nodes.filter((p) => p.name !== n.name);
const secretOf = (node: string) => {
    const s = h.kubernetesSecrets().find((x) => x.annotations["kube-ovn-ipsec.io/node"] === node);
    if (!s) throw new Error(`no Secret for ${node}`);
    return s;
};
const caSecret = () => {
    const s = h.kubernetesSecrets().find((x) => x.name === "kube-ovn-ipsec-ca");
    if (!s) throw new Error("no CA Secret");
    return s;
};
const ops = (result: { journal: Array<{ op: string; name: string; type: string }> }, name: string) =>
    result.journal.filter((j) => j.name === name && j.type.startsWith("pulumi-nodejs:dynamic")).map((j) => j.op);

/** An operator's own value of the NAT option, set before kube-ovn-ipsec: destroy must restore it. */
const OPERATOR_FORCEENCAPS = '"false"';
/** What charon logs when the peer's NAT detection payloads say NAT: forced by forceencaps here (no NAT in the lab). */
const FORCED_NAT = "remote host is behind NAT";

beforeAll(() => {
    lab = freshLab(3);
    podOk(lab, lab.central.target, `ovn-nbctl set nb_global . options:ipsec_forceencaps=${OPERATOR_FORCEENCAPS}`);
    h = new Harness({ stack: "lab", upDefaults: NO_PREVIEW });
});

afterAll(async () => {
    await h?.close();
    labOk("down");
});

describe("1. enable", () => {
    it("installs the Secrets' content on every node and configures every tunnel", async () => {
        upStarted = Date.now();
        last = await h.up({ config: configFor(lab) });
        const summary = last.outputs.summary as { ready: boolean; tunnelsExpected: number; configured: number };
        expect(summary).toMatchObject({ ready: true, tunnelsExpected: 6, configured: 6 });
        expect(nbIpsec(lab)).toBe("true");

        for (const node of lab.nodes) {
            const conf = otherConfig(lab, node.name);
            const secret = secretOf(node.name);
            // The files OVS points at hold exactly what the Secret holds; the key is private.
            expect(podOk(lab, node.target, `cat ${conf.certificate}`)).toBe(secret.data["tls.crt"]);
            expect(podOk(lab, node.target, `cat ${conf.private_key}`)).toBe(secret.data["tls.key"]);
            // The CA is published once, in its own Secret; node Secrets hold only the node's pair.
            expect(podOk(lab, node.target, `cat ${conf.ca_cert}`)).toBe(caSecret().data["ca.crt"]);
            expect(Object.keys(secret.data).sort()).toEqual(["tls.crt", "tls.key"]);
            expect(podOk(lab, node.target, `stat -c %a ${conf.private_key}`).trim()).toBe("600");
            // The certificate names the node by its system-id.
            const cert = new X509Certificate(secret.data["tls.crt"]);
            expect(cert.subject).toContain(`CN=${node.systemId}`);
            expect(cert.subjectAltName).toBe(`DNS:${node.systemId}`);

            // Our strongSwan settings were in place when the first enable started charon: it wrote
            // our xfrm_acq_expires into the node's network namespace (its default is 165 s).
            expect(podOk(lab, node.target, `cat ${STRONGSWAN_SETTINGS}`)).toBe(STRONGSWAN_SETTINGS_TEXT);
            expect(podOk(lab, node.target, "cat /proc/sys/net/core/xfrm_acq_expires").trim()).toBe(String(XFRM_ACQ_EXPIRES_SECONDS));
            // OVS 3.1's monitor knows --no-restart-ike-daemon: it was started so, after charon,
            // and never ran \`ipsec restart\`; so it wrote no ovs.conf, and charon still loaded
            // what ovs.conf would have asked for (from our settings file).
            expect(monitorLogCount(lab, node, MONITOR_RESTARTS_IKE)).toBe(0);
            expect(podSh(lab, node.target, "test -e /etc/strongswan.d/ovs.conf").status).not.toBe(0);
            expect(podOk(lab, node.target, "ipsec statusall").split("\n").find((l) => l.includes("loaded plugins:"))?.split(/\s+/)).toContain("gcm");

            const show = podOk(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show");
            const headers = tunnelHeaders(show);
            expect(headers).toHaveLength(peersOf(node).length);
            expect(headers.every((t) => t.state === "CONFIGURED")).toBe(true);
            expect(new Set(headers.map((t) => t.localName))).toEqual(new Set([node.systemId]));
            expect(headers.map((t) => t.remoteName).sort()).toEqual(peersOf(node).map((p) => p.systemId).sort());
        }
    });

    it("reports in the stack outputs what the nodes show", () => {
        const status = last.outputs.status as { nodes: Array<{ node: string; tunnels: Array<{ interface: string; state: string; peerNode: string }> }> };
        for (const node of lab.nodes) {
            const reported = status.nodes.find((n) => n.node === node.name);
            const shown = tunnelHeaders(podOk(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show"));
            expect(reported?.tunnels.map((t) => t.interface).sort()).toEqual(shown.map((t) => t.interface).sort());
            expect(reported?.tunnels.map((t) => t.peerNode).sort()).toEqual(peersOf(node).map((p) => p.name).sort());
        }
        const nodes = last.outputs.nodes as Array<{ name: string; certificateSerial: string; live: { observedAt: string } }>;
        for (const n of nodes) {
            expect(n.live).toMatchObject({ health: "protected", configIntact: true, monitorRunning: true, ikeDaemonRunning: true, problems: [] });
            // Observed in that run, not carried from an earlier one.
            expect(Date.parse(n.live.observedAt)).toBeGreaterThanOrEqual(upStarted);
            expect(n.certificateSerial).toBe(new X509Certificate(secretOf(n.name).data["tls.crt"]).serialNumber);
        }
    });

    it("IKE authenticates every pair with our certificates", async () => {
        for (const node of lab.nodes) for (const peer of peersOf(node)) triggerIke(lab, node, peer);
        for (const node of lab.nodes) {
            const want = peersOf(node).map((p) => p.systemId).sort();
            await waitFor(`IKE SAs of ${node.name}`, () => ikePeers(lab, node).sort().join(",") === want.join(","), 20_000);
        }
        // refresh re-reads the status: the outputs now show the IKE SAs too.
        await h.refresh();
        const status = h.outputsOf("kube-ovn-ipsec-status") as { reports: Array<{ tunnels: Array<{ ikeEstablished: boolean }> }> };
        expect(status.reports.flatMap((r) => r.tunnels.map((t) => t.ikeEstablished))).toEqual(new Array(6).fill(true));
    });
});

describe("2. enabled=false and back", () => {
    it("stops IPsec everywhere, keeps certificates and services, and restarts nothing when turned back on", async () => {
        const pidsBefore = lab.nodes.map((n) => servicePids(lab, n.name));
        const confBefore = lab.nodes.map((n) => otherConfig(lab, n.name));
        const off = await h.up({ config: configFor(lab, { enabled: false }) });
        expect(nbIpsec(lab)).toBe("false");
        for (const node of lab.nodes) expect(podOk(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show").trim()).toBe(NO_TUNNELS);
        expect(lab.nodes.map((n) => otherConfig(lab, n.name))).toEqual(confBefore);
        expect((off.outputs.summary as { ready: boolean; enabled: boolean })).toMatchObject({ ready: true, enabled: false });
        // Only the switch, the status (and the preflight) changed: no node step ran.
        for (const n of nodeNames()) expect(ops(off, `kube-ovn-ipsec-${n}`)).not.toContain("update");

        last = await h.up({ config: configFor(lab) });
        for (const node of lab.nodes) {
            const headers = tunnelHeaders(podOk(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show"));
            expect(headers.map((t) => t.state)).toEqual(peersOf(node).map(() => "CONFIGURED"));
        }
        expect(lab.nodes.map((n) => servicePids(lab, n.name))).toEqual(pidsBefore);
    });
});

describe("2b. natTraversal on and off", () => {
    /** Renegotiates every pair now; true when every node logged a forced-NAT IKE exchange since `marks`. */
    async function ikeAgain(since: number): Promise<void> {
        for (const node of lab.nodes) ikeUp(lab, node);
        for (const node of lab.nodes) {
            const want = peersOf(node).map((p) => p.systemId).sort().join(",");
            await waitFor(`fresh IKE SAs of ${node.name}`, () => ikePeers(lab, node, since).sort().join(",") === want, 30_000);
        }
    }

    it("on: every tunnel of every node forces UDP encapsulation, IKE authenticates through it, nothing restarts", async () => {
        const pidsBefore = lab.nodes.map((n) => servicePids(lab, n.name));
        const natBefore = lab.nodes.map((n) => charonLogCount(lab, n, FORCED_NAT));
        const on = await h.up({ config: configFor(lab, { natTraversal: true }) });
        expect(nbKey(lab, "options", "ipsec_forceencaps")).toBe('"true"');
        for (const n of nodeNames()) expect(ops(on, `kube-ovn-ipsec-${n}`)).not.toContain("update");
        // The outputs were observed after the monitor reconfigured: every tunnel reports it.
        const status = on.outputs.status as { nodes: Array<{ node: string; ready: boolean; warnings: string[]; tunnels: Array<{ forceEncapsulation?: boolean }> }> };
        for (const r of status.nodes) expect([r.node, r.ready, r.warnings, r.tunnels.map((t) => t.forceEncapsulation)]).toEqual([r.node, true, [], [true, true]]);
        for (const node of lab.nodes) {
            await waitFor(`forceencaps in ${node.name}'s ipsec.conf`, () => strongswanConns(lab, node.name).forceencaps === 4, 10_000);
            // Two conns per peer, each with forceencaps; and not libreswan's keyword.
            expect(strongswanConns(lab, node.name)).toEqual({ conns: 4, forceencaps: 4, libreswanEncapsulation: 0 });
        }
        const since = Date.now();
        await ikeAgain(since);
        lab.nodes.forEach((n, i) => expect([n.name, charonLogCount(lab, n, FORCED_NAT) > natBefore[i]]).toEqual([n.name, true]));
        expect(lab.nodes.map((n) => servicePids(lab, n.name))).toEqual(pidsBefore);
    });

    it("off: the option is gone from every conn, IKE authenticates without it, nothing restarts", async () => {
        const pidsBefore = lab.nodes.map((n) => servicePids(lab, n.name));
        last = await h.up({ config: configFor(lab) });
        expect(nbKey(lab, "options", "ipsec_forceencaps")).toBe("");
        for (const node of lab.nodes) await waitFor(`no forceencaps in ${node.name}'s ipsec.conf`, () => strongswanConns(lab, node.name).forceencaps === 0, 10_000);
        for (const node of lab.nodes) expect(strongswanConns(lab, node.name)).toEqual({ conns: 4, forceencaps: 0, libreswanEncapsulation: 0 });
        const natBefore = lab.nodes.map((n) => charonLogCount(lab, n, FORCED_NAT));
        await ikeAgain(Date.now());
        expect(lab.nodes.map((n) => charonLogCount(lab, n, FORCED_NAT))).toEqual(natBefore);
        expect(lab.nodes.map((n) => servicePids(lab, n.name))).toEqual(pidsBefore);
    });
});

describe("3. rotation", () => {
    it("a new key for one node: the new certificate is in use, IKE re-authenticates, other nodes untouched", async () => {
        const [rotated, ...others] = lab.nodes;
        const before = new X509Certificate(secretOf(rotated.name).data["tls.crt"]);
        const othersBefore = others.map((n) => ({ conf: otherConfig(lab, n.name), pids: servicePids(lab, n.name) }));
        const pidsBefore = servicePids(lab, rotated.name);
        const startedAt = Date.now();

        const result = await h.up({ config: configFor(lab), replace: [`kube-ovn-ipsec-${rotated.name}-key`] });
        const after = new X509Certificate(secretOf(rotated.name).data["tls.crt"]);
        expect(after.serialNumber).not.toBe(before.serialNumber);
        expect(after.publicKey.export({ format: "pem", type: "spki" })).not.toBe(before.publicKey.export({ format: "pem", type: "spki" }));

        // The monitor uses the new file (its path carries the certificate's fingerprint).
        const conf = otherConfig(lab, rotated.name);
        const show = tunnelHeaders(podOk(lab, rotated.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show"));
        expect(show.every((t) => t.localCert === conf.certificate && t.state === "CONFIGURED")).toBe(true);
        const installed = new X509Certificate(podOk(lab, rotated.target, `cat ${conf.certificate}`));
        expect(installed.serialNumber).toBe(after.serialNumber);
        // Old files are gone; services were not restarted.
        expect(ourFiles(lab, rotated.name).filter((f) => f.endsWith(".pem")).sort()).toEqual([conf.certificate, conf.private_key, conf.ca_cert].sort());
        expect(servicePids(lab, rotated.name)).toEqual(pidsBefore);

        // IKE authenticates again, with the new certificate, to every peer.
        ikeUp(lab, rotated);
        await waitFor("IKE after rotation", () => ikePeers(lab, rotated, startedAt).length === others.length, 30_000);
        const loaded = podOk(lab, rotated.target, "ipsec listcerts");
        expect(loaded.replace(/:/g, "").toUpperCase()).toContain(after.serialNumber.toUpperCase());

        // The other nodes: same files, same services, no node step ran for them.
        expect(others.map((n) => ({ conf: otherConfig(lab, n.name), pids: servicePids(lab, n.name) }))).toEqual(othersBefore);
        for (const n of others) expect(ops(result, `kube-ovn-ipsec-${n.name}`)).not.toContain("update");
        expect(ops(result, `kube-ovn-ipsec-${rotated.name}`)).toContain("update");
    });

    it("inside the early-renewal window every certificate is renewed and re-installed without a restart", async () => {
        const nodes = last.outputs.nodes as Array<{ name: string; certificateNotAfter: string; certificateSerial: string }>;
        const notAfter = Math.min(...nodes.map((n) => Date.parse(n.certificateNotAfter)));
        const pidsBefore = lab.nodes.map((n) => servicePids(lab, n.name));
        // 29 days before expiry: inside the default 30-day window.
        last = await h.up({ config: configFor(lab), now: new Date(notAfter - 29 * 24 * 3600 * 1000) });
        const renewed = last.outputs.nodes as typeof nodes;
        for (const n of renewed) {
            expect(n.certificateSerial).not.toBe(nodes.find((x) => x.name === n.name)?.certificateSerial);
            const conf = otherConfig(lab, n.name);
            const installed = new X509Certificate(podOk(lab, lab.nodes.find((x) => x.name === n.name)!.target, `cat ${conf.certificate}`));
            expect(installed.serialNumber).toBe(n.certificateSerial);
        }
        expect((last.outputs.summary as { ready: boolean }).ready).toBe(true);
        expect(lab.nodes.map((n) => servicePids(lab, n.name))).toEqual(pidsBefore);
    });

    it("certificates ending inside the window: the outputs say so, a preview shows the renewal, the next up renews", async () => {
        type Expiry = { certificateNotAfter: string; certificateDaysLeft: number; certificateRenewsOnNextUp: boolean; name: string };
        const DAY = 24 * 3600 * 1000;
        /** The days left the program may have computed at any moment of [from, to]. */
        const daysLeftDuring = (notAfter: string, from: number, to: number) => new Set([Math.floor((Date.parse(notAfter) - from) / DAY), Math.floor((Date.parse(notAfter) - to) / DAY)]);
        // New certificates made 345 days ago (the tls double's clock): they end in about 20 days,
        // inside the default 30-day window, while the program runs today.
        let from = Date.now();
        const aged = await h.up({ config: configFor(lab), now: new Date(from - 345 * DAY), replace: lab.nodes.map((n) => `kube-ovn-ipsec-${n.name}-key`) });
        let to = Date.now();
        for (const n of aged.outputs.nodes as Expiry[]) {
            expect(daysLeftDuring(n.certificateNotAfter, from, to)).toContain(n.certificateDaysLeft);
            expect(n.certificateDaysLeft).toBeLessThan(30);
            expect([n.name, n.certificateRenewsOnNextUp]).toEqual([n.name, true]);
        }
        const ca = aged.outputs.caExpiry as { notAfter: string; daysLeft: number; renewsOnNextUp: boolean };
        expect(daysLeftDuring(ca.notAfter, from, to)).toContain(ca.daysLeft);
        expect(ca.renewsOnNextUp).toBe(false);

        // A preview today shows each certificate replaced and each node updated; it changes nothing.
        const preview = await h.preview({ config: configFor(lab) });
        const opOf = (name: string) => preview.steps.find((s) => s.name === name && s.op !== "read")?.op;
        for (const n of lab.nodes) expect([n.name, opOf(`kube-ovn-ipsec-${n.name}-cert`), opOf(`kube-ovn-ipsec-${n.name}`)]).toEqual([n.name, "replace", "update"]);
        expect(opOf("kube-ovn-ipsec-ca")).toBe("same");

        from = Date.now();
        last = await h.up({ config: configFor(lab) });
        to = Date.now();
        for (const n of last.outputs.nodes as Expiry[]) {
            expect(daysLeftDuring(n.certificateNotAfter, from, to)).toContain(n.certificateDaysLeft);
            expect(n.certificateDaysLeft).toBeGreaterThan(300);
            expect([n.name, n.certificateRenewsOnNextUp]).toEqual([n.name, false]);
        }
        expect((last.outputs.summary as { ready: boolean }).ready).toBe(true);
    });
});

describe("4. nodes join and leave", () => {
    it("a joining node gets only its own resources; the others are not touched", async () => {
        const pidsBefore = lab.nodes.map((n) => servicePids(lab, n.name));
        const old = lab.nodes.map((n) => n.name);
        labOk("add-node");
        lab = labStatus();
        const joined = lab.nodes.find((n) => !old.includes(n.name)) as LabNode;
        const result = await h.up({ config: configFor(lab) });
        expect(result.outputs.summary).toMatchObject({ ready: true, nodes: 4, tunnelsExpected: 12, configured: 12 });
        const created = result.steps.filter((s) => s.op === "create").map((s) => s.name).sort();
        expect(created).toEqual([`kube-ovn-ipsec-${joined.name}`, `kube-ovn-ipsec-${joined.name}-cert`, `kube-ovn-ipsec-${joined.name}-csr`, `kube-ovn-ipsec-${joined.name}-key`, `kube-ovn-ipsec-${joined.name}-secret`].sort());
        for (const n of old) expect(ops(result, `kube-ovn-ipsec-${n}`)).not.toContain("update");
        expect(old.map((n) => servicePids(lab, n))).toEqual(pidsBefore);
        last = result;
    });

    it("a leaving node's resources are deleted and it is left clean", async () => {
        const leaving = lab.nodes[lab.nodes.length - 1];
        const staying = lab.nodes.filter((n) => n.name !== leaving.name);
        const result = await h.up({ config: configFor(lab, { nodes: staying }) });
        const deleted = result.steps.filter((s) => s.op === "delete").map((s) => s.name).sort();
        expect(deleted).toEqual([`kube-ovn-ipsec-${leaving.name}`, `kube-ovn-ipsec-${leaving.name}-cert`, `kube-ovn-ipsec-${leaving.name}-csr`, `kube-ovn-ipsec-${leaving.name}-key`, `kube-ovn-ipsec-${leaving.name}-secret`].sort());
        expect(otherConfig(lab, leaving.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
        expect(ourFiles(lab, leaving.name)).toEqual([]);
        expect(servicePids(lab, leaving.name)).toEqual({ monitor: null, charon: null });
        labOk("remove-node", leaving.name);
        lab = labStatus();
        last = await h.up({ config: configFor(lab) });
        expect(last.outputs.summary).toMatchObject({ ready: true, nodes: 3, configured: 6 });
    });
});

describe("4b. an image whose ovs-monitor-ipsec cannot skip the IKE daemon's restart", () => {
    it("is detected; the node is started the old way (the monitor restarts strongSwan) and works", async () => {
        const [a, , c] = lab.nodes;
        const others = lab.nodes.filter((n) => n.name !== c.name);
        const pidsBefore = others.map((n) => servicePids(lab, n.name));
        // An ovs-ovn restart loses the daemons; the pod comes back with an older monitor.
        labOk("restart-pod", c.name);
        lab = labStatus();
        monitorWithoutQuickStart(lab, c);
        // charon's default, so that the value below is the one the new charon set.
        podOk(lab, c.target, "echo 165 > /proc/sys/net/core/xfrm_acq_expires");
        const restartsBefore = monitorLogCount(lab, c, MONITOR_RESTARTS_IKE);

        const result = await h.up({ config: configFor(lab) });
        expect(result.outputs.summary).toMatchObject({ ready: true, configured: 6 });
        // Started through the init script: the monitor restarted strongSwan once and wrote its ovs.conf.
        expect(monitorLogCount(lab, c, MONITOR_RESTARTS_IKE)).toBe(restartsBefore + 1);
        expect(podSh(lab, c.target, "test -s /etc/strongswan.d/ovs.conf").status).toBe(0);
        expect(podOk(lab, c.target, `cat ${STRONGSWAN_SETTINGS}`)).toBe(STRONGSWAN_SETTINGS_TEXT);
        expect(podOk(lab, c.target, "cat /proc/sys/net/core/xfrm_acq_expires").trim()).toBe(String(XFRM_ACQ_EXPIRES_SECONDS));
        expect(tunnelHeaders(podOk(lab, c.target, "ovs-appctl -t ovs-monitor-ipsec tunnels/show")).map((t) => t.state)).toEqual(["CONFIGURED", "CONFIGURED"]);
        // IKE authenticates with a node started the new way.
        ikeDownAll(lab, c);
        ikeDownAll(lab, a);
        triggerIke(lab, c, a);
        await waitFor(`IKE SA ${c.name} -> ${a.name}`, () => ikePeers(lab, c).includes(a.systemId), 20_000);
        // The other nodes were not touched.
        expect(others.map((n) => servicePids(lab, n.name))).toEqual(pidsBefore);
    });
});

describe("5. destroy", () => {
    it("leaves every node as before IPsec and nb_global ipsec=false", async () => {
        await h.destroy();
        expect(nbIpsec(lab)).toBe("false");
        // The operator's own NAT option is back, and our records are gone.
        expect(nbKey(lab, "options", "ipsec_forceencaps")).toBe(OPERATOR_FORCEENCAPS);
        expect(podOk(lab, lab.central.target, "ovn-nbctl get nb_global . external_ids")).not.toContain("kube-ovn-ipsec");
        for (const node of lab.nodes) {
            expect(otherConfig(lab, node.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
            expect(ourFiles(lab, node.name)).toEqual([]);
            expect(podSh(lab, node.target, `test -e ${STRONGSWAN_SETTINGS}`).status).not.toBe(0);
            expect(servicePids(lab, node.name)).toEqual({ monitor: null, charon: null });
            expect(podSh(lab, node.target, "ovs-appctl -t ovs-monitor-ipsec version").status).not.toBe(0);
        }
        expect(h.state.resources.filter((r) => r.kind === "dynamic")).toEqual([]);
    });
});

describe("6. a node whose system-id no longer matches its certificate", () => {
    it("fails naming the node, configures the others, and converges once the config is fixed", async () => {
        // The node is "reinstalled": a new OVS system-id (new chassis) while the config still has the old.
        const stale = lab.nodes[1];
        const newId = "5eed0000-0000-4000-8000-00000000beef";
        podOk(lab, stale.target, `ovs-vsctl set Open_vSwitch . external_ids:system-id=${newId}`);
        podOk(lab, lab.central.target, `ovn-sbctl --timeout=10 chassis-del ${stale.systemId}`);
        const error = (await h.up({ config: configFor(lab) }).catch((e: unknown) => e)) as HarnessError;
        expect(error).toBeInstanceOf(HarnessError);
        const failure = error.failures.find((f) => f.name === `kube-ovn-ipsec-${stale.name}`);
        expect(failure?.message).toContain(`[${stale.name}] step "check-system-id" failed`);
        expect(failure?.message).toContain(`OVS system-id is '${newId}' but the certificate is for '${stale.systemId}'`);
        // Nothing changed on that node; the others are configured; IPsec not switched on.
        expect(otherConfig(lab, stale.name)).toEqual({ certificate: "", private_key: "", ca_cert: "" });
        expect(ourFiles(lab, stale.name)).toEqual([]);
        for (const n of lab.nodes.filter((x) => x.name !== stale.name)) expect(otherConfig(lab, n.name).certificate).toMatch(/kube-ovn-ipsec-/);
        expect(nbIpsec(lab)).toBe("false");

        // The fix: the node list gets the system-id the node now has.
        lab = { ...lab, nodes: lab.nodes.map((n) => (n.name === stale.name ? { ...n, systemId: newId } : n)) };
        await waitFor("tunnels to the renamed chassis", () => lab.nodes.every((n) => podSh(lab, n.target, "ovs-vsctl --bare --columns=name find Interface type=geneve").stdout.split("\n").filter(Boolean).length === 2), 20_000);
        last = await h.up({ config: configFor(lab) });
        expect(last.outputs.summary).toMatchObject({ ready: true, configured: 6 });
    });
});

describe("7. waitFor=established cannot be met without ESP", () => {
    it("times out with what each node reached, and a later run converges", async () => {
        const started = Date.now();
        const error = (await h.up({ config: configFor(lab, { waitFor: "established", timeoutSeconds: 6 }) }).catch((e: unknown) => e)) as HarnessError;
        expect(Date.now() - started).toBeLessThan(40_000);
        expect(error).toBeInstanceOf(HarnessError);
        const failure = error.failures.find((f) => f.name === "kube-ovn-ipsec-readiness");
        expect(failure?.message).toContain(`IPsec status did not reach "established" on 3 of 3 node(s) within 6s`);
        for (const node of lab.nodes) expect(failure?.message).toMatch(new RegExp(`${node.name}: 2/2 tunnels CONFIGURED, 0/2 established`));
        // Only the readiness gate failed: the nodes and the switch are as they were, and the
        // status resource holds what this run observed (not an earlier run's observation).
        expect(error.failures.map((f) => f.name)).toEqual(["kube-ovn-ipsec-readiness"]);
        const recorded = h.outputsOf("kube-ovn-ipsec-status") as { summary: { ready: boolean; observedAt: string; established: number } };
        expect(recorded.summary).toMatchObject({ ready: false, established: 0 });
        expect(Date.parse(recorded.summary.observedAt)).toBeGreaterThanOrEqual(started);
        expect(nbIpsec(lab)).toBe("true");
        const ok = await h.up({ config: configFor(lab) });
        expect(ok.outputs.summary).toMatchObject({ ready: true, configured: 6 });
    });
});

describe("8. IKE that cannot get through (UDP 500 blocked between two nodes)", () => {
    it("names exactly that pair, on both of its nodes, with the cause; the established error says so too", async () => {
        const [a, b, c] = lab.nodes;
        // netfilter in a's network namespace: IKE's UDP 500 to and from b dropped, both ways.
        const rules = [`OUTPUT -p udp -d ${b.ip} --dport 500 -j DROP`, `INPUT -p udp -s ${b.ip} --dport 500 -j DROP`];
        // Fresh negotiations: no IKE SA left from earlier sections to reuse.
        for (const n of lab.nodes) ikeDownAll(lab, n);
        for (const r of rules) podOk(lab, a.target, `iptables -I ${r}`);
        try {
            for (const [from, to] of [[a, b], [b, a], [a, c], [c, a]]) ikeUpInBackground(lab, from, to);
            const connectingTo = (from: LabNode, to: LabNode) => new RegExp(`: CONNECTING, [^ ]+\\.\\.\\.${to.ip.replace(/\./g, "\\.")}\\[`).test(podSh(lab, from.target, "ipsec status").stdout);
            await waitFor(`IKE between ${a.name} and ${b.name} CONNECTING on both`, () => connectingTo(a, b) && connectingTo(b, a), 10_000);
            await waitFor(`${a.name}'s IKE SA with ${c.name}`, () => ikePeers(lab, a).includes(c.systemId), 20_000);

            type Report = { node: string; warnings: string[]; ready: boolean; tunnels: Array<{ peerNode: string; ikeNoAnswer?: boolean }> };
            const reached = await h.up({ config: configFor(lab) });
            const reports = (reached.outputs.status as { nodes: Report[] }).nodes;
            const heldPeers = (n: LabNode) => reports.find((r) => r.node === n.name)?.tunnels.filter((t) => t.ikeNoAnswer).map((t) => t.peerNode);
            expect([heldPeers(a), heldPeers(b), heldPeers(c)]).toEqual([[b.name], [a.name], []]);
            const warningsOf = (n: LabNode) => reports.find((r) => r.node === n.name)?.warnings;
            expect(warningsOf(a)).toEqual([`IKE with ${b.name} (${b.ip}) gets no answer: IKE_SA_INIT to its UDP 500 got no answer`]);
            expect(warningsOf(b)).toEqual([`IKE with ${a.name} (${a.ip}) gets no answer: IKE_SA_INIT to its UDP 500 got no answer`]);
            expect(warningsOf(c)).toEqual([]);
            // Configured is still met: the configuration is right, the network is not.
            expect((reached.outputs.summary as { ready: boolean }).ready).toBe(true);

            const error = (await h.up({ config: configFor(lab, { waitFor: "established", timeoutSeconds: 6 }) }).catch((e: unknown) => e)) as HarnessError;
            const message = error.failures.find((f) => f.name === "kube-ovn-ipsec-readiness")?.message ?? "";
            expect(message).toMatch(new RegExp(`${a.name}: .*IKE with ${b.name} \\(${b.ip.replace(/\./g, "\\.")}\\) gets no answer: IKE_SA_INIT to its UDP 500 got no answer`));
            expect(message).toMatch(new RegExp(`${b.name}: .*IKE with ${a.name} \\(${a.ip.replace(/\./g, "\\.")}\\) gets no answer`));
            const cLine = message.split("\n").find((l) => l.includes(`${c.name}:`)) ?? "";
            expect(cLine).not.toContain("gets no answer");
        } finally {
            for (const r of rules) podSh(lab, a.target, `iptables -D ${r}`);
        }
    });
});
