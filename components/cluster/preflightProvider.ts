/**
 * Dynamic provider of the preflight: read-only cluster checks that every node resource depends
 * on, so a cluster-level problem (no NB leader, Kube-OVN v1.13+, no OVS pods, unknown context)
 * stops the run before any node changes. It runs whenever the desired state changes
 * (`generation`), and never on a run that changes nothing.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { NodeSpec } from "../args";
import { ExecPolicy, ResolvedAccess } from "../transport/access";
import { checkCluster } from "./clusterChecks";

export interface PreflightInputs {
    access: ResolvedAccess;
    exec: ExecPolicy;
    nodes: NodeSpec[];
    /** A digest of everything the run will apply: a new value means "check again". */
    generation: string;
}

export interface PreflightOutputs extends PreflightInputs {
    kubeOvnVersion: string | null;
    nbIpsecBefore: boolean | null;
}

async function run(inputs: PreflightInputs): Promise<PreflightOutputs> {
    const facts = await checkCluster(inputs.access, inputs.nodes, inputs.exec);
    return { ...inputs, kubeOvnVersion: facts.kubeOvnVersion, nbIpsecBefore: facts.nbIpsec };
}

export const preflightProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: PreflightOutputs, news: PreflightInputs) {
        return { changes: olds.generation !== news.generation || JSON.stringify([olds.access, olds.exec, olds.nodes]) !== JSON.stringify([news.access, news.exec, news.nodes]) };
    },
    async create(inputs: PreflightInputs) {
        return { id: "preflight", outs: await run(inputs) };
    },
    async update(_id: string, _olds: PreflightOutputs, news: PreflightInputs) {
        return { outs: await run(news) };
    },
    // Nothing to undo: the checks only read.
    async delete() {},
};
