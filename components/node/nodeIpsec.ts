/** The per-node dynamic resource, as the program sees it (the work is in nodeIpsecProvider). */
import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../dynamic/providerStub";
import { InputsOf } from "../util/inputs";
import { NodeInstalled, NodeIpsecArgsPlain, nodeIpsecProvider } from "./nodeIpsecProvider";

/** `privateKeyPem` is wrapped as a secret here whatever is passed: stored encrypted, sent on stdin. */
export type NodeIpsecArgs = InputsOf<NodeIpsecArgsPlain>;

export class NodeIpsec extends pulumi.dynamic.Resource {
    // `declare`: an ES2022 class field would reset what the base constructor set up.
    declare readonly node: pulumi.Output<string>;
    declare readonly systemId: pulumi.Output<string>;
    declare readonly installed: pulumi.Output<NodeInstalled>;

    constructor(name: string, args: NodeIpsecArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            providerStub("NodeIpsec", nodeIpsecProvider),
            name,
            { ...args, privateKeyPem: pulumi.secret(args.privateKeyPem), installed: undefined },
            { ...opts, additionalSecretOutputs: ["privateKeyPem"] },
            "kube-ovn-ipsec",
            "NodeIpsec",
        );
    }
}
