/** The per-node dynamic resource, as the program sees it (the work is in nodeIpsecProvider). */
import * as pulumi from "@pulumi/pulumi";
import { ExecPolicy, ResolvedAccess } from "../transport/access";
import { NodeLiveState, nodeIpsecProvider } from "./nodeIpsecProvider";

export interface NodeIpsecArgs {
    node: string;
    systemId: string;
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
    caCertPem: pulumi.Input<string>;
    certPem: pulumi.Input<string>;
    /** Must be a secret Output: it is stored encrypted and sent only on stdin. */
    privateKeyPem: pulumi.Input<string>;
}

export class NodeIpsec extends pulumi.dynamic.Resource {
    // `declare`: an ES2022 class field would reset what the base constructor set up.
    declare readonly node: pulumi.Output<string>;
    declare readonly systemId: pulumi.Output<string>;
    declare readonly certificatePath: pulumi.Output<string>;
    declare readonly privateKeyPath: pulumi.Output<string>;
    declare readonly caCertPath: pulumi.Output<string>;
    declare readonly certSha256: pulumi.Output<string>;
    declare readonly startedMonitor: pulumi.Output<boolean>;
    declare readonly startedIkeDaemon: pulumi.Output<boolean>;
    declare readonly live: pulumi.Output<NodeLiveState>;

    constructor(name: string, args: NodeIpsecArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            nodeIpsecProvider,
            name,
            {
                ...args,
                privateKeyPem: pulumi.secret(args.privateKeyPem),
                certificatePath: undefined,
                privateKeyPath: undefined,
                caCertPath: undefined,
                certSha256: undefined,
                caCertSha256: undefined,
                privateKeyFileSha256: undefined,
                startedMonitor: undefined,
                startedIkeDaemon: undefined,
                previous: undefined,
                live: undefined,
            },
            { ...opts, additionalSecretOutputs: ["privateKeyPem", "privateKeyFileSha256"] },
            "kube-ovn-ipsec",
            "NodeIpsec",
        );
    }
}
