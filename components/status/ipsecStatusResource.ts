/** Tunnel status as a resource: waited for on apply, re-read on refresh. */
import * as pulumi from "@pulumi/pulumi";
import type { NodeSpec, WaitFor } from "../args";
import { ExecPolicy, ResolvedAccess } from "../transport/access";
import type { NodeStatusReport, StatusSummary } from "./nodeStatus";
import { ipsecStatusProvider } from "./statusProvider";

export interface IpsecStatusArgs {
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
    nodes: NodeSpec[];
    enabled: boolean;
    waitFor: WaitFor;
    timeoutSeconds: number;
    generation: pulumi.Input<string>;
}

export class IpsecStatusResource extends pulumi.dynamic.Resource {
    declare readonly reports: pulumi.Output<NodeStatusReport[]>;
    declare readonly summary: pulumi.Output<StatusSummary>;
    declare readonly observedAt: pulumi.Output<string>;

    constructor(name: string, args: IpsecStatusArgs, opts?: pulumi.CustomResourceOptions) {
        super(ipsecStatusProvider, name, { ...args, reports: undefined, summary: undefined, observedAt: undefined }, opts, "kube-ovn-ipsec", "IpsecStatus");
    }
}
