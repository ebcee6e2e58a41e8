/** `nb_global ipsec` as a resource, created after every node resource. */
import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../dynamic/providerStub";
import { InputsOf } from "../util/inputs";
import { IpsecSwitchArgsPlain, ipsecSwitchProvider } from "./ipsecSwitchProvider";

export type IpsecSwitchArgs = InputsOf<IpsecSwitchArgsPlain>;

export class IpsecSwitch extends pulumi.dynamic.Resource {
    /** The live value of nb_global ipsec (after apply, or as refreshed). */
    declare readonly enabled: pulumi.Output<boolean>;
    declare readonly before: pulumi.Output<boolean>;
    /** nb_global options:ipsec_forceencaps is true (after apply, or as refreshed). */
    declare readonly natTraversalLive: pulumi.Output<boolean>;
    /** What destroy will set nb_global ipsec to: the value found before kube-ovn-ipsec. */
    declare readonly restoreOnDestroy: pulumi.Output<boolean>;

    constructor(name: string, args: IpsecSwitchArgs, opts?: pulumi.CustomResourceOptions) {
        super(providerStub("IpsecSwitch", ipsecSwitchProvider), name, { ...args, before: undefined, natTraversalLive: undefined, restoreOnDestroy: undefined }, opts, "kube-ovn-ipsec", "IpsecSwitch");
    }
}
