/**
 * Concurrency and idempotency on the lab: `parallelism` bounds the commands running at once,
 * and a run with no change executes nothing on any node and reports no diff (with refresh,
 * only read-only commands run).
 */
import { Harness } from "../../tools/engine/engine";
import { ExecProxy } from "../support/execProxy";
import { LabStatus, freshLab, labAccess, labOk } from "../support/lab";
import { configFor } from "../support/node";

jest.setTimeout(240_000);

let lab: LabStatus;
const proxy = new ExecProxy();
const config = (parallelism: number) => configFor(lab, { access: proxy.wrap(labAccess(lab)), parallelism });
const onNodes = () => (r: { target: string }) => r.target !== lab.central.target;

beforeAll(() => {
    lab = freshLab(3);
});
afterAll(() => labOk("down"));

describe("parallelism", () => {
    it.each([1, 2, 3])("with parallelism %i, at most that many commands run on nodes at once", async (parallelism) => {
        const h = new Harness({ stack: `parallel-${parallelism}` });
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
        h = new Harness({ stack: "idempotent" });
        await h.up({ config: config(10) });
    });
    afterAll(async () => {
        await h.destroy();
        await h.close();
    });

    it("a second run with no change executes nothing on any node and reports no diff", async () => {
        proxy.clear();
        const again = await h.up({ config: config(10) });
        expect(proxy.records()).toEqual([]);
        const dynamic = again.steps.filter((s) => s.type.startsWith("pulumi-nodejs:dynamic"));
        expect(dynamic.length).toBe(lab.nodes.length + 3);
        expect(dynamic.filter((s) => s.op !== "same")).toEqual([]);
        expect(again.journal.filter((j) => ["create", "update", "delete"].includes(j.op) && !j.emulated)).toEqual([]);
    });

    it("with refresh, only read-only commands run, and still nothing differs", async () => {
        proxy.clear();
        await h.refresh();
        const reads = proxy.records();
        // One read per node (its configuration) and one per node (status), one on the central (switch).
        expect(reads.filter(onNodes())).toHaveLength(2 * lab.nodes.length);
        expect(reads.filter((r) => r.target === lab.central.target)).toHaveLength(1);
        // Read-only: no script that writes, sets or starts anything.
        for (const r of reads) expect(r.argv).not.toMatch(/vsctl set |vsctl remove |nbctl [^\n]*\bset |run_service "\$ST"|awk -v ca=|mv -f /);
        proxy.clear();
        const after = await h.up({ config: config(10) });
        expect(after.steps.filter((s) => s.type.startsWith("pulumi-nodejs:dynamic") && s.op !== "same")).toEqual([]);
        expect(proxy.records()).toEqual([]);
    });
});
