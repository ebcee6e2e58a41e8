/**
 * From what a node printed (real lab captures, documented hand-made cases) to the per-peer
 * report and the readiness verdict that `waitFor` uses.
 */
import * as fs from "fs";
import * as path from "path";
import type { NodeObservation } from "../../components/observe/nodeObservation";
import { Expectation, NodeStatusReport, caRotationPhase, describeNode, evaluateNode, summarize } from "../../components/status/nodeStatus";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", name), "utf8");

// The 3-node lab capture: n1's system-id and its two peers, as printed in the fixture.
const N1 = "25941846-9896-421b-a58f-1e030d5a1f5b";
const peers = [
    { name: "kube-ovn-worker", systemId: "8ecc6bc4-06d7-4bd8-a6f3-035eb4c29d4c" },
    { name: "kube-ovn-worker2", systemId: "8525d8a7-2f58-43a0-a3b4-43ae0287724e" },
];
const expect1 = (over: Partial<Expectation> = {}): Expectation => ({ node: "kube-ovn-control-plane", systemId: N1, peers, enabled: true, waitFor: "configured", failClosed: false, natTraversal: false, ...over });
const ours = { certificate: `/etc/ipsec.d/certs/kube-ovn-ipsec-${N1}-0123456789abcdef.pem`, private_key: `/etc/ipsec.d/private/kube-ovn-ipsec-${N1}-0123456789abcdef.pem`, ca_cert: "/etc/ipsec.d/cacerts/kube-ovn-ipsec-ca-fedcba9876543210.pem" };
/** A healthy node as the observe script reports it (real tunnels/show and ipsec status captures). */
const observed = (over: Partial<NodeObservation> = {}, tunnels = fixture("tunnels-show-3node-configured-n1.txt"), ike = fixture("ipsec-status-routed-only.txt")): NodeObservation => ({
    node: "kube-ovn-control-plane",
    observedAt: "2026-12-01T10:00:00.000Z",
    reachable: true,
    error: null,
    systemId: N1,
    encapIp: "10.99.0.11",
    otherConfig: { ...ours },
    manifest: { ...ours },
    files: { certificate: "ok", private_key: "ok", ca_cert: "ok" },
    privateKeyMode: "600",
    ourFiles: 3,
    beforeRecorded: true,
    startedByUs: { monitor: true, ike: true },
    monitorRunning: true,
    ikeDaemonRunning: true,
    xfrmPolicies: 8,
    guard: { tool: true, jumps: 0, chain: false, addresses: [], wanted: ["10.99.0.12", "10.99.0.13"], drops: 0, invalid: [] },
    tunnelsShow: { ok: true, text: tunnels, truncated: false },
    ipsecStatus: { ok: true, text: ike, truncated: false },
    ikeStuck: [],
    trustedCas: ["fedcba9876543210"],
    strongswanSettings: "ok",
    ...over,
});
/** What a pod restart leaves: daemons dead, /etc/ipsec.d back to the image, OVSDB keys kept. */
const afterRestart = (): NodeObservation =>
    observed({ manifest: null, ourFiles: 0, files: { certificate: "unknown", private_key: "unknown", ca_cert: "unknown" }, privateKeyMode: null, startedByUs: { monitor: false, ike: false }, monitorRunning: false, ikeDaemonRunning: false, tunnelsShow: { ok: false, text: "", truncated: false }, ipsecStatus: { ok: false, text: "", truncated: false } });

