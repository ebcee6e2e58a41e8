/**
 * The value Pulumi sends a provider's check/diff for an input not known yet: in a preview, an
 * output of a resource that does not exist yet (e.g. a certificate on the first `up`). The
 * dynamic-provider host passes it to the provider untouched. Same string as the SDK's
 * `unknownValue` (@pulumi/pulumi runtime/rpc.js); kept here so provider code, which is
 * serialized into the stack, does not capture the SDK for it.
 */
export const UNKNOWN_INPUT = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True for a value a preview does not know yet: validate it when it is known, not now. */
export function isUnknownInput(value: unknown): boolean {
    return value === UNKNOWN_INPUT;
}
