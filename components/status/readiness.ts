/** The readiness gate as a resource, after the status (see readinessProvider.ts). */
import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../dynamic/providerStub";
import { InputsOf } from "../util/inputs";
import { ReadinessInputs, readinessProvider } from "./readinessProvider";

export class IpsecReadiness extends pulumi.dynamic.Resource {
    declare readonly ready: pulumi.Output<boolean>;

    constructor(name: string, args: InputsOf<ReadinessInputs>, opts?: pulumi.CustomResourceOptions) {
        super(providerStub("IpsecReadiness", readinessProvider), name, args, opts, "kube-ovn-ipsec", "IpsecReadiness");
    }
}