describe("evaluateNode", () => {
    it("a CONFIGURED tunnel to every peer, no IKE yet: configured and ready, nothing established", () => {
        const r = evaluateNode(expect1(), observed());
        expect(r.expectedTunnels).toBe(2);
        expect(r.configured).toBe(2);
        expect(r.established).toBe(0);
        expect(r.missingPeers).toEqual([]);
        expect(r.ready).toBe(true);
        expect(r.tunnels.map((t) => t.peerNode).sort()).toEqual(peers.map((p) => p.name).sort());
        expect(r.tunnels.every((t) => t.localName === N1)).toBe(true);
    });

    it("waitFor=established is not met while no CHILD SA is installed", () => {
        expect(evaluateNode(expect1({ waitFor: "established" }), observed()).ready).toBe(false);
    });

    it("an ESTABLISHED IKE SA alone (the most this kernel allows) is not 'established'", () => {
        const r = evaluateNode(expect1({ waitFor: "established" }), observed({}, undefined, fixture("ipsec-status-ike-established-initiator.txt")));
        const toWorker = r.tunnels.find((t) => t.peerNode === "kube-ovn-worker");
        expect(toWorker?.ikeEstablished).toBe(true);
        expect(toWorker?.established).toBe(false);
        expect(r.ike.up).toBe(1);
        expect(r.ready).toBe(false);
    });

    it("IKE SA plus INSTALLED CHILD SAs both ways: established, per peer", () => {
        // Hand-made from strongSwan's format: both peers have an ESTABLISHED IKE SA and
        // INSTALLED in and out CHILD SAs (plus a REKEYED one that must not count).
        const r = evaluateNode(expect1({ waitFor: "established" }), observed({}, undefined, fixture("ipsec-status-child-installed-handmade.txt")));
        for (const t of r.tunnels) {
            expect(t.ikeEstablished).toBe(true);
            expect(t.childSasInstalled).toBe(2);
            expect(t.established).toBe(true);
        }
        expect(r.established).toBe(2);
        expect(r.ready).toBe(true);
    });

    it("a peer without a tunnel is missing, and the node is not ready", () => {
        const extra = { name: "kube-ovn-worker3", systemId: "ffffffff-0000-4000-8000-000000000000" };
        const r = evaluateNode(expect1({ peers: [...peers, extra] }), observed());
        expect(r.expectedTunnels).toBe(3);
        expect(r.configured).toBe(2);
        expect(r.missingPeers).toEqual(["kube-ovn-worker3"]);
        expect(r.ready).toBe(false);
        expect(r.missingPeers).toEqual(["kube-ovn-worker3"]);
        expect(r.health).toBe("notProtected");
        expect(describeNode(r)).toContain("no CONFIGURED IPsec tunnel to kube-ovn-worker3");
        expect(r.impact).toBe("Geneve traffic between kube-ovn-control-plane and 1 of its 3 peer(s) is not protected: it is sent in plain text");
    });

    it("tunnels carrying another node's name do not count for this node", () => {
        const r = evaluateNode(expect1({ systemId: "00000000-0000-4000-8000-000000000000" }), observed());
        expect(r.configured).toBe(0);
        expect(r.ready).toBe(false);
    });

    it("disabled: ready once the monitor lists no IPsec tunnel", () => {
        const off = evaluateNode(expect1({ enabled: false }), observed({}, fixture("tunnels-show-no-tunnels.txt")));
        expect(off.ready).toBe(true);
        expect(off.expectedTunnels).toBe(0);
        expect(evaluateNode(expect1({ enabled: false }), observed()).ready).toBe(false);
    });

    it("disabled: never ready when tunnels/show failed or printed something that is not its reply", () => {
        // A monitor that does not answer lists no tunnels, which must not read as "none left".
        const failed = evaluateNode(expect1({ enabled: false }), observed({ tunnelsShow: { ok: false, text: "", truncated: false } }));
        expect(failed.ready).toBe(false);
        const notAReply = evaluateNode(expect1({ enabled: false }), observed({ tunnelsShow: { ok: true, text: fixture("ovs-appctl-monitor-not-running.txt"), truncated: false } }));
        expect(notAReply.ready).toBe(false);
        // The same node with the monitor's real "no tunnels" reply is ready.
        expect(evaluateNode(expect1({ enabled: false }), observed({ tunnelsShow: { ok: true, text: fixture("tunnels-show-no-tunnels.txt"), truncated: false } })).ready).toBe(true);
    });

    it("a CHILD SA installed in one direction only is not established", () => {
        // The hand-made capture with both INSTALLED CHILD SAs to one peer; drop either direction.
        const both = fixture("ipsec-status-child-installed-handmade.txt");
        for (const dir of ["in", "out"]) {
            const oneWay = both.replace(new RegExp(`^ovn-8ecc6b-0-${dir}-1\\{\\d+\\}: .*\\n`, "gm"), (line) => (line.includes("INSTALLED") || /===/.test(line) ? "" : line));
            expect(oneWay).not.toBe(both);
            const r = evaluateNode(expect1({ waitFor: "established" }), observed({}, undefined, oneWay));
            const toWorker = r.tunnels.find((t) => t.peerNode === "kube-ovn-worker");
            expect(toWorker?.ikeEstablished).toBe(true);
            expect(toWorker?.childSasInstalled).toBe(1);
            expect(toWorker?.established).toBe(false);
            // The other peer still has both directions.
            expect(r.tunnels.find((t) => t.peerNode === "kube-ovn-worker2")?.established).toBe(true);
            expect(r.established).toBe(1);
            expect(r.ready).toBe(false);
        }
    });

    it("an INIT tunnel (IKE connection not loaded yet) is neither configured nor protecting", () => {
        const text = fixture("tunnels-show-3node-configured-n1.txt");
        const first = text.indexOf("(CONFIGURED)");
        const r = evaluateNode(expect1(), observed({}, text.slice(0, first) + "(INIT)" + text.slice(first + "(CONFIGURED)".length)));
        expect(r.tunnels.map((t) => t.state).sort()).toEqual(["CONFIGURED", "INIT"]);
        expect(r.configured).toBe(1);
        expect(r.missingPeers).toEqual(["kube-ovn-worker2"]);
        expect(r.ready).toBe(false);
    });

    it("a monitor that does not answer is never ready, and says so", () => {
        const r = evaluateNode(expect1(), observed({ monitorRunning: false, tunnelsShow: { ok: false, text: fixture("ovs-appctl-monitor-not-running.txt"), truncated: false } }));
        expect(r.ready).toBe(false);
        expect(r.tunnels).toEqual([]);
        expect(describeNode(r)).toContain("ovs-monitor-ipsec NOT running");
    });

    it("INVALID tunnels are reported with their reason in the account", () => {
        const r = evaluateNode(expect1(), observed({}, fixture("tunnels-show-invalid-removed-handmade.txt")));
        const invalid = r.tunnels.filter((t) => t.state === "INVALID");
        expect(invalid.length).toBeGreaterThan(0);
        expect(describeNode(r)).toContain(`${invalid[0].interface} INVALID`);
    });
});

