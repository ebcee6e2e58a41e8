/**
 * An `up` killed between two steps, as a killed CLI (issue 14, item 3): the state is what was
 * saved after the last finished step, the operations in flight are pending, and the program and
 * provider host die with whatever they were running on the nodes. The next `up` must converge,
 * and a later `destroy` must still leave every node as it was before us. Interrupted at a few
 * points of an enable on 2 lab nodes: inside the key/certificate steps, right after the first
 * node step (the other one in flight or not started), right after the IPsec switch.
 */
import { Harness, HarnessError, StepRecord } from "../../tools/engine/engine";
import { LabNode, LabStatus, freshLab, labOk } from "../support/lab";
import { configFor, nbIpsec, otherConfig, ourFiles, servicePids } from "../support/node";

jest.setTimeout(300_000);

let lab: LabStatus;
let pristine: { nb: string; nodes: Array<ReturnType<typeof viewOf>> };
let reference: StepRecord[];

const viewOf = (n: LabNode) => ({ conf: otherConfig(lab, n.name), files: ourFiles(lab, n.name), pids: servicePids(lab, n.name) });
const views = () => ({ nb: nbIpsec(lab), nodes: lab.nodes.map(viewOf) });
const isNodeStep = (s: StepRecord) => s.type.endsWith(":NodeIpsec");

beforeAll(async () => {
    lab = freshLab(2);
    pristine = views();
    // A reference enable: where the interesting steps fall in the order of steps.
    const h = new Harness({ stack: "interrupted" });
    reference = (await h.up({ config: configFor(lab), skipPreview: true })).steps;
    await h.destroy();
    expect(views()).toEqual(pristine);
});
afterAll(() => labOk("down"));

const points: Array<[string, (steps: StepRecord[]) => number]> = [
    ["inside the key and certificate steps", () => 3],
    ["right after the first node step", (steps) => steps.findIndex(isNodeStep) + 1],
    ["right after the IPsec switch", (steps) => steps.findIndex((s) => s.type.endsWith(":IpsecSwitch")) + 1],
];

describe.each(points)("an enable interrupted %s", (_where, at) => {
    it("is saved as it was, converges on the next up, and destroy restores every node", async () => {
        const n = at(reference);
        expect(n).toBeGreaterThan(0);
        const h = new Harness({ stack: "interrupted" });
        const error = (await h.up({ config: configFor(lab), skipPreview: true, interruptAfterSteps: n }).catch((e: unknown) => e)) as HarnessError;
        expect(error).toBeInstanceOf(HarnessError);
        expect(error.interrupted).toBe(true);
        // Saved after each step: exactly the steps that ended are in the state.
        const ended = error.result.steps.filter((s) => s.ok).map((s) => s.urn);
        expect(error.result.steps).toHaveLength(n);
        for (const urn of ended) expect(h.state.resources.some((r) => r.urn === urn)).toBe(true);

        const next = await h.up({ config: configFor(lab) });
        expect(next.outputs.summary).toMatchObject({ ready: true, tunnelsExpected: 2, configured: 2 });
        expect(nbIpsec(lab)).toBe("true");
        for (const node of lab.nodes) expect(otherConfig(lab, node.name).certificate).toMatch(/\/kube-ovn-ipsec-/);

        await h.destroy();
        expect(views()).toEqual(pristine);
    });
});
