/**
 * The public shape of the component: what users pass in and what they get out.
 * Arguments are plain values (not Pulumi Inputs) on purpose: every one of them is validated
 * before a single resource is registered, and shell-bound values must be known to do that.
 */
import type { NodeStatusReport, StatusSummary } from "./status/nodeStatus";

/** A Kubernetes node and the OVS system-id of its ovs-ovn pod (= OVN chassis name). */
export interface NodeSpec {
    /** Kubernetes node name (DNS-1123 subdomain). */
    name: string;
    /** `ovs-vsctl get Open_vSwitch . external_ids:system-id` on that node; the certificate CN. */
    systemId: string;
}

/** Reach the pods through `kubectl exec`, as Kube-OVN's own script does. */
export interface KubectlAccess {
    /** kubeconfig file; default: kubectl's own default ($KUBECONFIG, ~/.kube/config). */
    kubeconfig?: string;
    /** kubeconfig context; default: the current context. */
    context?: string;
    /** Namespace of Kube-OVN's pods; also where the Secrets go. Default `kube-system`. */
    namespace?: string;
    /** kubectl binary; default `kubectl` from PATH. */
    binary?: string;
    /** Label selector of the OVS pods (DaemonSet ovs-ovn). Default `app=ovs`. */
    ovsPodSelector?: string;
    /** Container of the OVS pods. Default `openvswitch`. */
    ovsContainer?: string;
    /** Label selector of the OVN NB leader pod. Default `ovn-nb-leader=true`. */
    centralPodSelector?: string;
    /** Container of the ovn-central pods. Default `ovn-central`. */
    centralContainer?: string;
    /**
     * The Kube-OVN version the cluster runs (e.g. `v1.12.22`). Read from kube-ovn-controller's
     * image tag when it has one; needed when it does not (a digest-pinned or custom image):
     * without a known version nothing is changed.
     */
    kubeOvnVersion?: string;
}

/** Where a command access sends each script: `{target}` in the prefix becomes one of these. */
export interface CommandTargets {
    /** Target of the pod that runs `ovn-nbctl` against the NB leader. */
    central: string;
    /** Node name -> target of that node's OVS pod. */
    nodes: Record<string, string>;
}

/** How a command access hands a script to the remote shell. */
export const ScriptVia = {
    /** `prefix + ["sh", "-c", script]`, data on stdin (the default). */
    Argv: "argv",
    /** `prefix + ["sh", "-s"]`, script and data on stdin: for transports that join argv into one remote shell line (ssh). */
    Stdin: "stdin",
} as const;
export type ScriptVia = (typeof ScriptVia)[keyof typeof ScriptVia];

/**
 * Reach the pods through any command: `prefix` (with `{target}` replaced by the target) followed by
 * `sh -c <script>`, or `sh -s` with the script on stdin. Drives ssh, docker exec, nsenter or the lab.
 */
export interface CommandAccess {
    /** argv prefix; `{target}` may appear inside any element and is replaced textually. */
    prefix: string[];
    /** The target of the central pod and of each node's OVS pod. */
    targets: CommandTargets;
    /** `argv` (default) or `stdin`: see ScriptVia. */
    scriptVia?: ScriptVia;
    /**
     * The Kube-OVN version of the cluster (e.g. `v1.12.22`). Required: a command transport
     * cannot ask the Kubernetes API, and without a known version nothing is changed (v1.13+ has
     * built-in IPsec that would undo ours).
     */
    kubeOvnVersion: string;
}

/** How the pods are reached: set `kubectl` or `command`, not both. Neither means `kubectl` with its defaults. */
export interface Access {
    /** `kubectl exec` into the pods (the default). */
    kubectl?: KubectlAccess;
    /** Any command that runs a shell in the pod (ssh, docker exec, nsenter, the lab). */
    command?: CommandAccess;
}

/** Key algorithm of the CA or the node keys. */
export const KeyAlgorithm = {
    /** RSA 2048 bits: what ovs-pki makes (the default). */
    RSA2048: "RSA2048",
    RSA3072: "RSA3072",
    RSA4096: "RSA4096",
    /** ECDSA on P-256: for the CA only (node keys are refused, see CertificateOptions). */
    ECDSA_P256: "ECDSA-P256",
    /** ECDSA on P-384: for the CA only. */
    ECDSA_P384: "ECDSA-P384",
} as const;
export type KeyAlgorithm = (typeof KeyAlgorithm)[keyof typeof KeyAlgorithm];

