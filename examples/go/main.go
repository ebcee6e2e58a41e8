// KubeOvnIpsec from Go. Set up (README, "Other languages"):
//
//	pulumi package add <git URL of kube-ovn-ipsec>[@<tag>]   # generates the SDK and prints the `go mod edit -replace` line for it
//	npm install                                             # this directory's package.json (pulumi/pulumi#5455)
//
// Not run here (no Pulumi CLI, so no generated SDK): the import path is the one the command
// prints; the names follow Pulumi's Go codegen of schema.json (every input of the component is
// plain, so plain Go values and pointers, not pulumi.Input types).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	kubeovnipsec "example.com/pulumi-kube-ovn-ipsec/sdk/go/kubeovnipsec"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		kubeContext := "prod"
		namespace := "kube-system"
		ipsec, err := kubeovnipsec.NewKubeOvnIpsec(ctx, "ipsec", &kubeovnipsec.KubeOvnIpsecArgs{
			Nodes: []kubeovnipsec.NodeSpec{
				{Name: "node-a", SystemId: "8aebd9df-46ef-47b9-85e3-73e9a765296d"},
				{Name: "node-b", SystemId: "0f4c3c5e-8a43-4a7c-9f0e-2b1d5c6e7a8b"},
			},
			Access: &kubeovnipsec.Access{Kubectl: &kubeovnipsec.KubectlAccess{Context: &kubeContext, Namespace: &namespace}},
		})
		if err != nil {
			return err
		}
		ctx.Export("enabled", ipsec.Enabled)
		ctx.Export("nodes", ipsec.Nodes)
		return nil
	})
}
