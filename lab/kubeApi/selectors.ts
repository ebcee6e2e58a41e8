/**
 * Label and field selectors as the API server applies them to a list.
 *
 * Label selectors (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors,
 * parser: k8s.io/apimachinery/pkg/labels/selector.go): comma-separated requirements, all must
 * hold: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`. `!=` and
 * `notin` also match objects without the label.
 *
 * Field selectors (https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/,
 * k8s.io/apimachinery/pkg/fields/selector.go): `f=v`, `f==v`, `f!=v`, comma-separated, `\` escapes
 * `,` `=` `\`. Each resource supports only its own fields; any other is refused (400, "field
 * label not supported"), as the server does.
 */

export class SelectorError extends Error {}

export type LabelRequirement =
    | { key: string; op: "exists" | "!exists" }
    | { key: string; op: "in" | "notin"; values: string[] }
    | { key: string; op: "gt" | "lt"; value: number };

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?)?$/;

function checkKey(key: string, raw: string): string {
    if (!KEY.test(key)) throw new SelectorError(`unable to parse requirement: invalid label key "${key}" in "${raw}"`);
    return key;
}
function checkValue(value: string, raw: string): string {
    if (!VALUE.test(value)) throw new SelectorError(`unable to parse requirement: invalid label value "${value}" in "${raw}"`);
    return value;
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
    const parts: string[] = [];
    let depth = 0;
    let current = "";
    for (const ch of text) {
        if (ch === "(") depth++;
        if (ch === ")") depth--;
        if (ch === "," && depth === 0) {
            parts.push(current);
            current = "";
        } else current += ch;
    }
    parts.push(current);
    return parts;
}

export function parseLabelSelector(selector: string | null): LabelRequirement[] {
    if (selector === null || selector.trim() === "") return [];
    return splitTopLevel(selector).map((raw): LabelRequirement => {
        const part = raw.trim();
        let m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
        if (m) {
            const values = m[3].split(",").map((v) => checkValue(v.trim(), raw));
            return { key: checkKey(m[1], raw), op: m[2] as "in" | "notin", values };
        }
        m = /^([^=!<>\s]+)\s*(==|=|!=)\s*([^=!<>\s]*)$/.exec(part);
        if (m) return { key: checkKey(m[1], raw), op: m[2] === "!=" ? "notin" : "in", values: [checkValue(m[3], raw)] };
        m = /^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/.exec(part);
        if (m) return { key: checkKey(m[1], raw), op: m[2] === ">" ? "gt" : "lt", value: Number(m[3]) };
        m = /^(!?)\s*([^=!<>\s()]+)$/.exec(part);
        if (m) return { key: checkKey(m[2], raw), op: m[1] ? "!exists" : "exists" };
        throw new SelectorError(`unable to parse requirement: "${raw}"`);
    });
}

export function labelsMatch(labels: Record<string, string>, requirements: readonly LabelRequirement[]): boolean {
    return requirements.every((r) => {
        const has = Object.prototype.hasOwnProperty.call(labels, r.key);
        const value = labels[r.key];
        switch (r.op) {
            case "exists":
                return has;
            case "!exists":
                return !has;
            case "in":
                return has && r.values.includes(value);
            case "notin":
                return !has || !r.values.includes(value);
            case "gt":
            case "lt": {
                if (!has || !/^-?\d+$/.test(value)) return false;
                return r.op === "gt" ? Number(value) > r.value : Number(value) < r.value;
            }
        }
    });
}

export interface FieldRequirement {
    field: string;
    equal: boolean;
    value: string;
}

/** Splits on an unescaped separator. */
function splitEscaped(text: string, sep: string): string[] {
    const parts: string[] = [];
    let current = "";
    for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (ch === "\\" && i + 1 < text.length) {
            current += ch + text[i + 1];
            i++;
        } else if (ch === sep) {
            parts.push(current);
            current = "";
        } else current += ch;
    }
    parts.push(current);
    return parts;
}

const unescape = (s: string) => s.replace(/\\(.)/g, "$1");

/** Parses a field selector and checks every field against those the resource supports. */
export function parseFieldSelector(selector: string | null, supported: readonly string[]): FieldRequirement[] {
    if (selector === null || selector.trim() === "") return [];
    return splitEscaped(selector, ",").map((raw) => {
        const m = /^((?:[^=!\\]|\\.)+?)(==|=|!=)((?:[^\\]|\\.)*)$/.exec(raw.trim());
        if (!m) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${raw}'`);
        const field = unescape(m[1]);
        if (!supported.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
        return { field, equal: m[2] !== "!=", value: unescape(m[3]) };
    });
}

export function fieldsMatch(fields: Record<string, string>, requirements: readonly FieldRequirement[]): boolean {
    return requirements.every((r) => (fields[r.field] === r.value) === r.equal);
}
