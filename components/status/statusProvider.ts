/**
 * Dynamic provider of the status resource: on create/update it waits (per `waitFor`) for every
 * node and records per-node, per-peer status as outputs; `pulumi refresh` re-reads it without
 * waiting. On timeout it fails with what each node reached (the last recorded status stays).
 */
import type * as pulumi from "@pulumi/pulumi";
import { CollectRequest, collectStatus } from "./collectStatus";
import { NodeStatusReport, StatusSummary, describeNode, summarize } from "./nodeStatus";

export interface IpsecStatusInputs extends Omit<CollectRequest, "deadline"> {
    timeoutSeconds: number;
    /** Changes whenever a node or the switch changed: the status is then read again. */
    generation: string;
}

export interface IpsecStatusOutputs extends IpsecStatusInputs {
    reports: NodeStatusReport[];
    summary: StatusSummary;
    observedAt: string;
}

const STATUS_ID = "status";

async function observe(inputs: IpsecStatusInputs, wait: boolean): Promise<IpsecStatusOutputs> {
    const waitFor = wait ? inputs.waitFor : "none";
    const reports = await collectStatus({
        access: inputs.access,
        exec: inputs.exec,
        parallelism: inputs.parallelism,
        nodes: inputs.nodes,
        enabled: inputs.enabled,
        waitFor,
        deadline: Date.now() + inputs.timeoutSeconds * 1000,
    });
    return { ...inputs, reports, summary: summarize(reports, inputs.enabled, inputs.waitFor), observedAt: new Date().toISOString() };
}

/** Waits; if the condition is not met, fails with a per-node account (and keeps the status). */
async function observeAndWait(inputs: IpsecStatusInputs): Promise<IpsecStatusOutputs> {
    const outs = await observe(inputs, true);
    if (inputs.waitFor === "none" || outs.summary.ready) return outs;
    const target = inputs.enabled ? `"${inputs.waitFor}"` : `"disabled" (no IPsec tunnel left)`;
    const lines = outs.reports.filter((r) => !r.ready).map(describeNode);
    const message =
        `IPsec status did not reach ${target} on ${lines.length} of ${outs.reports.length} node(s) within ${inputs.timeoutSeconds}s:\n  ` +
        lines.join("\n  ") +
        (inputs.waitFor === "established"
            ? "\n  what to do: check that UDP 500/4500 pass between nodes and the kernel supports ESP; or use waitFor: configured"
            : "\n  what to do: check the nodes above (kubectl exec ... ovs-appctl -t ovs-monitor-ipsec tunnels/show), then run again");
    // A plain error on purpose. An "initialization failure" (error with id + properties) would
    // let the engine record the status anyway, but the host sends those properties in one
    // HTTP/2 header (limit ~64 KB) and would drop the connection for a large cluster's status.
    throw new Error(message);
}

export const ipsecStatusProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: IpsecStatusOutputs, news: IpsecStatusInputs) {
        const keys: Array<keyof IpsecStatusInputs> = ["access", "exec", "parallelism", "nodes", "enabled", "waitFor", "timeoutSeconds", "generation"];
        return { changes: keys.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])) };
    },
    async create(inputs: IpsecStatusInputs) {
        return { id: STATUS_ID, outs: await observeAndWait(inputs) };
    },
    async update(_id: string, _olds: IpsecStatusOutputs, news: IpsecStatusInputs) {
        return { outs: await observeAndWait(news) };
    },
    async read(id: string, props: IpsecStatusOutputs) {
        return { id, props: await observe(props, false) };
    },
    // Status is only observed: nothing to undo.
    async delete() {},
};
