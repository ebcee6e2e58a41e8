/**
 * Concurrency and idempotency on the lab: `parallelism` bounds the commands running at once,
 * and a run with no change reads each node exactly once (it observes before it decides),
 * changes nothing and reports no change but the re-observed status (with refresh, only
 * read-only commands run).
 */
import { Harness } from "../../tools/engine/engine";
import { ExecProxy } from "../support/execProxy";
import { purposeOf } from "../../components/transport/scriptKit";
import { LabNode, LabStatus, freshLab, labAccess, labOk, podOk, NO_PREVIEW } from "../support/lab";
import { configFor, otherConfig, servicePids } from "../support/node";

jest.setTimeout(240_000);

let lab: LabStatus;
const proxy = new ExecProxy();
const config = (parallelism: number) => configFor(lab, { access: { command: proxy.wrap(labAccess(lab)) }, parallelism });
const onNodes = () => (r: { target: string }) => r.target !== lab.central.target;
/** What a node's IPsec configuration is, read independently of the product (pids, files, OVSDB). */
const nodeFingerprint = (n: LabNode) => JSON.stringify([otherConfig(lab, n.name), servicePids(lab, n.name), podOk(lab, n.target, "sha256sum /etc/ipsec.d/*/kube-ovn-ipsec-* /etc/ipsec.d/kube-ovn-ipsec-* 2>/dev/null | sort")]);

beforeAll(() => {
    lab = freshLab(3);
});
afterAll(() => labOk("down"));

describe("parallelism", () => {
    it.each([1, 2, 3])("with parallelism %i, at most that many commands run on nodes at once", async (parallelism) => {
        const h = new Harness({ stack: `parallel-${parallelism}`, upDefaults: NO_PREVIEW });
        try {
            proxy.clear();
            const up = await h.up({ config: config(parallelism) });
            expect(up.outputs.summary).toMatchObject({ ready: true });
            const nodeExecs = proxy.records().filter(onNodes());
            expect(nodeExecs.length).toBeGreaterThanOrEqual(2 * lab.nodes.length); // apply + status per node
            // The bound is honoured, and reached (the nodes do run in parallel up to it).
            expect(proxy.maxConcurrent(onNodes())).toBe(parallelism);
        } finally {
            await h.destroy();
            await h.close();
        }
    });
});

describe("idempotency", () => {
    let h: Harness;
    beforeAll(async () => {
        h = new Harness({ stack: "idempotent", upDefaults: NO_PREVIEW });
        await h.up({ config: config(10) });
    });
    afterAll(async () => {
        await h.destroy();
        await h.close();
    });

    it("a second run with no change reads each node once, changes nothing, and only the status is re-observed", async () => {
        proxy.clear();
        const again = await h.up({ config: config(10) });
        const records = proxy.records();
        // Exactly one read-only command per node, and one read of nb_global on the central.
        for (const n of lab.nodes) expect(records.filter((r) => r.target === n.target).map((r) => purposeOf(r.argv))).toEqual([{ name: "observe", readOnly: true }]);
        expect(records.filter((r) => r.target === lab.central.target).map((r) => purposeOf(r.argv))).toEqual([{ name: "read-nb-global", readOnly: true }]);
        const dynamic = again.steps.filter((s) => s.type.startsWith("pulumi-nodejs:dynamic"));
        // A node step per node; preflight, CA trust, CA retire, switch, status, readiness.
        expect(dynamic.length).toBe(lab.nodes.length + 6);
        // The status is an observation: updated on every run; everything else stays.
        expect(dynamic.filter((s) => s.op !== "same").map((s) => `${s.name}:${s.op}`)).toEqual(["kube-ovn-ipsec-status:update"]);
        expect(again.journal.filter((j) => ["create", "update", "delete"].includes(j.op) && !j.emulated).map((j) => j.name)).toEqual(["kube-ovn-ipsec-status"]);
    });

    it("with refresh, only read-only commands run, and still nothing differs", async () => {
        const fingerprints = lab.nodes.map(nodeFingerprint);
        proxy.clear();
        await h.refresh();
        const reads = proxy.records();
        // One read per node (the status reads them), one on the central (the switch).
        expect(reads.filter(onNodes()).map((r) => purposeOf(r.argv))).toEqual(lab.nodes.map(() => ({ name: "observe", readOnly: true })));
        expect(reads.filter((r) => r.target === lab.central.target).map((r) => purposeOf(r.argv))).toEqual([{ name: "read-nb-global", readOnly: true }]);
        // Read-only by what the nodes show, not by the scripts' labels: nothing on them changed.
        expect(lab.nodes.map(nodeFingerprint)).toEqual(fingerprints);
        proxy.clear();
        const after = await h.up({ config: config(10) });
        expect(after.steps.filter((s) => s.type.startsWith("pulumi-nodejs:dynamic") && s.op !== "same").map((s) => s.name)).toEqual(["kube-ovn-ipsec-status"]);
        expect(proxy.records().every((r) => purposeOf(r.argv)?.readOnly === true)).toBe(true);
    });
});
