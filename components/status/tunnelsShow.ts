/**
 * Parser for `ovs-appctl -t ovs-monitor-ipsec tunnels/show`.
 *
 * The monitor prints one block per IPsec tunnel:
 *
 *     Interface name: <ifname> v<N> (<STATE>)      STATE: INIT | CONFIGURED | REMOVED | INVALID: <reason>
 *       <Key>:<spaces><value>                        one line per field; Python's None prints as `None`
 *     Kernel policies installed:
 *       <one line per matching `ip xfrm policy` selector>
 *     Kernel security associations installed:
 *       <one line per matching `ip xfrm state` selector>
 *     IPsec connections that are active:
 *       <IKE daemon lines; always empty with strongSwan>
 *     <blank line>
 *
 * or exactly `No tunnels configured with IPsec`. The field set grew over OVS releases (2.11: no
 * Local IP, Address Family or Custom Options), so fields are looked up by name, in any order,
 * and unknown ones are skipped. The text comes from remote nodes: everything is parsed with
 * indexOf/slice and anchored regexes without nested quantifiers, so hostile lines stay linear.
 */
import type { TunnelReport, TunnelState } from "./types";

/** The monitor's whole reply when no interface has IPsec options. */
export const NO_TUNNELS_TEXT = "No tunnels configured with IPsec";

const HEADER_PREFIX = "Interface name:";

type Counter = "policies" | "securityAssociations" | "activeConnections";
type StringField =
    | "tunnelType" | "localIp" | "remoteIp" | "addressFamily" | "localCert"
    | "localName" | "localKey" | "remoteCert" | "remoteName" | "caCert";

// Lookup tables are arrays of pairs: not object literals, because keys come from remote text
// and a line such as `constructor:` must not find Object.prototype members; and not Map/Set
// values, because this code also runs serialized into the dynamic providers, and Pulumi's
// closure serializer turns a captured Map or Set into a plain object.
function lookup<T>(table: ReadonlyArray<readonly [string, T]>, key: string): T | undefined {
    for (const [k, v] of table) if (k === key) return v;
    return undefined;
}

/** Section headers (column 0) and the counter their indented lines feed. */
const SECTIONS: ReadonlyArray<readonly [string, Counter]> = [
    ["Kernel policies installed:", "policies"],
    ["Kernel security associations installed:", "securityAssociations"],
    ["IPsec connections that are active:", "activeConnections"],
];

/** Field keys (lower-cased, single-spaced) -> the string field they fill. */
const STRING_FIELDS: ReadonlyArray<readonly [string, StringField]> = [
    ["tunnel type", "tunnelType"],
    ["local ip", "localIp"],
    ["remote ip", "remoteIp"],
    ["address family", "addressFamily"],
    ["local cert", "localCert"],
    ["local name", "localName"],
    ["local key", "localKey"],
    ["remote cert", "remoteCert"],
    ["remote name", "remoteName"],
    ["ca cert", "caCert"],
];

const KNOWN_STATES: readonly string[] = ["INIT", "CONFIGURED", "REMOVED"];

/** Splits on LF, CRLF or lone CR and drops trailing whitespace (CRLF transports, padded lines). */
export function splitLines(text: string): string[] {
    return text.split(/\r\n|\n|\r/).map((l) => l.trimEnd());
}

/** True when the reply says no tunnel has IPsec (ipsec=false, or no peers yet). */
export function isNoTunnelsOutput(text: string): boolean {
    const lines = splitLines(text).filter((l) => l.trim() !== "");
    return lines.length === 1 && lines[0].trim() === NO_TUNNELS_TEXT;
}

/**
 * Parses the whole reply. Returns [] for `No tunnels configured with IPsec`.
 *
 * Throws when the text is not a tunnels/show reply: empty or whitespace-only text (the monitor
 * never replies with nothing, so empty means the command failed and must not read as "no
 * tunnels"), or a first non-blank line that is not a block header (e.g. ovs-appctl's
 * `cannot read pidfile` when the monitor is not running). The message quotes only that line.
 */
