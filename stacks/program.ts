/**
 * The stack program: stack config -> KubeOvnIpsec -> stack outputs. Kept apart from index.ts
 * so tests and benchmarks can run it with any config under Pulumi's mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { Access, CaOptions, CertificateOptions, KubeOvnIpsec, KubeOvnIpsecArgs, NodeSpec, WaitFor, discoverNodes } from "../components";

/**
 * Config keys read from the `kube-ovn-ipsec` namespace (see docs/CONFIG.md): the component's
 * arguments, with `nodes` optional (discovered when absent).
 */
export type StackConfig = Omit<KubeOvnIpsecArgs, "nodes"> & { nodes?: NodeSpec[] };

/**
 * How each key is read. Typed against every argument: adding one to the component without
 * reading it here is a compile error, not a silently ignored stack setting.
 */
type ConfigReaders = { [K in keyof Required<StackConfig>]: (config: pulumi.Config, key: K) => StackConfig[K] };

export function readStackConfig(config: pulumi.Config): StackConfig {
    const r: ConfigReaders = {
        enabled: (c, k) => c.getBoolean(k),
        access: (c, k) => c.getObject<Access>(k),
        nodes: (c, k) => c.getObject<NodeSpec[]>(k),
        certificate: (c, k) => c.getObject<CertificateOptions>(k),
        ca: (c, k) => c.getObject<CaOptions>(k),
        waitFor: (c, k) => c.get(k) as WaitFor | undefined,
        timeoutSeconds: (c, k) => c.getNumber(k),
        parallelism: (c, k) => c.getNumber(k),
        execTimeoutSeconds: (c, k) => c.getNumber(k),
        retries: (c, k) => c.getNumber(k),
        publishSecrets: (c, k) => c.getBoolean(k),
        failClosed: (c, k) => c.getBoolean(k),
        natTraversal: (c, k) => c.getBoolean(k),
    };
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(r) as Array<keyof StackConfig>) out[key] = (r[key] as (c: pulumi.Config, k: string) => unknown)(config, key);
    return out as StackConfig;
}

/** One row per tunnel, for `pulumi stack output tunnels`. */
export interface TunnelRow {
    node: string;
    peer: string;
    interface: string;
    state: string;
    localIp?: string;
    remoteIp?: string;
    remoteName?: string;
    ikeEstablished: boolean;
    established: boolean;
}

export async function runStack(cfg: StackConfig): Promise<Record<string, pulumi.Output<unknown>>> {
    // Without a node list, ask the cluster (read-only) which nodes run OVS and their system-ids.
    const nodes = cfg.nodes ?? (await discoverNodes(cfg.access, { execTimeoutSeconds: cfg.execTimeoutSeconds, retries: cfg.retries, parallelism: cfg.parallelism }));
    const args: KubeOvnIpsecArgs = { ...cfg, nodes };
    const ipsec = new KubeOvnIpsec("kube-ovn-ipsec", args);
    return {
        enabled: ipsec.enabled,
        caCertPem: ipsec.caCertPem,
        caExpiry: ipsec.caExpiry,
        nodes: ipsec.nodes,
        tunnels: ipsec.status.apply((s) =>
            s.nodes.flatMap((n) =>
                n.tunnels.map(
                    (t): TunnelRow => ({
                        node: n.node,
                        peer: t.peerNode,
                        interface: t.interface,
                        state: t.state,
                        localIp: t.localIp,
                        remoteIp: t.remoteIp,
                        remoteName: t.remoteName,
                        ikeEstablished: t.ikeEstablished,
                        established: t.established,
                    }),
                ),
            ),
        ),
        status: ipsec.status,
        summary: ipsec.status.apply((s) => s.summary),
    };
}

/** The program as Pulumi runs it: this project's stack config in, stack outputs out. */
export function stackProgram(): Promise<Record<string, pulumi.Output<unknown>>> {
    return runStack(readStackConfig(new pulumi.Config("kube-ovn-ipsec")));
}
