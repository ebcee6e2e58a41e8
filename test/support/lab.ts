/**
 * Driving the lab from tests: the lab's own helpers (lab/labStatus.ts), plus a fresh lab per
 * suite and scripts in its pods run exactly as the product's command transport runs them.
 */
import type { NodeSpec } from "../../components";
import { LabStatus, Run, labOk, labStatus, run } from "../../lab/labStatus";

export type { LabNode, LabStatus, Run } from "../../lab/labStatus";
export { LAB_KUBE_OVN_VERSION, REPO, lab, labAccess, labOk, labStatus, run } from "../../lab/labStatus";

/** A fresh lab with exactly `nodes` nodes. */
export function freshLab(nodes: number): LabStatus {
    labOk("down");
    labOk("up", "--nodes", String(nodes));
    return labStatus();
}

/** Runs `sh -c script` in a pod exactly as the product's command transport does. */
export function podSh(status: LabStatus, target: string, script: string, input?: string): Run {
    const argv = status.prefix.map((a) => a.split("{target}").join(target));
    return run(argv[0], [...argv.slice(1), "sh", "-c", script], input);
}

/** Like podSh, but the script must succeed; returns its stdout. */
export function podOk(status: LabStatus, target: string, script: string, input?: string): string {
    const r = podSh(status, target, script, input);
    if (r.status !== 0) throw new Error(`[${target}] ${script.slice(0, 120)} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
}

/** The lab's nodes as the component's node list. */
export function labNodes(status: LabStatus): NodeSpec[] {
    return status.nodes.map((n) => ({ name: n.name, systemId: n.systemId }));
}

/**
 * For lab tests that are not about previews: `up` as `pulumi up --skip-preview --refresh=false`.
 * Previews (and their reads) are tested where they matter (installedCopy, observed, engine);
 * skipping them elsewhere halves the program starts of a suite.
 */
export const NO_PREVIEW = { skipPreview: true, refresh: false } as const;
