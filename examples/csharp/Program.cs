// KubeOvnIpsec from C#. Set up (README, "Other languages"):
//
//   pulumi package add <git URL of kube-ovn-ipsec>[@<tag>]   # generates the SDK and adds it to the project
//   npm install                                             # this directory's package.json (pulumi/pulumi#5455)
//
// Not run here (no Pulumi CLI, so no generated SDK): the names follow Pulumi's .NET codegen of
// schema.json (namespace Pulumi.KubeOvnIpsec, PascalCase properties, enum members as in the schema).
using System.Collections.Generic;
using Pulumi;
using Koi = Pulumi.KubeOvnIpsec;

return await Deployment.RunAsync(() =>
{
    var ipsec = new Koi.KubeOvnIpsec("ipsec", new Koi.KubeOvnIpsecArgs
    {
        Nodes =
        {
            new Koi.Inputs.NodeSpecArgs { Name = "node-a", SystemId = "8aebd9df-46ef-47b9-85e3-73e9a765296d" },
            new Koi.Inputs.NodeSpecArgs { Name = "node-b", SystemId = "0f4c3c5e-8a43-4a7c-9f0e-2b1d5c6e7a8b" },
        },
        Access = new Koi.Inputs.AccessArgs { Kubectl = new Koi.Inputs.KubectlAccessArgs { Context = "prod", Namespace = "kube-system" } },
        WaitFor = Koi.WaitFor.Configured,
    });
    return new Dictionary<string, object?>
    {
        ["enabled"] = ipsec.Enabled,
        ["nodes"] = ipsec.Nodes,
    };
});
