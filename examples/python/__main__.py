"""KubeOvnIpsec from Python. Set up (README, "Other languages"):

    pulumi package add <git URL of kube-ovn-ipsec>[@<tag>]   # generates the pulumi_kube_ovn_ipsec SDK
    npm install                                             # this directory's package.json (pulumi/pulumi#5455)

Not run here (no Pulumi CLI, so no generated SDK): the names follow Pulumi's Python codegen of
schema.json (snake_case properties, `...Args` classes, upper-case enum members).
"""
import pulumi
import pulumi_kube_ovn_ipsec as koi

ipsec = koi.KubeOvnIpsec(
    "ipsec",
    nodes=[
        koi.NodeSpecArgs(name="node-a", system_id="8aebd9df-46ef-47b9-85e3-73e9a765296d"),
        koi.NodeSpecArgs(name="node-b", system_id="0f4c3c5e-8a43-4a7c-9f0e-2b1d5c6e7a8b"),
    ],
    access=koi.AccessArgs(kubectl=koi.KubectlAccessArgs(context="prod", namespace="kube-system")),
    wait_for=koi.WaitFor.CONFIGURED,
)

pulumi.export("enabled", ipsec.enabled)
pulumi.export("summary", ipsec.status.apply(lambda s: s["summary"] if s else None))
pulumi.export("nodes", ipsec.nodes)
