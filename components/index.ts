/**
 * Public API of kube-ovn-ipsec.
 * The argument and status types come before the component on purpose: Pulumi's schema analyzer
 * reads files in this order and takes a type's description only from files it has read by the
 * time it reaches the component.
 */
export { KeyAlgorithm, ScriptVia, WaitFor } from "./args";
export type { Access, CaOptions, CertificateOptions, CommandAccess, CommandTargets, IpsecStatus, KubectlAccess, KubeOvnIpsecArgs, NodeSpec } from "./args";
export { NodeHealth } from "./status/nodeStatus";
export type { GuardReport, IkeCounts, NodeStatusReport, PeerTunnelReport, StatusSummary } from "./status/nodeStatus";
export { TunnelState } from "./status/types";
export type { TunnelReport, IkeDaemonReport } from "./status/types";
export { KubeOvnIpsec, COMPONENT_TYPE } from "./kubeOvnIpsec";
export type { NodeInstallation, NodeLive } from "./kubeOvnIpsec";
export { discoverNodes, CHASSIS_ANNOTATION } from "./discovery/discoverNodes";
export type { DiscoverOptions } from "./discovery/discoverNodes";
export { ValidationError, validateArgs } from "./validation";
