/** Public API of kube-ovn-ipsec. */
export { KubeOvnIpsec, COMPONENT_TYPE } from "./kubeOvnIpsec";
export type { NodeInstallation, NodeLive } from "./kubeOvnIpsec";
export type {
    Access,
    CaOptions,
    CertificateOptions,
    CommandAccess,
    IpsecStatus,
    KeyAlgorithm,
    KubectlAccess,
    KubeOvnIpsecArgs,
    NodeSpec,
    WaitFor,
} from "./args";
export type { NodeHealth, NodeStatusReport, PeerTunnelReport, StatusSummary } from "./status/nodeStatus";
export type { TunnelReport, TunnelState, IkeDaemonReport } from "./status/types";
export { discoverNodes, CHASSIS_ANNOTATION } from "./discovery/discoverNodes";
export type { DiscoverOptions } from "./discovery/discoverNodes";
export { ValidationError, validateArgs } from "./validation";
