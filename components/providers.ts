/**
 * Every dynamic provider of the package, by name: the module the providers' stubs in the state
 * `require` at run time (package.json `exports["./providers"]`, see dynamic/providerStub.ts).
 * A name here is part of the state format: keep old names working across versions.
 */
import { caRetireProvider, caTrustProvider } from "./cluster/caTrustProvider";
import { ipsecSwitchProvider } from "./cluster/ipsecSwitchProvider";
import { preflightProvider } from "./cluster/preflightProvider";
import { nodeIpsecProvider } from "./node/nodeIpsecProvider";
import { readinessProvider } from "./status/readinessProvider";
import { ipsecStatusProvider } from "./status/statusProvider";
import { structSafe } from "./util/structSafe";
import type * as pulumi from "@pulumi/pulumi";

/**
 * What create/update/read return crosses to the engine as a protobuf Struct, which cannot hold
 * `undefined` (our public types have optional fields): every result is made safe here, once.
 */
function structSafeResults(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
    const wrapped: pulumi.dynamic.ResourceProvider = { ...provider };
    const { create, update, read } = provider;
    if (create) wrapped.create = async (inputs) => structSafe(await create.call(provider, inputs));
    if (update) wrapped.update = async (id, olds, news) => structSafe(await update.call(provider, id, olds, news));
    if (read) wrapped.read = async (id, props) => structSafe(await read.call(provider, id, props));
    return wrapped;
}

export const NodeIpsec = structSafeResults(nodeIpsecProvider);
export const Preflight = structSafeResults(preflightProvider);
export const IpsecSwitch = structSafeResults(ipsecSwitchProvider);
export const IpsecStatus = structSafeResults(ipsecStatusProvider);
export const IpsecReadiness = structSafeResults(readinessProvider);
export const CaTrust = structSafeResults(caTrustProvider);
export const CaRetire = structSafeResults(caRetireProvider);

export type ProviderName = "NodeIpsec" | "Preflight" | "IpsecSwitch" | "IpsecStatus" | "IpsecReadiness" | "CaTrust" | "CaRetire";