describe("the CAs a node shows, and where a CA change stands", () => {
    const OLD = "fedcba9876543210";
    const NEW = "0123456789abcdef";
    const newPaths = { ...ours, ca_cert: `/etc/ipsec.d/cacerts/kube-ovn-ipsec-ca-${NEW}.pem` };
    const onOld = (trusted: string[]) => evaluateNode(expect1(), observed({ trustedCas: trusted }));
    const onNew = (trusted: string[]) => evaluateNode(expect1(), observed({ trustedCas: trusted, otherConfig: newPaths, manifest: newPaths }));

    it("reports the CA its certificate was installed with (from the manifest) and the CA files it trusts", () => {
        expect(onOld([OLD]).ca).toEqual({ signedBy: OLD, trusted: [OLD] });
        expect(onNew([NEW, OLD].sort()).ca).toEqual({ signedBy: NEW, trusted: [NEW, OLD].sort() });
        expect(evaluateNode(expect1(), observed({ manifest: null, trustedCas: [] })).ca).toEqual({ signedBy: undefined, trusted: [] });
    });

    it("names each phase from what the nodes show, against the current CA", () => {
        const phase = (...reports: NodeStatusReport[]) => caRotationPhase(reports, NEW);
        expect(phase(onOld([OLD]), onOld([OLD, NEW]))).toBe("trusting");
        expect(phase(onOld([OLD, NEW]), onNew([OLD, NEW]))).toBe("reissuing");
        expect(phase(onNew([OLD, NEW]), onNew([NEW]))).toBe("retiring");
        expect(phase(onNew([NEW]), onNew([NEW]))).toBe("none");
        // Nodes that could not be read say nothing; with none read, nothing is known.
        const unreadable = evaluateNode(expect1(), { ...observed(), reachable: false, error: "down" });
        expect(phase(unreadable, onNew([NEW]))).toBe("none");
        expect(caRotationPhase([unreadable], NEW)).toBe("none");
        expect(caRotationPhase([onOld([OLD])], undefined)).toBe("none");
        expect(summarize([onOld([OLD, NEW]), onNew([OLD, NEW])], true, "configured", NEW).ca).toEqual({ current: NEW, rotation: "reissuing" });
    });

    it("a node without a certificate of ours (signedBy unknown) is no re-issue still to do", () => {
        const noCert = evaluateNode(expect1(), observed({ manifest: null, trustedCas: [NEW] }));
        expect(noCert.ca).toEqual({ signedBy: undefined, trusted: [NEW] });
        expect(caRotationPhase([noCert, onNew([NEW])], NEW)).toBe("none");
    });
});

