/**
 * OVSDB's text form of a string, as `ovs-vsctl get` prints it and `ovs-vsctl set` reads it:
 * a bare word when it needs no quoting, else a double-quoted string with JSON escapes
 * (OVS lib/ovsdb-data.c: string_needs_quotes / json string escaping). Parsing it exactly keeps
 * paths with quotes, backslashes or spaces intact; the scripts never unquote in shell.
 */

/**
 * The string a raw `ovs-vsctl get` value stands for; null for an absent key (empty output) or
 * text that is not a valid OVSDB string.
 */
export function parseOvsdbString(raw: string): string | null {
    const text = raw.replace(/\r?\n$/, "");
    if (text === "") return null;
    if (text.startsWith('"')) {
        if (!text.endsWith('"') || text.length < 2) return null;
        try {
            const value: unknown = JSON.parse(text);
            return typeof value === "string" ? value : null;
        } catch {
            return null;
        }
    }
    // A bare atom: no whitespace, quotes or separators (OVSDB prints those quoted).
    return /^[^\s"\\,={}[\]]+$/.test(text) ? text : null;
}

/** The quoted OVSDB form of any string: always readable back by `ovs-vsctl set`. */
export function ovsdbQuote(value: string): string {
    return JSON.stringify(value);
}
