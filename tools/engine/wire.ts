/**
 * Property values as the engine and its checkpoint hold them: JSON, with secrets wrapped in
 * `{ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value }` (the
 * SDK's wire form, see @pulumi/pulumi/runtime/rpc.js). Helpers to unwrap, find, add and
 * propagate secrets the way the engine does.
 */

export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
export const OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/** What the SDK and the engine send for a value not known yet (a preview): runtime/rpc.js `unknownValue`. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type WireValue = null | boolean | number | string | WireValue[] | WireObject;
export interface WireObject {
    [key: string]: WireValue;
}
export type WireMap = Record<string, WireValue>;

export interface WrappedSecret {
    [SECRET_SIG_KEY]: typeof SECRET_SIG;
    value: WireValue;
}

export function isPlainObject(value: unknown): value is WireObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isSecret(value: unknown): value is WrappedSecret {
    return isPlainObject(value) && value[SECRET_SIG_KEY] === SECRET_SIG;
}

export function secret(value: WireValue): WireValue {
    return isSecret(value) ? value : { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

/** The plain value: every secret wrapper removed, at any depth. */
export function unwrap(value: WireValue): unknown {
    if (isSecret(value)) return unwrap(value.value);
    if (Array.isArray(value)) return value.map(unwrap);
    if (isPlainObject(value)) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = unwrap(v);
        return out;
    }
    return value;
}

export function unwrapMap(map: WireMap): Record<string, unknown> {
    return unwrap(map) as Record<string, unknown>;
}

export function containsSecrets(value: WireValue): boolean {
    if (isSecret(value)) return true;
    if (Array.isArray(value)) return value.some(containsSecrets);
    if (isPlainObject(value)) return Object.values(value).some(containsSecrets);
    return false;
}

function childPath(base: string, key: string | number): string {
    if (typeof key === "number") return `${base}[${key}]`;
    const safe = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key);
    return base ? (safe.startsWith('"') ? `${base}[${safe}]` : `${base}.${safe}`) : safe.startsWith('"') ? `[${safe}]` : safe;
}

/** Paths of the outermost secret values (`a.b`, `list[2]`, `["odd key"]`). */
export function secretPaths(value: WireValue, base = ""): string[] {
    if (isSecret(value)) return [base];
    if (Array.isArray(value)) return value.flatMap((v, i) => secretPaths(v, childPath(base, i)));
    if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => secretPaths(v, childPath(base, k)));
    return [];
}

/** Every string with its path, skipping whatever is inside a secret. */
export function stringsOutside(value: WireValue, base = ""): Array<{ path: string; value: string }> {
    if (isSecret(value)) return [];
    if (typeof value === "string") return [{ path: base, value }];
    if (Array.isArray(value)) return value.flatMap((v, i) => stringsOutside(v, childPath(base, i)));
    if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => stringsOutside(v, childPath(base, k)));
    return [];
}

/** A plain JS value as JSON (undefined dropped, like the SDK's serialization). */
export function toWire(value: unknown): WireValue {
    return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as WireValue);
}

export function toWireMap(value: Record<string, unknown>): WireMap {
    return toWire(value) as WireMap;
}

/**
 * The engine's annotateSecrets (sdk/go/common/resource/plugin/provider_plugin.go): a provider
 * that does not accept secrets gets plain values; what it returns under the key of a secret
 * input becomes secret again (objects on both sides: recursively).
 */
export function annotateSecrets(outs: WireMap, ins: WireMap): WireMap {
    const result: WireMap = { ...outs };
    for (const [key, inValue] of Object.entries(ins)) {
        if (!(key in result)) continue;
        const outValue = result[key];
        if (isPlainObject(outValue) && !isSecret(outValue) && isPlainObject(inValue) && !isSecret(inValue)) {
            result[key] = annotateSecrets(outValue, inValue);
        } else if (!isSecret(outValue) && containsSecrets(inValue)) {
            result[key] = secret(outValue);
        }
    }
    return result;
}

/** additionalSecretOutputs, and outputs a provider always marks secret. */
export function markSecret(map: WireMap, keys: readonly string[]): WireMap {
    const result: WireMap = { ...map };
    for (const key of keys) if (key in result) result[key] = secret(result[key]);
    return result;
}

/**
 * A value as the program sent it, in the form the engine keeps: output values (sent only when the
 * monitor supports them, e.g. for remote components) become their value, secret if they were,
 * or the unknown sentinel when they have none; unknowns stay the sentinel string.
 */
export function fromProtocol(value: WireValue): WireValue {
    if (Array.isArray(value)) return value.map(fromProtocol);
    if (isPlainObject(value)) {
        if (value[SECRET_SIG_KEY] === OUTPUT_VALUE_SIG) {
            const inner = "value" in value ? fromProtocol(value.value) : UNKNOWN;
            return value.secret === true ? secret(inner) : inner;
        }
        if (isSecret(value)) return secret(fromProtocol(value.value));
        const out: WireObject = {};
        for (const [k, v] of Object.entries(value)) out[k] = fromProtocol(v);
        return out;
    }
    return value;
}

/** True if the value is or contains the unknown sentinel. */
export function containsUnknowns(value: WireValue): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(containsUnknowns);
    if (isPlainObject(value)) return Object.values(value).some(containsUnknowns);
    return false;
}

/** Resource references (`{sig, urn, id}`) as the engine gives them to a provider: id, else URN. */
export function dereference(value: WireValue): WireValue {
    if (Array.isArray(value)) return value.map(dereference);
    if (isPlainObject(value)) {
        if (value[SECRET_SIG_KEY] === RESOURCE_SIG) {
            const id = value.id;
            return typeof id === "string" && id !== "" ? id : (value.urn ?? null);
        }
        const out: WireObject = {};
        for (const [k, v] of Object.entries(value)) out[k] = dereference(v);
        return out;
    }
    return value;
}

export function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
    if (isPlainObject(a) && isPlainObject(b)) {
        const ka = Object.keys(a);
        const kb = Object.keys(b);
        return ka.length === kb.length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
    }
    return false;
}