describe("summarize and describeNode, against mutation survivors (2026-12-03 run)", () => {
    const healthy = evaluateNode(expect1(), observed({ observedAt: "2026-12-01T10:00:01.000Z" }));
    const broken = evaluateNode(expect1({ node: "n2" }), observed({ observedAt: "2026-12-01T10:00:03.000Z", monitorRunning: false, tunnelsShow: { ok: false, text: "", truncated: false } }));
    const unknown = evaluateNode(expect1({ node: "n3" }), { ...observed({ observedAt: "2026-12-01T10:00:02.000Z" }), reachable: false, error: "kubectl exec: no answer within 30 s" });

    it("counts each health once, takes the latest observation time whatever the order", () => {
        for (const order of [[healthy, broken, unknown], [unknown, broken, healthy], [broken, unknown, healthy]]) {
            expect(summarize(order, true, "configured")).toMatchObject({ observedAt: "2026-12-01T10:00:03.000Z", nodes: 3, protectedNodes: 1, notProtectedNodes: 1, unknownNodes: 1, reachableNodes: 2 });
        }
    });

    it("a node that cannot be read: nothing claimed, everything unknown, what to check", () => {
        expect(unknown).toMatchObject({ health: "unknown", warnings: [], guard: { wanted: false, installed: false, drops: 0 }, missingPeers: peers.map((p) => p.name), ready: false });
        expect(unknown.action).toContain("kubectl -n kube-system get pods -l app=ovs");
        expect(describeNode(unknown)).toBe("n3: unknown: kubectl exec: no answer within 30 s");
    });

    it("describes a node in one line: counts, daemons, problems, what is not configured, the impact", () => {
        expect(describeNode(healthy)).toBe("kube-ovn-control-plane: 2/2 tunnels CONFIGURED, 0/2 established (ovs-monitor-ipsec running, IKE daemon running, IKE SAs up 0, CHILD SAs installed 0)");
        expect(describeNode(broken)).toBe(`n2: 0/2 tunnels CONFIGURED, 0/2 established (ovs-monitor-ipsec NOT running, IKE daemon running, IKE SAs up 0, CHILD SAs installed 0) missing: ${broken.problems.join("; ")} => ${broken.impact}`);
        const invalid = evaluateNode(expect1(), observed({}, fixture("tunnels-show-invalid-removed-handmade.txt")));
        const bad = invalid.tunnels.filter((t) => t.state !== "CONFIGURED");
        expect(describeNode(invalid)).toContain(` not configured: ${bad.slice(0, 5).map((t) => `${t.interface} ${t.state}${t.stateDetail ? ` (${t.stateDetail})` : ""}`).join("; ")}`);
        const disabled = evaluateNode(expect1({ enabled: false }), observed({}, fixture("tunnels-show-no-tunnels.txt")));
        expect(describeNode(disabled)).toBe("kube-ovn-control-plane: 0 IPsec tunnels listed (ovs-monitor-ipsec running, IKE daemon running, IKE SAs up 0, CHILD SAs installed 0) => IPsec is off cluster-wide (enabled: false): Geneve traffic is not encrypted");
    });

    it("names each configuration problem, and only when it is one", () => {
        const none = { certificate: null, private_key: null, ca_cert: null };
        expect(evaluateNode(expect1(), observed({ otherConfig: none })).problems).toEqual(["OVSDB other_config has no certificate/private_key/ca_cert"]);
        expect(evaluateNode(expect1(), observed({ manifest: null, ourFiles: 2 })).problems).toEqual(["the manifest of kube-ovn-ipsec's files is missing"]);
        expect(evaluateNode(expect1(), observed({ files: { certificate: "missing", private_key: "missing", ca_cert: "ok" }, privateKeyMode: null })).problems).toEqual([`${ours.certificate} is missing`, `${ours.private_key} is missing`]);
        expect(evaluateNode(expect1(), observed({ otherConfig: { ...ours, ca_cert: "/elsewhere.pem" } })).problems).toEqual(["OVSDB other_config does not point at the files kube-ovn-ipsec installed"]);
        // Nothing read from a failed `ipsec status`, whatever text came with it.
        const ikeFailed = evaluateNode(expect1(), observed({ ipsecStatus: { ok: false, text: fixture("ipsec-status-child-installed-handmade.txt"), truncated: false } }));
        expect([ikeFailed.ike, ikeFailed.tunnels.some((t) => t.ikeEstablished)]).toEqual([{ up: 0, connecting: 0, childSasInstalled: 0 }, false]);
    });

    it("the guard counts as installed only with its chain and a jump to it", () => {
        const g = (jumps: number, chain: boolean) => evaluateNode(expect1({ failClosed: true }), observed({ guard: { tool: true, jumps, chain, addresses: [], wanted: [], drops: 0, invalid: [] } })).guard.installed;
        expect([g(1, true), g(1, false), g(0, true), g(2, true)]).toEqual([true, false, false, true]);
    });

    it("the impact counts the peers left unprotected: all when a daemon is down, none when only the setup is off", () => {
        const down = evaluateNode(expect1(), observed({ ikeDaemonRunning: false }));
        expect(down.impact).toBe(`Geneve traffic between kube-ovn-control-plane and its 2 peer(s) is not protected: it is sent in plain text`);
        const keyMode = evaluateNode(expect1(), observed({ privateKeyMode: "644" }));
        expect(keyMode.impact).toBe("Geneve traffic between kube-ovn-control-plane and its 2 peer(s) is protected now, but the node is not set up as kube-ovn-ipsec left it (see problems): it may stop being protected");
        const monitorSilent = evaluateNode(expect1(), observed({ tunnelsShow: { ok: false, text: "", truncated: false } }));
        expect(monitorSilent.problems).toContain("ovs-monitor-ipsec did not answer tunnels/show");
        // Disabled: problems with the kept setup still ask for an up; none, nothing to do.
        const off = (o: Partial<NodeObservation>) => evaluateNode(expect1({ enabled: false }), observed(o, fixture("tunnels-show-no-tunnels.txt")));
        expect(off({ privateKeyMode: "644" }).action).toContain("run `pulumi up`");
        expect(off({}).action).toBeUndefined();
        expect(off({}).problems).toEqual([]);
    });

    it("counts only INSTALLED CHILD SAs, and an IKE SA establishes a tunnel only with its peer's identity and address", () => {
        const r = evaluateNode(expect1(), observed({}, fixture("tunnels-show-3node-configured-n1.txt"), fixture("ipsec-status-child-installed-handmade.txt")));
        const installed = fixture("ipsec-status-child-installed-handmade.txt").split("\n").filter((l) => /\{\d+\}: +INSTALLED, /.test(l)).length;
        expect(r.ike.childSasInstalled).toBe(installed);
        const ike = fixture("ipsec-status-child-installed-handmade.txt");
        const peer = r.tunnels.find((t) => t.ikeEstablished);
        expect(peer).toBeDefined();
        // The same SA with another identity, or from another address, establishes nothing.
        const otherId = evaluateNode(expect1(), observed({}, fixture("tunnels-show-3node-configured-n1.txt"), ike.split(`[${peer?.remoteName}]`).join("[someone-else]")));
        expect(otherId.tunnels.find((t) => t.peerNode === peer?.peerNode)?.ikeEstablished).toBe(false);
        const otherIp = evaluateNode(expect1(), observed({}, fixture("tunnels-show-3node-configured-n1.txt"), ike.split(`${peer?.remoteIp}[`).join("10.99.9.9[")));
        expect(otherIp.tunnels.find((t) => t.peerNode === peer?.peerNode)?.ikeEstablished).toBe(false);
    });
});

