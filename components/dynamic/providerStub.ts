/**
 * What a dynamic resource stores as its provider (`__provider`, in its inputs AND outputs): a
 * few hundred bytes that `require` the real provider from the installed package when the
 * dynamic-provider host calls it, instead of the provider's code serialized by value (35-68 KB,
 * twice per resource, and a per-resource copy of everything it imports).
 *
 * The host loads it with require-from-string, so `require` resolves from the host's working
 * directory: the program's directory, where the package is installed (`node_modules/kube-ovn-ipsec`,
 * or this repository itself by package self-reference). So the provider code that runs is the
 * code installed now: `destroy` after an upgrade runs the new provider on the old state
 * (docs/ARCHITECTURE.md, "Where the provider code lives").
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ProviderName } from "../providers";

/** The package subpath (package.json `exports`) whose module exports every provider by name. */
const MODULE_ID = "kube-ovn-ipsec/providers";

type Method = (...args: unknown[]) => Promise<unknown>;

const stubs = new Map<ProviderName, pulumi.dynamic.ResourceProvider>();

/**
 * Calls `target` ("<provider>.<method>") of the installed providers. Resolved as a file in the
 * working directory would resolve it: the host's own `require` has no directory, so it would
 * miss the package's self-reference (this repository's own stack). A failure to load is what a
 * program in another language meets without a node_modules of its own (pulumi/pulumi#5455).
 * Kept short and without comments inside: its text is stored with every dynamic resource,
 * twice. It must use no export of this module (compiled, `exports.X` would make the serializer
 * capture the module, a `require` of a path the package does not export).
 */
function forward(target: string, args: unknown[]): Promise<unknown> {
    const [name, method] = target.split(".");
    let providers: Record<string, Record<string, Method>>;
    try {
        providers = (require("module") as typeof import("module")).createRequire(`${process.cwd()}/_`)(MODULE_ID) as Record<string, Record<string, Method>>;
    } catch (e) {
        throw new Error(`${MODULE_ID} cannot be loaded from ${process.cwd()}, where Pulumi runs this stack's dynamic providers (${String(e).split("\n")[0]}): run \`npm install kube-ovn-ipsec\` there (README, "Other languages")`);
    }
    const real = providers[name];
    if (!real?.[method]) throw new Error(`${MODULE_ID} has no ${target}(): the installed kube-ovn-ipsec does not match this state`);
    return real[method].apply(real, args);
}

/**
 * A stand-in for `provider` with exactly its methods (the host treats a missing `check`, `diff`
 * or `read` differently from one that is there), each forwarding to the installed provider.
 * One object per provider: the SDK serializes each provider object once and caches it by identity.
 */
export function providerStub(name: ProviderName, provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
    const made = stubs.get(name);
    if (made) return made;
    const methods = Object.entries(provider as object)
        .filter(([, value]) => typeof value === "function")
        .map(([method]) => method);
    const stub: Record<string, Method> = {};
    for (const method of methods) {
        const target = `${name}.${method}`;
        stub[method] = (...args: unknown[]) => forward(target, args);
    }
    const result = stub as unknown as pulumi.dynamic.ResourceProvider;
    stubs.set(name, result);
    return result;
}
