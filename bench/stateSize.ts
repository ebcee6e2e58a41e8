/**
 * Bench item 6, state size (issue 9), from the command line; the measurements themselves are in
 * tools/engine/stateSize.ts. bench/run.ts takes the lab samples after its enables.
 *
 *   node -r @swc-node/register bench/stateSize.ts 10 100 1000          (no lab: tls and Kubernetes)
 *   flock /tmp/koi-lab-user.lock node -r @swc-node/register bench/stateSize.ts --lab 100
 *                                     (also a 3- and a 6-node lab, and the whole-state estimate)
 */
import { Harness } from "../tools/engine/engine";
import { LabStateSample, labStateSample, measureStateSize, wholeStateEstimate } from "../tools/engine/stateSize";

/** One enable on a fresh lab of n nodes (the caller holds the lab lock), then destroy. */
export async function measureLabState(n: number): Promise<LabStateSample> {
    const { freshLab, labAccess } = await import("../test/support/lab");
    const { configFor } = await import("../test/support/node");
    const lab = freshLab(n);
    const written = { bytes: 0, checkpoints: 0 };
    const h = new Harness({ stack: "state-size-lab", onCheckpoint: (_s, bytes) => ((written.bytes += bytes), written.checkpoints++) });
    try {
        await h.up({ config: configFor(lab, { access: { command: labAccess(lab) } }), skipPreview: true });
        const sample = labStateSample(h.state, n, written);
        await h.destroy();
        return sample;
    } finally {
        await h.close();
    }
}

if (require.main === module) {
    void (async () => {
        // `--lab`: also an enable on a 3- and a 6-node lab (hold /tmp/koi-lab-user.lock), and the whole-state estimate.
        const withLab = process.argv.includes("--lab");
        const sizes = process.argv.slice(2).filter((a) => !a.startsWith("--")).map(Number);
        const lab: LabStateSample[] = [];
        if (withLab) {
            for (const n of [3, 6]) lab.push(await measureLabState(n));
            (await import("../test/support/lab")).labOk("down");
            for (const x of lab) console.log(`lab N=${x.nodes}: ${x.stateBytes} bytes; ${Object.entries(x.types).map(([t, v]) => `${t.split(":").pop()} ${v.count}x ${Math.round(v.bytes / v.count)} (${Math.round(v.bytesWithoutTunnelRows / v.count)} without tunnel rows)`).join(", ")}`);
        }
        console.log("| nodes | state bytes | per node | checkpoints | bytes written over the up | time | whole state per node |\n|---|---|---|---|---|---|---|");
        for (const n of sizes.length > 0 ? sizes : [10, 100]) {
            const s = await measureStateSize(n);
            const whole = wholeStateEstimate(s, lab);
            console.log(`| ${s.nodes} | ${s.stateBytes} | ${s.bytesPerNode} | ${s.checkpoints} | ${s.bytesWritten} | ${(s.ms / 1000).toFixed(1)} s | ${whole ? whole.bytesPerNode : "(--lab)"} |`);
        }
    })();
}
