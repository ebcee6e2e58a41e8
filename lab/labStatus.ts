/**
 * Driving the lab from TypeScript (the demo, tests, benchmark): run lab.sh, read its status
 * (`lab.sh status --json`), and the command access that points the product at its pods.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import type { CommandAccess } from "../components";

export const REPO = path.resolve(__dirname, "..");
/** The Kube-OVN release the lab stands in for (lab.sh writes the same into stacks/Pulumi.lab.yaml). */
export const LAB_KUBE_OVN_VERSION = "v1.12.35";
const LAB = path.join(REPO, "lab", "lab.sh");

export interface LabNode {
    name: string;
    systemId: string;
    ip: string;
    target: string;
    pid1: number;
}

export interface LabStatus {
    up: boolean;
    stateDir: string;
    prefix: string[];
    /** The lab's Linux bridge (every pod's eth0 is a port of it): where tests watch the wire. */
    bridge: { netns: string; device: string };
    central: { target: string; ip: string };
    nodes: LabNode[];
}

export interface Run {
    status: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    ms: number;
}

export function run(file: string, args: string[], input?: string, timeoutMs = 120_000): Run {
    const t0 = Date.now();
    const r = spawnSync(file, args, { input, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

export function lab(...args: string[]): Run {
    return run("bash", [LAB, ...args]);
}

/** A lab command that must succeed (its log, on stderr, is shown if it fails). */
export function labOk(...args: string[]): Run {
    const r = lab(...args);
    if (r.status !== 0) throw new Error(`lab ${args.join(" ")} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r;
}

export function labStatus(): LabStatus {
    return JSON.parse(labOk("status", "--json").stdout) as LabStatus;
}

export function labAccess(status: LabStatus, nodes: readonly LabNode[] = status.nodes): CommandAccess {
    return {
        prefix: status.prefix,
        targets: { central: status.central.target, nodes: Object.fromEntries(nodes.map((n) => [n.name, n.target])) },
        // The lab plays a Kube-OVN v1.12 cluster (the last release line this tool applies to).
        kubeOvnVersion: LAB_KUBE_OVN_VERSION,
    };
}
