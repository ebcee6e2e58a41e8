/**
 * The byte length of a checkpoint as JSON (what a file backend writes after each step), without
 * serializing the whole state every time: resources are the same objects from one checkpoint to
 * the next, so each one's size is computed once (again only when its outputs object was
 * replaced: registerResourceOutputs). Equal to `Buffer.byteLength(JSON.stringify(state))`
 * (checked on every checkpoint by test/engine/harness.test.ts); linear in the changes instead of quadratic in N, which is
 * what makes the 1000-node row of the benchmark possible.
 */
import type { HarnessState, ResourceState } from "./types";

export class CheckpointSizer {
    private readonly sizes = new WeakMap<ResourceState, { outputs: unknown; bytes: number }>();

    bytes(state: HarnessState): number {
        let resources = 0;
        for (const r of state.resources) resources += this.resourceBytes(r);
        // The state with an empty resource list, then the resources and the commas between them.
        const rest = Buffer.byteLength(JSON.stringify({ ...state, resources: [] }));
        return rest + resources + Math.max(0, state.resources.length - 1);
    }

    private resourceBytes(r: ResourceState): number {
        const known = this.sizes.get(r);
        if (known && known.outputs === r.outputs) return known.bytes;
        const bytes = Buffer.byteLength(JSON.stringify(r));
        this.sizes.set(r, { outputs: r.outputs, bytes });
        return bytes;
    }
}
