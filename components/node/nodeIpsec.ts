/** The per-node dynamic resource, as the program sees it (the work is in nodeIpsecProvider). */
import * as pulumi from "@pulumi/pulumi";
import { InputsOf } from "../util/inputs";
import { NodeInstalled, NodeIpsecInputs, NodeLiveState, nodeIpsecProvider } from "./nodeIpsecProvider";

/** `privateKeyPem` is wrapped as a secret here whatever is passed: stored encrypted, sent on stdin. */
export type NodeIpsecArgs = InputsOf<NodeIpsecInputs>;

export class NodeIpsec extends pulumi.dynamic.Resource {
    // `declare`: an ES2022 class field would reset what the base constructor set up.
    declare readonly node: pulumi.Output<string>;
    declare readonly systemId: pulumi.Output<string>;
    declare readonly installed: pulumi.Output<NodeInstalled>;
    declare readonly live: pulumi.Output<NodeLiveState>;

    constructor(name: string, args: NodeIpsecArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            nodeIpsecProvider,
            name,
            {
                ...args,
                privateKeyPem: pulumi.secret(args.privateKeyPem),
                installed: undefined,
                privateKeyFileSha256: undefined,
                live: undefined,
            },
            { ...opts, additionalSecretOutputs: ["privateKeyPem", "privateKeyFileSha256"] },
            "kube-ovn-ipsec",
            "NodeIpsec",
        );
    }
}
