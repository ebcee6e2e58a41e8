/**
 * Parser for strongSwan's `ipsec status` and `ipsec statusall` (the stroke plugin's listing).
 *
 * Lines we use (names are printed right-aligned in 12 columns, so short names come indented):
 *
 *     Routed Connections:
 *     <name>{<N>}:  ROUTED, TRANSPORT, reqid 4                  a trap policy
 *     <name>{<N>}:   10.99.0.11/32[udp] === 10.99.0.12/32[udp/6081]
 *     Security Associations (<up> up, <connecting> connecting):
 *     <name>[<N>]: ESTABLISHED 5 seconds ago, <ip>[<id>]...<ip>[<id>]      an IKE SA
 *     <name>[<N>]: CONNECTING, <ip>[<id>]...<ip>[<id>]
 *     <name>{<N>}:  INSTALLED, TRANSPORT, reqid 4, ESP SPIs: c1234567_i c7654321_o   a CHILD SA
 *     <name>{<N>}:   <selectors>
 *       none                                                      no SA at all
 *
 * `statusall` adds a daemon section, `Listening IP addresses:`, `Connections:`, `Shunted
 * Connections:`, and per-SA detail lines (`<name>[N]: IKEv2 SPIs: ...`, `<name>[N]: IKE
 * proposal: ...`, `<name>{N}:  AES_GCM_16_256, 0 bytes_i, ...`); those are recognised and
 * skipped. The text comes from remote nodes: no backtracking regexes, every scan is linear.
 */
import type { ChildSaReport, IkeDaemonReport, IkeSaReport } from "./types";

type Section = "routed" | "sas" | "other" | null;

/** Column-0 headers that start sections whose `{N}`/`[N]` lines are not what we count. */
const OTHER_HEADERS = ["Status of IKE ", "Virtual IP pools", "Listening IP addresses:", "Connections:", "Shunted Connections:"];

/**
 * IKE SA states (strongSwan's ike_sa_state_names); they may be followed by ` <time> ago`.
 * An array, not a Set: this runs serialized in the dynamic providers, and the closure
 * serializer cannot carry a Set value.
 */
const IKE_STATES: readonly string[] = [
    "CREATED", "CONNECTING", "ESTABLISHED", "PASSIVE", "REKEYING", "REKEYED", "DELETING", "DESTROYING",
];

const UPPER_WORD = /^[A-Z][A-Z0-9_]*$/;

/**
 * Parses `ipsec status` / `ipsec statusall`. Throws when the text has no `Security
 * Associations` header, which charon always prints: empty text (the `ipsec` script prints
 * nothing when charon is not running) or an error message is not a status report. The error
 * quotes at most the first non-blank line.
 */
export function parseIpsecStatus(text: string): IkeDaemonReport {
    const lines = text.split(/\r\n|\n|\r/).map((l) => l.trimEnd());
    const report: IkeDaemonReport = { ikeUp: 0, ikeConnecting: 0, ikeSas: [], childSas: [], routed: 0 };
    let section: Section = null;
    let counts: { up: number; connecting: number } | null = null;
    let sawSaHeader = false;

    for (const line of lines) {
        if (line.trim() === "") continue;
        if (line[0] !== " " && line[0] !== "\t") {
            if (line === "Routed Connections:") {
                section = "routed";
                continue;
            }
            if (line.startsWith("Security Associations") && line.endsWith(":")) {
                section = "sas";
                sawSaHeader = true;
                counts = parseSaCounts(line);
                continue;
            }
            if (OTHER_HEADERS.some((h) => line.startsWith(h)) && line.endsWith(":")) {
                section = "other";
                continue;
            }
        }
        if (section === "routed") {
            if (parseChildSa(line) !== null) report.routed += 1;
        } else if (section === "sas") {
            const child = parseChildSa(line);
            if (child !== null) {
                report.childSas.push(child);
                continue;
            }
            const ike = parseIkeSa(line);
            if (ike !== null) report.ikeSas.push(ike);
        }
    }

    if (!sawSaHeader) {
        const first = lines.find((l) => l.trim() !== "");
        throw new Error(
            first === undefined
                ? "ipsec status: empty output (charon not running?)"
                : `ipsec status: no "Security Associations" header; first line: ${quoteLine(first)}`,
        );
    }
    if (counts !== null) {
        report.ikeUp = counts.up;
        report.ikeConnecting = counts.connecting;
    } else {
        // strongSwan < 4.5.3 printed a bare `Security Associations:`: count the SA lines instead.
        report.ikeUp = report.ikeSas.filter((s) => s.state === "ESTABLISHED").length;
        report.ikeConnecting = report.ikeSas.filter((s) => s.state === "CONNECTING").length;
    }
    return report;
}

