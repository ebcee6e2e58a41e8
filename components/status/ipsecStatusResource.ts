/** Tunnel status as a resource: observed on every up (waiting per waitFor) and on refresh. */
import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../dynamic/providerStub";
import { InputsOf } from "../util/inputs";
import type { NodeStatusReport, StatusSummary } from "./nodeStatus";
import { IpsecStatusInputs, ipsecStatusProvider } from "./statusProvider";

export type IpsecStatusArgs = InputsOf<IpsecStatusInputs>;

export class IpsecStatusResource extends pulumi.dynamic.Resource {
    declare readonly reports: pulumi.Output<NodeStatusReport[]>;
    declare readonly summary: pulumi.Output<StatusSummary>;
    declare readonly unready: pulumi.Output<string[]>;
    declare readonly observedAt: pulumi.Output<string>;

    constructor(name: string, args: IpsecStatusArgs, opts?: pulumi.CustomResourceOptions) {
        super(providerStub("IpsecStatus", ipsecStatusProvider), name, { ...args, reports: undefined, summary: undefined, unready: undefined, observedAt: undefined }, opts, "kube-ovn-ipsec", "IpsecStatus");
    }
}