describe("summarize", () => {
    it("adds up per-node counts and is ready only when every node is", () => {
        const a = evaluateNode(expect1(), observed());
        const b = evaluateNode(expect1({ node: "other" }), observed({ monitorRunning: false, tunnelsShow: { ok: false, text: "", truncated: false } }));
        const s = summarize([a, b], true, "configured");
        expect(s).toEqual({ enabled: true, waitFor: "configured", observedAt: "2026-12-01T10:00:00.000Z", nodes: 2, protectedNodes: 1, notProtectedNodes: 1, unknownNodes: 0, reachableNodes: 2, tunnelsExpected: 4, configured: 2, established: 0, ready: false });
        expect(summarize([a], true, "configured").ready).toBe(true);
    });
});

describe("a node that is not encrypting says so", () => {
    it("a healthy node is protected, with nothing to do", () => {
        const r = evaluateNode(expect1(), observed());
        expect(r).toMatchObject({ health: "protected", problems: [], configIntact: true, ready: true, observedAt: "2026-12-01T10:00:00.000Z" });
        expect([r.impact, r.action]).toEqual([undefined, undefined]);
    });

    it("after a pod restart: daemons and files named, the stale kernel policies explained, not ready", () => {
        const r = evaluateNode(expect1(), afterRestart());
        expect(r.health).toBe("notProtected");
        expect(r.ready).toBe(false);
        expect(r.configIntact).toBe(false);
        expect(r.problems).toEqual([
            "ovs-monitor-ipsec is not running",
            "the IKE daemon (strongSwan charon) is not running",
            "kube-ovn-ipsec's certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)",
        ]);
        expect(r.impact).toBe(
            "Geneve traffic between kube-ovn-control-plane and its 2 peer(s) is not protected: the kernel still holds 8 IPsec policies left by the stopped daemons: traffic uses their SAs until those expire, then it is dropped, or sent in plain text once the policies are gone",
        );
        expect(r.action).toMatch(/^run `pulumi up`/);
        expect(describeNode(r)).toContain("ovs-monitor-ipsec NOT running");
    });

    it("after a reboot (no xfrm state left): plain text, said plainly", () => {
        const r = evaluateNode(expect1(), { ...afterRestart(), xfrmPolicies: 0 });
        expect(r.impact).toBe("Geneve traffic between kube-ovn-control-plane and its 2 peer(s) is not protected: it is sent in plain text");
    });

    it("with the fail-closed guard in place, the same node's traffic is dropped, not sent", () => {
        const guard = { tool: true, jumps: 1, chain: true, addresses: ["10.99.0.12", "10.99.0.13"], wanted: ["10.99.0.12", "10.99.0.13"], drops: 7, invalid: [] };
        const r = evaluateNode(expect1({ failClosed: true }), { ...afterRestart(), xfrmPolicies: 0, guard });
        expect(r.impact).toBe("Geneve traffic between kube-ovn-control-plane and its 2 peer(s) is not protected: the fail-closed guard drops it instead of sending it in plain text");
        expect(r.guard).toEqual({ wanted: true, installed: true, drops: 7 });
    });

    it("failClosed wanted but no guard: not protected, even when IPsec is up", () => {
        const r = evaluateNode(expect1({ failClosed: true }), observed());
        expect(r.health).toBe("notProtected");
        expect(r.problems).toEqual(["the fail-closed guard is not installed"]);
    });

    describe("IKE that gets no answer (UDP 500/4500 blocked between two lab nodes; real captures)", () => {
        // The lab these were captured on: worker .12, control-plane .11, worker2 .13.
        const WORKER = "1cf67534-773c-477f-aab3-a68f109e564e";
        const CP = "7f447840-c407-4f4a-a7e6-d1dd526617ba";
        const W2 = "63c90f04-b694-4204-b2b3-00e288d3482a";
        const worker: Expectation = { node: "kube-ovn-worker", systemId: WORKER, peers: [{ name: "kube-ovn-control-plane", systemId: CP }, { name: "kube-ovn-worker2", systemId: W2 }], enabled: true, waitFor: "established", failClosed: false, natTraversal: false };
        const cp: Expectation = { ...worker, node: "kube-ovn-control-plane", systemId: CP, peers: [{ name: "kube-ovn-worker", systemId: WORKER }, { name: "kube-ovn-worker2", systemId: W2 }] };
        const on = (x: Expectation, tunnels: string, ike: string, ikeStuck: string[]) => evaluateNode(x, observed({ systemId: x.systemId, ikeStuck }, fixture(tunnels), fixture(ike)));
        /** The name[id] of the CONNECTING SA in a capture, as the observe script lists it. */
        const connectingIn = (ike: string) => fixture(ike).split("\n").filter((l) => l.includes(": CONNECTING, ")).map((l) => l.trim().split(":")[0]);

        it("UDP 500 blocked: the pair is named on the initiator, with IKE_SA_INIT unanswered; the other peer is fine", () => {
            const ike = "ipsec-status-ike-sa-init-unanswered.txt";
            const r = on(worker, "tunnels-show-ike-lab-worker.txt", ike, connectingIn(ike));
            expect(r.tunnels.filter((t) => t.ikeNoAnswer).map((t) => t.peerNode)).toEqual(["kube-ovn-worker2"]);
            expect(r.warnings).toEqual(["IKE with kube-ovn-worker2 (10.213.0.13) gets no answer: IKE_SA_INIT to its UDP 500 got no answer"]);
            expect(r.health).toBe("protected");
            expect(r.impact).toContain("kube-ovn-worker2 is held by the IPsec policies");
            expect(r.action).toContain("open UDP 500 and 4500");
            expect(describeNode(r)).toContain("warnings: IKE with kube-ovn-worker2 (10.213.0.13) gets no answer");
            expect(r.ready).toBe(false);
        });

        it("UDP 4500 blocked: IKE_AUTH unanswered on the initiator, never arrived on the responder", () => {
            const initiator = "ipsec-status-ike-auth-unanswered-initiator.txt";
            const responder = "ipsec-status-ike-auth-unanswered-responder.txt";
            expect(on(worker, "tunnels-show-ike-lab-worker.txt", initiator, connectingIn(initiator)).warnings).toEqual(["IKE with kube-ovn-control-plane (10.213.0.11) gets no answer: it answered IKE_SA_INIT on UDP 500, but IKE_AUTH to its UDP 4500 got no answer"]);
            expect(on(cp, "tunnels-show-ike-lab-control-plane.txt", responder, connectingIn(responder)).warnings).toEqual(["IKE with kube-ovn-worker (10.213.0.12) gets no answer: its IKE_SA_INIT arrived on UDP 500, but its IKE_AUTH (UDP 4500) never did"]);
        });

        it("a CONNECTING SA the observe script did not see stay stuck is no finding (a negotiation in progress)", () => {
            const r = on(worker, "tunnels-show-ike-lab-worker.txt", "ipsec-status-ike-sa-init-unanswered.txt", []);
            expect([r.warnings, r.impact, r.tunnels.some((t) => t.ikeNoAnswer)]).toEqual([[], undefined, false]);
            // A stuck name that is not CONNECTING in the status read (it left in between) neither.
            expect(on(worker, "tunnels-show-ike-lab-worker.txt", "ipsec-status-ike-sa-init-unanswered.txt", ["ovn-7f4478-0-in-1[3]"]).warnings).toEqual([]);
        });

        it("a disabled node whose IKE is stuck says IPsec is off, not that traffic is held", () => {
            const ike = "ipsec-status-ike-sa-init-unanswered.txt";
            expect(on(worker, "tunnels-show-ike-lab-worker.txt", ike, connectingIn(ike)).impact).toContain("is held by the IPsec policies");
            const off = on({ ...worker, waitFor: "configured", enabled: false }, "tunnels-show-ike-lab-worker.txt", ike, connectingIn(ike));
            expect([off.health, off.impact, off.warnings]).toEqual(["disabled", "IPsec is off cluster-wide (enabled: false): Geneve traffic is not encrypted", []]);
        });
    });

    describe("natTraversal", () => {
        const n1 = fixture("tunnels-show-3node-configured-n1.txt");
        const forced = n1.replace(/Custom Options: \{\}/g, "Custom Options: {'forceencaps': 'yes'}");
        // Only the first block (the tunnel to kube-ovn-worker2, as printed) forced.
        const firstOnly = n1.replace("Custom Options: {}", "Custom Options: {'forceencaps': 'yes'}");

        it("forced on every tunnel: protected and ready, nothing to say", () => {
            const r = evaluateNode(expect1({ natTraversal: true }), observed({}, forced));
            expect([r.health, r.ready, r.warnings]).toEqual(["protected", true, []]);
        });

        it("a tunnel without it: still protected (encrypted), but not ready, and the peer is named", () => {
            const r = evaluateNode(expect1({ natTraversal: true }), observed({}, firstOnly));
            const unforced = r.tunnels.filter((t) => t.forceEncapsulation !== true).map((t) => t.peerNode);
            expect(unforced).toHaveLength(1);
            expect(r.health).toBe("protected");
            expect(r.problems).toEqual([]);
            expect(r.ready).toBe(false);
            expect(r.warnings).toEqual([expect.stringContaining(`UDP encapsulation is not forced on the tunnel(s) to ${unforced[0]} (natTraversal)`)]);
            expect(describeNode(r)).toContain(`warnings: UDP encapsulation is not forced on the tunnel(s) to ${unforced[0]}`);
            expect(evaluateNode(expect1({ natTraversal: true, waitFor: "established" }), observed({}, firstOnly)).ready).toBe(false);
        });

        it("not wanted, or IPsec disabled: whatever the tunnels say, nothing is asked of them", () => {
            expect(evaluateNode(expect1({ natTraversal: false }), observed({}, n1)).ready).toBe(true);
            expect(evaluateNode(expect1({ natTraversal: false }), observed({}, forced)).warnings).toEqual([]);
            const disabled = evaluateNode(expect1({ natTraversal: true, enabled: false }), observed({}, fixture("tunnels-show-no-tunnels.txt")));
            expect([disabled.health, disabled.ready, disabled.warnings]).toEqual(["disabled", true, []]);
        });
    });

    it("a tunnel CONFIGURED without any kernel policy does not protect its peer", () => {
        const noPolicies = fixture("tunnels-show-3node-configured-n1.txt").replace(/^ {2}src .*\n/gm, "");
        const r = evaluateNode(expect1(), observed({}, noPolicies));
        expect(r.configured).toBe(2);
        expect(r.missingPeers).toEqual(["kube-ovn-worker", "kube-ovn-worker2"]);
        expect(r.problems).toEqual(["no kernel IPsec policy for the tunnel(s) to kube-ovn-worker, kube-ovn-worker2"]);
        expect(r.ready).toBe(false);
    });

    it("OVSDB keys pointing away from our files, a changed key file, a wrong key mode: each named", () => {
        const r = evaluateNode(expect1(), observed({ otherConfig: { ...ours, certificate: "/etc/ipsec.d/certs/theirs.pem" }, files: { certificate: "ok", private_key: "changed", ca_cert: "ok" }, privateKeyMode: "644" }));
        expect(r.problems).toEqual(["OVSDB other_config does not point at the files kube-ovn-ipsec installed", `${ours.private_key} was changed`, "the private key file has mode 644, not 600"]);
        expect(r.configIntact).toBe(false);
    });

    it("a node that cannot be read is unknown, with the reason, never healthy", () => {
        const r = evaluateNode(expect1(), { ...observed(), reachable: false, error: '[kube-ovn-control-plane] step "observe" failed: no answer within 30s (killed)' });
        expect(r).toMatchObject({ health: "unknown", ready: false, configIntact: false, tunnels: [] });
        expect(r.problems[0]).toContain("no answer within 30s");
        expect(r.impact).toMatch(/^it is unknown whether Geneve traffic/);
    });

    it("tunnels to nodes outside the stack are counted, not detailed", () => {
        const r = evaluateNode(expect1({ peers: [peers[0]] }), observed());
        expect(r.tunnels.map((t) => t.peerNode)).toEqual(["kube-ovn-worker"]);
        expect(r.otherTunnels).toBe(1);
    });

    it("disabled: problems with the kept certificates are still reported, with what to do", () => {
        const r = evaluateNode(expect1({ enabled: false }), { ...afterRestart(), tunnelsShow: { ok: false, text: "", truncated: false } });
        expect(r.health).toBe("disabled");
        expect(r.impact).toBe("IPsec is off cluster-wide (enabled: false): Geneve traffic is not encrypted");
        expect(r.problems).toContain("kube-ovn-ipsec's certificate files are not on the node (its /etc/ipsec.d was reset, e.g. by a pod restart)");
        expect(r.action).toMatch(/^run `pulumi up`/);
        expect(r.ready).toBe(false);
    });
});

