/**
 * The value the engine sends for an input that is not known yet (in a preview, e.g. a
 * certificate that will only exist after `up`). The dynamic-provider host passes it to check
 * and diff untouched (@pulumi/pulumi runtime/rpc `unknownValue`): nothing may be validated
 * against it, executed with it, or compared to it as if it were the real value.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

/** True when the value, or anything inside it, is not known yet. */
export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
    return false;
}
