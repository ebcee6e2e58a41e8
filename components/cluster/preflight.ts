/** The read-only cluster checks as a resource every node resource depends on. */
import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../dynamic/providerStub";
import { InputsOf } from "../util/inputs";
import { PreflightInputs, preflightProvider } from "./preflightProvider";

export type PreflightArgs = InputsOf<PreflightInputs>;

export class Preflight extends pulumi.dynamic.Resource {
    declare readonly kubeOvnVersion: pulumi.Output<string | null>;
    declare readonly nbIpsecBefore: pulumi.Output<boolean | null>;

    constructor(name: string, args: PreflightArgs, opts?: pulumi.CustomResourceOptions) {
        super(providerStub("Preflight", preflightProvider), name, { ...args, kubeOvnVersion: undefined, nbIpsecBefore: undefined }, opts, "kube-ovn-ipsec", "Preflight");
    }
}