describe("evaluateNode, against the survivors of the second mutation run (2026-12-03)", () => {
    const manyPeers = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `peer-${String(i).padStart(2, "0")}`, systemId: `sid-${i}` }));

    it("an unreadable node: unknown, with the reason, no warnings, what to check, and every peer missing", () => {
        const r = evaluateNode(expect1({ failClosed: true }), { ...observed(), reachable: false, error: null });
        expect(r).toMatchObject({
            health: "unknown",
            problems: ["the node cannot be read: unknown error"],
            warnings: [],
            action: "check the node's ovs-ovn pod (kubectl -n kube-system get pods -l app=ovs -o wide) and run `pulumi up` again",
            guard: { wanted: true, installed: false, drops: 0 },
            missingPeers: peers.map((p) => p.name),
            ready: false,
        });
        expect(describeNode(r)).toBe("kube-ovn-control-plane: unknown: unknown error");
        expect(evaluateNode(expect1({ enabled: false }), { ...observed(), reachable: false, error: "gone" }).missingPeers).toEqual([]);
    });

    it("the guard's warning about Geneve interfaces it cannot cover, only when the guard is wanted", () => {
        const invalid = { ...observed().guard, jumps: 1, chain: true, addresses: ["10.99.0.12", "10.99.0.13"], invalid: ["peer.example", "fe80::1%eth0"] };
        const wanted = evaluateNode(expect1({ failClosed: true }), observed({ guard: invalid }));
        expect(wanted.warnings).toEqual(['Geneve interfaces with remote addresses that are not IP addresses are not covered by the fail-closed guard: "peer.example", "fe80::1%eth0"']);
        expect(evaluateNode(expect1({ failClosed: true }), observed({ guard: { ...invalid, invalid: [] } })).warnings).toEqual([]);
        expect(evaluateNode(expect1({ failClosed: false }), observed({ guard: { ...invalid, jumps: 0, chain: false } })).warnings).toEqual([]);
    });

    it("lists at most 10 names, then how many more", () => {
        const unconfiguredTo = (n: number) => evaluateNode(expect1({ peers: manyPeers(n) }), observed()).problems.find((p) => p.startsWith("no CONFIGURED IPsec tunnel to "));
        const names = (n: number) => manyPeers(n).map((p) => p.name);
        expect(unconfiguredTo(10)).toBe(`no CONFIGURED IPsec tunnel to ${names(10).join(", ")}`);
        expect(unconfiguredTo(12)).toBe(`no CONFIGURED IPsec tunnel to ${names(10).join(", ")} and 2 more`);
    });
});

