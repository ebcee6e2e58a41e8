/**
 * Every dynamic provider of the package, by name: the module the providers' stubs in the state
 * `require` at run time (package.json `exports["./providers"]`, see dynamic/providerStub.ts).
 * A name here is part of the state format: keep old names working across versions.
 */
import { ipsecSwitchProvider } from "./cluster/ipsecSwitchProvider";
import { preflightProvider } from "./cluster/preflightProvider";
import { nodeIpsecProvider } from "./node/nodeIpsecProvider";
import { readinessProvider } from "./status/readinessProvider";
import { ipsecStatusProvider } from "./status/statusProvider";

export const NodeIpsec = nodeIpsecProvider;
export const Preflight = preflightProvider;
export const IpsecSwitch = ipsecSwitchProvider;
export const IpsecStatus = ipsecStatusProvider;
export const IpsecReadiness = readinessProvider;

export type ProviderName = "NodeIpsec" | "Preflight" | "IpsecSwitch" | "IpsecStatus" | "IpsecReadiness";
