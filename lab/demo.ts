/**
 * The main job without a Pulumi CLI: deploy the stack program to the lab (`up`), show what the
 * nodes report, turn IPsec off and on, or remove it (`destroy`). The program is started the way
 * `pulumi up` starts it (Pulumi.yaml `main` through @pulumi/pulumi/cmd/run, type-checked, a
 * preview first), and every node step runs in Pulumi's real dynamic-provider host; what the
 * Pulumi engine does around them (steps, ordering, state) is done by tools/engine. The state is
 * kept in the lab's state dir, unencrypted: this is a demo, not a backend.
 *
 *   npm run demo                  # install, lab up, deploy, print status
 *   npm run demo -- off | on      # enabled=false / true
 *   npm run demo -- refresh       # re-read status (refresh --run-program: outputs recomputed)
 *   npm run demo -- destroy       # remove IPsec from the lab nodes (the lab stays up)
 *   npm run demo -- up --kubectl  # the same through kubectl and the lab's Kubernetes API stand-in
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Access, IpsecStatus } from "../components";
import { Harness, HarnessError, HarnessState, unwrapMap } from "../tools/engine/engine";
import { labStatus } from "./labStatus";
import { configFor } from "./stackConfig";


function printStatus(status: IpsecStatus | undefined): void {
    if (!status) return;
    for (const node of status.nodes) {
        console.log(`\n${node.node} (${node.systemId}): ${node.health.toUpperCase()}, observed ${node.observedAt}`);
        console.log(`  ovs-monitor-ipsec ${node.monitorRunning ? "running" : "NOT running"}, IKE daemon ${node.ikeDaemonRunning ? "running" : "NOT running"}, IKE SAs up: ${node.ike.up}${node.guard.wanted ? `, fail-closed guard ${node.guard.installed ? `installed (${node.guard.drops} dropped)` : "MISSING"}` : ""}`);
        for (const t of node.tunnels) {
            console.log(`  ${t.interface.padEnd(14)} -> ${t.peerNode.padEnd(24)} ${t.state.padEnd(11)} ${t.localIp} -> ${t.remoteIp}  policies ${t.policies}  IKE ${t.ikeEstablished ? "ESTABLISHED" : "-"}`);
        }
        if (node.tunnels.length === 0 && node.reachable) console.log("  No tunnels configured with IPsec");
        for (const p of node.problems) console.log(`  missing: ${p}`);
        if (node.impact) console.log(`  => ${node.impact}`);
        if (node.action) console.log(`  what to do: ${node.action}`);
    }
    const s = status.summary;
    console.log(`\nsummary: ${s.nodes} nodes (${s.protectedNodes} protected, ${s.notProtectedNodes} not protected, ${s.unknownNodes} unknown), ${s.configured}/${s.tunnelsExpected} tunnels configured, ${s.established} established, ready=${s.ready}`);
}

/** kubectl access through the lab's Kubernetes API stand-in (started by `lab.sh kubeconfig`). */
function kubectlAccess(): Access {
    const out = execFileSync("bash", [path.join(__dirname, "lab.sh"), "kubeconfig"], { encoding: "utf8" }).trim().split("\n");
    return { kubectl: { kubeconfig: out[out.length - 1], context: "kube-ovn-ipsec-lab" } };
}

async function main(command: string): Promise<void> {
    const lab = labStatus();
    if (!lab.up) throw new Error("the lab is not up: run `npm run lab -- up` first");
    const stateFile = path.join(lab.stateDir, "demo-state.json");
    const state = fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, "utf8")) as HarnessState) : undefined;
    const h = new Harness({ stack: "lab", state });
    const viaKubectl = process.argv.includes("--kubectl");
    const config = configFor(lab, { enabled: command !== "off", ...(viaKubectl ? { access: kubectlAccess() } : {}) });
    const started = Date.now();
    try {
        if (command === "up" || command === "on" || command === "off") {
            const result = await h.up({ config });
            const counts = new Map<string, number>();
            for (const s of result.preview?.steps ?? []) if (s.op !== "same") counts.set(s.op, (counts.get(s.op) ?? 0) + 1);
            console.log(`preview: ${counts.size === 0 ? "no changes" : [...counts].map(([op, n]) => `${n} to ${op}`).join(", ")}`);
            printStatus(result.outputs.status as IpsecStatus);
        } else if (command === "refresh") {
            // `pulumi refresh --run-program`: the stack outputs are recomputed from what was read.
            await h.refresh({ config, runProgram: true });
            const stack = h.state.resources.find((r) => r.kind === "stack");
            printStatus(stack ? (unwrapMap(stack.outputs).status as IpsecStatus) : undefined);
        } else if (command === "destroy") {
            await h.destroy({ config });
            console.log("IPsec removed from every lab node: other_config, services and nb_global ipsec as they were before");
        } else {
            throw new Error(`unknown command ${command}: use up | on | off | refresh | destroy`);
        }
        console.log(`\n${command} took ${((Date.now() - started) / 1000).toFixed(1)}s. Look at a node yourself:\n  npm run -s lab -- exec ${lab.nodes[0]?.name ?? "kube-ovn-worker"} -- ovs-appctl -t ovs-monitor-ipsec tunnels/show`);
    } catch (e) {
        if (!(e instanceof HarnessError)) throw e;
        console.error(e.message);
        // A failed wait still recorded what the nodes showed at the end of this run.
        const recorded = h.state.resources.find((r) => r.name === "kube-ovn-ipsec-status");
        if (recorded && command !== "destroy") {
            const o = unwrapMap(recorded.outputs) as { reports?: IpsecStatus["nodes"]; summary?: IpsecStatus["summary"] };
            if (o.reports && o.summary) printStatus({ nodes: o.reports, summary: o.summary });
        }
        process.exitCode = 1;
    } finally {
        fs.writeFileSync(stateFile, JSON.stringify(h.snapshot()), { mode: 0o600 });
        await h.close();
    }
}

main(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "up").catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
});