describe("describeNode, against the survivors of the third mutation run (2026-12-04)", () => {
    const healthy = evaluateNode(expect1(), observed());

    it("the IKE daemon's state, the tunnels listed when none are expected, the warnings", () => {
        // Disabled, with tunnels still listed: those of ours, those left out of the table, and
        // those to nodes outside the stack are all counted.
        expect(healthy.tunnels.length).toBe(2);
        const listed: NodeStatusReport = { ...healthy, expectedTunnels: 0, tunnelsOmitted: 4, otherTunnels: 3, ikeDaemonRunning: false, warnings: ["w1", "w2"], impact: undefined };
        expect(describeNode(listed)).toBe(
            `kube-ovn-control-plane: ${healthy.tunnels.length + 4 + 3} IPsec tunnels listed (ovs-monitor-ipsec running, IKE daemon NOT running, IKE SAs up 0, CHILD SAs installed 0) warnings: w1; w2`,
        );
    });

    it("at most five tunnels that are not configured, each with its reason when it has one", () => {
        const base = healthy.tunnels[0];
        const bad = Array.from({ length: 7 }, (_, i) => ({ ...base, interface: `ovn-bad${i}-0`, state: i % 2 === 0 ? ("INVALID" as const) : ("REMOVED" as const), stateDetail: i % 2 === 0 ? `reason ${i}` : undefined }));
        const r: NodeStatusReport = { ...healthy, tunnels: [...healthy.tunnels, ...bad] };
        expect(describeNode(r)).toBe(
            "kube-ovn-control-plane: 2/2 tunnels CONFIGURED, 0/2 established (ovs-monitor-ipsec running, IKE daemon running, IKE SAs up 0, CHILD SAs installed 0) " +
                "not configured: ovn-bad0-0 INVALID (reason 0); ovn-bad1-0 REMOVED; ovn-bad2-0 INVALID (reason 2); ovn-bad3-0 REMOVED; ovn-bad4-0 INVALID (reason 4)",
        );
    });

    it("several problems joined with '; '", () => {
        const down = evaluateNode(expect1(), observed({ monitorRunning: false, ikeDaemonRunning: false }));
        expect(describeNode(down)).toContain("missing: ovs-monitor-ipsec is not running; the IKE daemon (strongSwan charon) is not running =>");
    });
});

