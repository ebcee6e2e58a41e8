/** `nb_global ipsec` as a resource, created after every node resource. */
import * as pulumi from "@pulumi/pulumi";
import { ExecPolicy, ResolvedAccess } from "../transport/access";
import { ipsecSwitchProvider } from "./ipsecSwitchProvider";

export interface IpsecSwitchArgs {
    enabled: boolean;
    access: ResolvedAccess;
    exec: ExecPolicy;
}

export class IpsecSwitch extends pulumi.dynamic.Resource {
    /** The live value of nb_global ipsec (after apply, or as refreshed). */
    declare readonly enabled: pulumi.Output<boolean>;
    declare readonly before: pulumi.Output<boolean>;

    constructor(name: string, args: IpsecSwitchArgs, opts?: pulumi.CustomResourceOptions) {
        super(ipsecSwitchProvider, name, { ...args, before: undefined }, opts, "kube-ovn-ipsec", "IpsecSwitch");
    }
}
