/** The two cluster-wide stages of a CA change as resources (see caTrustProvider.ts). */
import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../dynamic/providerStub";
import { InputsOf } from "../util/inputs";
import { CaStageInputs, caRetireProvider, caTrustProvider } from "./caTrustProvider";

export type CaStageArgs = InputsOf<CaStageInputs>;

/** Every node trusts the current CA (and a joining node every CA still in use) before any NodeIpsec runs. */
export class CaTrust extends pulumi.dynamic.Resource {
    /** The current CA first, then any other a node may still need (caTrustProvider.ts CaTrustOutputs). */
    declare readonly trustedCas: pulumi.Output<string[]>;
    constructor(name: string, args: CaStageArgs, opts?: pulumi.CustomResourceOptions) {
        super(providerStub("CaTrust", caTrustProvider), name, { ...args, trustedCas: undefined }, opts, "kube-ovn-ipsec", "CaTrust");
    }
}

/** After every NodeIpsec: the CAs no node's certificate is signed by any more are removed. */
export class CaRetire extends pulumi.dynamic.Resource {
    constructor(name: string, args: CaStageArgs, opts?: pulumi.CustomResourceOptions) {
        super(providerStub("CaRetire", caRetireProvider), name, args, opts, "kube-ovn-ipsec", "CaRetire");
    }
}
