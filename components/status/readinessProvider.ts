/**
 * Dynamic provider of the readiness gate: fails the `up` when the status just observed does not
 * meet `waitFor`, with the per-node account. No I/O: the status resource before it did the
 * reading and recorded it, so a failed wait never leaves an earlier observation in place.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { WaitFor } from "../args";

export interface ReadinessInputs {
    waitFor: WaitFor;
    enabled: boolean;
    timeoutSeconds: number;
    ready: boolean;
    /** describeNode() of every node that is not ready. */
    unready: string[];
    nodes: number;
}

function check(inputs: ReadinessInputs): ReadinessInputs {
    if (inputs.waitFor === "none" || inputs.ready) return inputs;
    const target = inputs.enabled ? `"${inputs.waitFor}"` : `"disabled" (no IPsec tunnel left)`;
    throw new Error(
        `IPsec status did not reach ${target} on ${inputs.unready.length} of ${inputs.nodes} node(s) within ${inputs.timeoutSeconds}s:\n  ` +
            inputs.unready.join("\n  ") +
            (inputs.waitFor === "established"
                ? "\n  what to do: check that UDP 500/4500 pass between nodes and the kernel supports ESP; or use waitFor: configured"
                : "\n  what to do: fix what is listed above for each node (the status output has the same account), then run `pulumi up` again"),
    );
}

export const readinessProvider: pulumi.dynamic.ResourceProvider = {
    // A gate that is not met is checked (and fails) on every run; a met one only when its inputs move.
    async diff(_id: string, olds: ReadinessInputs, news: ReadinessInputs) {
        const keys: Array<keyof ReadinessInputs> = ["waitFor", "enabled", "timeoutSeconds", "ready", "unready", "nodes"];
        return { changes: !news.ready || keys.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])) };
    },
    async create(inputs: ReadinessInputs) {
        return { id: "readiness", outs: check(inputs) };
    },
    async update(_id: string, _olds: ReadinessInputs, news: ReadinessInputs) {
        return { outs: check(news) };
    },
    async delete() {},
};
