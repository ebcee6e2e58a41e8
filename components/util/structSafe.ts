/**
 * What a dynamic provider returns crosses to the engine as a protobuf Struct, which has no
 * `undefined`: one unset optional field anywhere fails the whole resource ("Unexpected struct
 * type"). Our public types use optional fields (the schema cannot express `| null`), so every
 * provider result goes through here: unset object fields are left out, unset array slots
 * become null (an array keeps its length).
 */
export function structSafe<T>(value: T): T {
    return strip(value) as T;
}

function strip(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : strip(item)));
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) out[key] = strip(item);
    }
    return out;
}