describe("evaluateNode, against the survivors of the third mutation run (2026-12-04)", () => {
    const n1Tunnels = fixture("tunnels-show-3node-configured-n1.txt");
    // Both peers with an ESTABLISHED IKE SA and INSTALLED CHILD SAs both ways.
    const bothEstablished = fixture("ipsec-status-child-installed-handmade.txt");
    const WORKER_SID = peers[0].systemId;

    it("an unknown key mode is shown as '?'", () => {
        expect(evaluateNode(expect1(), observed({ privateKeyMode: null })).problems).toEqual(["the private key file has mode ?, not 600"]);
    });

    it("with every peer established, ready for `established`; an IKE SA still CONNECTING establishes nothing", () => {
        const all = evaluateNode(expect1({ waitFor: "established" }), observed({}, n1Tunnels, bothEstablished));
        expect([all.established, all.ready, all.tunnels.every((t) => t.ikeEstablished && t.established)]).toEqual([2, true, true]);
        const connecting = bothEstablished.replace("ovn-8ecc6b-0-in-1[1]: ESTABLISHED 12 minutes ago,", "ovn-8ecc6b-0-in-1[1]: CONNECTING,");
        const r = evaluateNode(expect1({ waitFor: "established" }), observed({}, n1Tunnels, connecting));
        expect(r.tunnels.map((t) => [t.remoteName, t.ikeEstablished]).sort()).toEqual([[peers[1].systemId, true], [WORKER_SID, false]].sort());
        expect([r.established, r.ready]).toEqual([1, false]);
    });

    it("a tunnel whose reply names no remote IP is matched to its IKE SA by the peer's identity alone", () => {
        const noIp = n1Tunnels.replace("  Remote IP:      10.99.0.12", "  Remote IP:      None");
        const r = evaluateNode(expect1(), observed({}, noIp, bothEstablished));
        const toWorker = r.tunnels.find((t) => t.remoteName === WORKER_SID);
        expect([toWorker?.remoteIp, toWorker?.ikeEstablished]).toEqual([undefined, true]);
    });

    it("a tunnel that is not CONFIGURED is not established, whatever strongSwan has for it", () => {
        const init = n1Tunnels.replace("Interface name: ovn-8ecc6b-0 v1 (CONFIGURED)", "Interface name: ovn-8ecc6b-0 v1 (INIT)");
        const r = evaluateNode(expect1({ waitFor: "established" }), observed({}, init, bothEstablished));
        const toWorker = r.tunnels.find((t) => t.remoteName === WORKER_SID);
        expect([toWorker?.state, toWorker?.ikeEstablished, toWorker?.childSasInstalled, toWorker?.established]).toEqual(["INIT", true, 2, false]);
        expect(r.ready).toBe(false);
    });

    it("`established` is not ready on a node that is not protected, or whose tunnels lack forced encapsulation, even with every peer established", () => {
        const unguarded = evaluateNode(expect1({ waitFor: "established", failClosed: true }), observed({}, n1Tunnels, bothEstablished));
        expect([unguarded.health, unguarded.established, unguarded.ready]).toEqual(["notProtected", 2, false]);
        const unforced = evaluateNode(expect1({ waitFor: "established", natTraversal: true }), observed({}, n1Tunnels, bothEstablished));
        expect([unforced.health, unforced.established, unforced.ready]).toEqual(["protected", 2, false]);
    });

});