export function parseTunnelsShow(text: string): TunnelReport[] {
    const lines = splitLines(text);
    if (lines.every((l) => l.trim() === "")) {
        throw new Error("tunnels/show: empty output");
    }
    if (isNoTunnelsOutput(text)) return [];

    const reports: TunnelReport[] = [];
    let current: TunnelReport | null = null;
    // Which counter indented lines feed; "skip" for an unknown section, null while in fields.
    let section: Counter | "skip" | null = null;

    for (const line of lines) {
        if (line.trim() === "") continue; // block separator
        const indented = line[0] === " " || line[0] === "\t";

        if (!indented && line.startsWith(HEADER_PREFIX)) {
            current = parseHeader(line.slice(HEADER_PREFIX.length));
            reports.push(current);
            section = null;
            continue;
        }
        if (current === null) {
            // Anything before the first header means this is not tunnels/show output.
            throw new Error(`tunnels/show: unexpected output: ${quoteLine(line)}`);
        }
        if (!indented) {
            // A known section, or a header this parser does not know (newer OVS): its indented
            // lines must not be read as fields. Other column-0 lines carry nothing we use.
            section = lookup(SECTIONS, line) ?? (line.endsWith(":") ? "skip" : section);
            continue;
        }
        if (section === "skip") continue;
        if (section !== null) {
            current[section] += 1;
            continue;
        }
        applyField(current, line);
    }
    return reports;
}

/** Reads ` <ifname> v<N> (<STATE>)`; tolerates a missing `vN` and a missing `(STATE)`. */
function parseHeader(rest: string): TunnelReport {
    const body = rest.trim();
    const open = body.indexOf(" (");
    const closed = open >= 0 && body.endsWith(")");
    const nameAndVersion = (closed ? body.slice(0, open) : body).split(/\s+/);
    const stateText = closed ? body.slice(open + 2, -1).trim() : "";

    let state: TunnelState = "UNKNOWN";
    let stateDetail: string | undefined;
    if (stateText === "INVALID" || stateText.startsWith("INVALID:")) {
        state = "INVALID";
        // The monitor prints "INVALID: <reason>"; keep just the reason.
        const reason = stateText.slice("INVALID".length).replace(/^:/, "").trim();
        stateDetail = reason === "" ? undefined : reason;
    } else if (KNOWN_STATES.includes(stateText)) {
        state = stateText as TunnelState;
    }

    const versionToken = nameAndVersion.find((t, i) => i > 0 && /^v\d{1,9}$/.test(t));
    // Fields the block does not print stay absent (not null: the schema has no null).
    const report: TunnelReport = { interface: nameAndVersion[0] ?? "", state, policies: 0, securityAssociations: 0, activeConnections: 0 };
    if (versionToken !== undefined) report.version = Number(versionToken.slice(1));
    if (stateDetail !== undefined) report.stateDetail = stateDetail;
    return report;
}

/**
 * `Custom Options` is a Python dict of the tunnel's `ipsec_*` Interface options, without the
 * prefix, e.g. `{'forceencaps': 'yes'}`: the monitor writes each into the strongSwan conn.
 */
const FORCE_ENCAPS = /'forceencaps': 'yes'/;

/**
 * Fills one `  Key:   value` line into the report. Split at the first colon: keys never hold
 * one, values may (IPv6 addresses). PSK and Custom Options are deliberately not kept: in PSK
 * mode the monitor prints the pre-shared key itself, and it must not reach stack outputs; of the
 * custom options only the one fact we set (forced UDP encapsulation) is read.
 */
function applyField(report: TunnelReport, line: string): void {
    const colon = line.indexOf(":");
    if (colon < 0) return;
    const key = line.slice(0, colon).trim().replace(/\s+/g, " ").toLowerCase();
    const raw = line.slice(colon + 1).trim();
    const value = raw === "" || raw === "None" ? undefined : raw;

    if (key === "custom options") {
        // Kept only when true: a field on every tunnel of every node would cost state (issue 9).
        if (FORCE_ENCAPS.test(raw)) report.forceEncapsulation = true;
        else delete report.forceEncapsulation;
        return;
    }
    if (key === "ofport") {
        // "Not assigned" while OVS has no OpenFlow port for the interface yet.
        if (value !== undefined && /^\d{1,10}$/.test(value)) report.ofport = Number(value);
        else delete report.ofport;
        return;
    }
    const field = lookup(STRING_FIELDS, key);
    if (field === undefined) return;
    if (value === undefined) delete report[field];
    else report[field] = value;
}

/** At most 200 printable characters of one line, for error messages (never the whole input). */
function quoteLine(line: string): string {
    // A PSK line would print the key itself: name the field, not the value.
    const safe = /^\s*PSK\s*:/i.test(line) ? "PSK: <redacted>" : line;
    const printable = safe.trim().replace(/[^\x20-\x7e]/g, "?");
    return JSON.stringify(printable.length > 200 ? `${printable.slice(0, 200)}...` : printable);
}
