/**
 * Bench item 5 (no lab): the harness state of the stack program for N nodes, and what a file
 * backend would write over one `up` (one full snapshot after each step: `onCheckpoint`'s bytes).
 * Without a lab the `up` stops at the Preflight (every command fails: `false {target}`), so this
 * counts the tls and Kubernetes resources per node and the shared ones, not the node resources
 * (their size: test/lifecycle/installedCopy.test.ts prints it for the lab's nodes).
 *
 *   node -r @swc-node/register bench/stateSize.ts 10 100 1000
 */
import { Harness, HarnessError } from "../tools/engine/engine";

export interface StateSizeSample {
    nodes: number;
    stateBytes: number;
    bytesPerNode: number;
    checkpoints: number;
    bytesWritten: number;
    /** Resource type -> [count, mean bytes]. */
    byType: Record<string, [number, number]>;
    ms: number;
}

export async function measureStateSize(n: number): Promise<StateSizeSample> {
    const nodes = Array.from({ length: n }, (_, i) => ({ name: `node-${i}`, systemId: `sid-${i}` }));
    const targets = Object.fromEntries(nodes.map((x) => [x.name, `pod-${x.name}`]));
    const config = {
        "kube-ovn-ipsec:nodes": nodes,
        "kube-ovn-ipsec:access": { command: { prefix: ["false", "{target}"], targets: { central: "central", nodes: targets }, kubeOvnVersion: "v1.12.35" } },
        "kube-ovn-ipsec:retries": 0,
        "kube-ovn-ipsec:waitFor": "none",
    };
    let bytesWritten = 0;
    let checkpoints = 0;
    const h = new Harness({ stack: "state-size", onCheckpoint: (_state, bytes) => ((bytesWritten += bytes), checkpoints++) });
    const t0 = Date.now();
    await h.up({ config, skipPreview: true }).catch((e: unknown) => {
        if (!(e instanceof HarnessError)) throw e;
    });
    const byType: Record<string, [number, number]> = {};
    for (const r of h.state.resources) {
        const [count, mean] = byType[r.type] ?? [0, 0];
        byType[r.type] = [count + 1, (mean * count + Buffer.byteLength(JSON.stringify(r))) / (count + 1)];
    }
    const stateBytes = Buffer.byteLength(JSON.stringify(h.state));
    return { nodes: n, stateBytes, bytesPerNode: Math.round(stateBytes / n), checkpoints, bytesWritten, byType, ms: Date.now() - t0 };
}

if (require.main === module) {
    void (async () => {
        const sizes = process.argv.slice(2).map(Number);
        console.log("| nodes | state bytes | per node | checkpoints | bytes written over the up | time |\n|---|---|---|---|---|---|");
        for (const n of sizes.length > 0 ? sizes : [10, 100]) {
            const s = await measureStateSize(n);
            console.log(`| ${s.nodes} | ${s.stateBytes} | ${s.bytesPerNode} | ${s.checkpoints} | ${s.bytesWritten} | ${(s.ms / 1000).toFixed(1)} s |`);
        }
    })();
}