/** `Security Associations (1 up, 0 connecting):` -> counts; null for the old bare header. */
function parseSaCounts(line: string): { up: number; connecting: number } | null {
    const m = /^Security Associations \((\d{1,9}) up, (\d{1,9}) connecting\):$/.exec(line);
    return m === null ? null : { up: Number(m[1]), connecting: Number(m[2]) };
}

/**
 * Splits `<name><open><digits><close>: <rest>` (after the 12-column padding). Connection
 * names have no spaces in ipsec.conf, so the first space ends the prefix.
 */
function splitPrefix(line: string, open: string, close: string): { name: string; id: number; rest: string } | null {
    const body = line.trimStart();
    const space = body.indexOf(" ");
    const token = space < 0 ? body : body.slice(0, space);
    if (!token.endsWith(`${close}:`)) return null;
    const start = token.lastIndexOf(open);
    const digits = token.slice(start + 1, -2);
    if (start <= 0 || !/^\d{1,10}$/.test(digits)) return null;
    return { name: token.slice(0, start), id: Number(digits), rest: space < 0 ? "" : body.slice(space + 1).trim() };
}

/**
 * `<name>{N}:  STATE, MODE, reqid R...` (strongSwan < 5.3 had no reqid); null for the selector
 * line and for statusall's `<name>{N}:  AES_GCM_16_256, 0 bytes_i, ...` line, whose second
 * part is never an upper-case word.
 */
function parseChildSa(line: string): ChildSaReport | null {
    const p = splitPrefix(line, "{", "}");
    if (p === null) return null;
    const parts = p.rest.split(", ", 3);
    if (parts.length < 2 || !UPPER_WORD.test(parts[0]) || !UPPER_WORD.test(parts[1])) return null;
    return { name: p.name, id: p.id, state: parts[0], mode: parts[1] };
}

/**
 * `<name>[N]: STATE[ <time> ago], <local>[<localId>]...<remote>[<remoteId>]`; null for the
 * statusall detail lines (`IKEv2 SPIs:`, `IKE proposal:`, `Tasks active:`, `Remote EAP ...`).
 */
function parseIkeSa(line: string): IkeSaReport | null {
    const p = splitPrefix(line, "[", "]");
    if (p === null) return null;
    let end = 0;
    while (end < p.rest.length && p.rest[end] !== " " && p.rest[end] !== ",") end++;
    const state = p.rest.slice(0, end);
    // Known states always; an unknown upper-case word only when directly followed by a comma,
    // so that a detail line such as `IKE proposal: ...` is not taken for an SA.
    if (!UPPER_WORD.test(state) || !(IKE_STATES.includes(state) || p.rest[end] === ",")) return null;
    const comma = p.rest.indexOf(", ", end);
    const ends = comma < 0 ? null : parseEndpoints(p.rest.slice(comma + 2));
    return {
        name: p.name,
        id: p.id,
        state,
        localIp: ends?.localIp ?? null,
        localId: ends?.localId ?? null,
        remoteIp: ends?.remoteIp ?? null,
        remoteId: ends?.remoteId ?? null,
    };
}

/** Characters of an address as strongSwan prints it (IPv4, IPv6, `%any`, `%any6`). */
function isHostChar(c: string): boolean {
    return /^[0-9A-Za-z.:%_-]$/.test(c);
}

/**
 * `<host>[<id>]...<host>[<id>]`. IDs can hold spaces, commas, `=` and even brackets (DNs such
 * as `C=US, O=x, CN=y`), hosts cannot. The split is the first `]...` followed by a host and a
 * `[`; each candidate scan stops at the next non-host character, so the whole is linear.
 */
function parseEndpoints(s: string): { localIp: string; localId: string; remoteIp: string; remoteId: string } | null {
    const lb = s.indexOf("[");
    if (lb <= 0 || !s.endsWith("]")) return null;
    for (let i = s.indexOf("]...", lb); i >= 0; i = s.indexOf("]...", i + 1)) {
        let j = i + 4;
        while (j < s.length && isHostChar(s[j])) j++;
        if (j > i + 4 && s[j] === "[" && j < s.length - 1) {
            return {
                localIp: s.slice(0, lb),
                localId: s.slice(lb + 1, i),
                remoteIp: s.slice(i + 4, j),
                remoteId: s.slice(j + 1, -1),
            };
        }
    }
    return null;
}

/** At most 200 printable characters of one line, for error messages. */
function quoteLine(line: string): string {
    const printable = line.trim().replace(/[^\x20-\x7e]/g, "?");
    return JSON.stringify(printable.length > 200 ? `${printable.slice(0, 200)}...` : printable);
}
