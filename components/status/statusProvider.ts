/**
 * Dynamic provider of the status resource. Its outputs are observations: it reads the nodes on
 * EVERY `up` (its diff always reports a change), waiting per `waitFor` (up to timeoutSeconds)
 * for nodes that were just changed, and on `pulumi refresh`. It never fails because a node is
 * not ready: it records what it saw, and the readiness gate after it fails the run, so that
 * the state (and the stack outputs) hold this observation, never an earlier one.
 */
import type * as pulumi from "@pulumi/pulumi";
import { CollectRequest, collectStatus } from "./collectStatus";
import { NodeStatusReport, StatusSummary, describeNode, summarize } from "./nodeStatus";
import { withTunnelTable } from "./tunnelTable";

export interface IpsecStatusInputs extends Omit<CollectRequest, "deadline" | "reuse"> {
    timeoutSeconds: number;
}

export interface IpsecStatusOutputs extends IpsecStatusInputs {
    reports: NodeStatusReport[];
    summary: StatusSummary;
    /** One line per node that is not ready (what it reached, what is missing, what it means). */
    unready: string[];
    observedAt: string;
}

const STATUS_ID = "status";

async function observe(inputs: IpsecStatusInputs, wait: boolean, reuse: boolean): Promise<IpsecStatusOutputs> {
    const reports = await collectStatus({
        access: inputs.access,
        exec: inputs.exec,
        parallelism: inputs.parallelism,
        nodes: inputs.nodes,
        enabled: inputs.enabled,
        failClosed: inputs.failClosed,
        natTraversal: inputs.natTraversal,
        caFingerprint: inputs.caFingerprint,
        waitFor: wait ? inputs.waitFor : "none",
        deadline: Date.now() + inputs.timeoutSeconds * 1000,
        reuse,
    });
    const summary = summarize(reports, inputs.enabled, inputs.waitFor, inputs.caFingerprint);
    return { ...inputs, reports: withTunnelTable(reports, inputs.enabled, inputs.waitFor), summary, unready: reports.filter((r) => !r.ready).map(describeNode), observedAt: summary.observedAt || new Date().toISOString() };
}

export const ipsecStatusProvider: pulumi.dynamic.ResourceProvider = {
    // Always: what the nodes do is not a function of the inputs.
    async diff() {
        return { changes: true };
    },
    async create(inputs: IpsecStatusInputs) {
        return { id: STATUS_ID, outs: await observe(inputs, true, true) };
    },
    async update(_id: string, _olds: IpsecStatusOutputs, news: IpsecStatusInputs) {
        return { outs: await observe(news, true, true) };
    },
    async read(id: string, props: IpsecStatusOutputs) {
        return { id, props: await observe(props, false, false) };
    },
    // Status is only observed: nothing to undo.
    async delete() {},
};