export interface CertificateOptions {
    /**
     * Node key algorithm. Default RSA2048 (what ovs-pki makes). The ECDSA values are refused:
     * ovs-monitor-ipsec declares node keys to strongSwan as RSA, so an ECDSA key never loads.
     */
    algorithm?: KeyAlgorithm;
    /** Subject O of node certificates. Default `kube-ovn`. Needed: a CN-only subject is rejected. */
    organization?: string;
    /** Validity of node certificates in hours. Default 8760 (1 year). */
    validityHours?: number;
    /** A `pulumi up` this close to expiry renews the certificate. Default 720 (30 days). */
    earlyRenewalHours?: number;
}

export interface CaOptions {
    /** Validity of the CA certificate in hours. Default 87600 (10 years). */
    validityHours?: number;
    /** Subject CN of the CA. Default `kube-ovn-ipsec CA`. */
    commonName?: string;
    /** Subject O of the CA. Default: the certificate organization. */
    organization?: string;
    /**
     * CA key algorithm. Default ECDSA-P256 (smaller state, as strong as RSA3072); every value works
     * with the RSA node keys (IKE authenticates). Changing it replaces the CA and so every node
     * certificate: keep `RSA2048` for a stack whose CA was made with that.
     */
    algorithm?: KeyAlgorithm;
    /**
     * Bump (2, 3, ...) to rotate the CA: a new CA is made, every node trusts it before any node
     * changes its certificate, every certificate is re-issued under it, and the old CA is
     * removed from every node once no node uses it (README, "Rotating the CA"). Any change of
     * the CA (this, its key algorithm, its subject) goes the same hitless way. Default 1.
     */
    generation?: number;
}

/** What `pulumi up` waits for before it reports success. */
export const WaitFor = {
    /** Do not wait. */
    None: "none",
    /** Every tunnel CONFIGURED by ovs-monitor-ipsec (or, when disabled, no IPsec tunnel left). The default. */
    Configured: "configured",
    /** Also an IKE SA and installed CHILD SAs per peer. */
    Established: "established",
} as const;
export type WaitFor = (typeof WaitFor)[keyof typeof WaitFor];

export interface KubeOvnIpsecArgs {
    /** The nodes to encrypt: every node of the cluster that runs ovs-ovn (see discoverNodes). */
    nodes: NodeSpec[];
    /** false = `nb_global ipsec=false`; certificates, files and services stay. Default true. */
    enabled?: boolean;
    /** Default: `kubectl` with its defaults. */
    access?: Access;
    /** Node certificates: key algorithm, subject, validity, renewal. */
    certificate?: CertificateOptions;
    /** The CA that signs the node certificates. */
    ca?: CaOptions;
    /** What `pulumi up` waits for: none, configured (the default) or established. */
    waitFor?: WaitFor;
    /** How long to wait for `waitFor`, in seconds. Default 120. */
    timeoutSeconds?: number;
    /** Nodes worked on at once. Default 10. */
    parallelism?: number;
    /** Kill a single remote command after this long. Default 60. */
    execTimeoutSeconds?: number;
    /** Retries of a transient failure (transport error, OVSDB not answering). Default 2. */
    retries?: number;
    /** Publish the CA and node certificates as Kubernetes Secrets. Default true. */
    publishSecrets?: boolean;
    /**
     * Drop Geneve (UDP 6081) to the other nodes when it would leave a node without IPsec, instead
     * of sending it in plain text (a netfilter guard in each node's network namespace). Default
     * false. Trade-off: a node whose IPsec breaks loses pod traffic to its peers until repaired.
     * Only active while `enabled` is true.
     */
    failClosed?: boolean;
    /**
     * Force UDP encapsulation of IKE and ESP (strongSwan's `forceencaps`), for paths that drop
     * plain ESP or a NAT the IKE daemons cannot detect. Sets `nb_global options:ipsec_forceencaps`
     * (OVN passes it to every tunnel; never set on the Interface, OVN owns those options); destroy
     * restores what was there before. Needs UDP 4500 open between nodes. Flipping it restarts
     * nothing: the monitor reconfigures the tunnels. Default false.
     */
    natTraversal?: boolean;
}

/** Per node and per peer, as observed at the end of the last `pulumi up` (or `refresh --run-program`). */
export interface IpsecStatus {
    /** One report per node, in the order of `nodes`. */
    nodes: NodeStatusReport[];
    /** Counts over every node, and whether the wait condition is met. */
    summary: StatusSummary;
}
