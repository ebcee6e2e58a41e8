/**
 * Properties of the parsers of remote text (tunnels/show, ipsec status, the observe script's
 * framed output) and of the evaluation built on them:
 * - model-based: a reply rendered from a random model, in any field order, with CRLF and
 *   padding, parses back to exactly that model;
 * - any text: the parsers return or throw only their documented error (bounded, one line),
 *   never anything else; the observation parser and the evaluation never throw, and what the
 *   evaluation reports is consistent with itself.
 */
import fc from "fast-check";
import { parseObservation } from "../../components/observe/nodeObservation";
import { evaluateNode } from "../../components/status/nodeStatus";
import { parseIpsecStatus } from "../../components/status/ipsecStatus";
import { NO_TUNNELS_TEXT, parseTunnelsShow } from "../../components/status/tunnelsShow";
import type { ChildSaReport, IkeSaReport, TunnelReport } from "../../components/status/types";
import { anyText, hostileString } from "../support/arbitraries";

const word = (max: number) => fc.stringMatching(new RegExp(`^[a-z0-9][a-z0-9-]{0,${max - 1}}$`));
/** A field value as the monitor prints it: printable, trimmed, never the literal None. */
const value = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/).filter((v) => v !== "None");
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const FIELD_LABELS: ReadonlyArray<readonly [keyof TunnelReport, string]> = [
    ["tunnelType", "Tunnel Type"], ["localIp", "Local IP"], ["remoteIp", "Remote IP"], ["addressFamily", "Address Family"],
    ["localCert", "Local cert"], ["localName", "Local name"], ["localKey", "Local key"], ["remoteCert", "Remote cert"],
    ["remoteName", "Remote name"], ["caCert", "CA cert"],
];
const IGNORED_FIELDS = ["SKB mark", "PSK", "Custom Options", "CFM state", "Some Future Field"];

const tunnelModel = fc.record({
    interface: word(15),
    version: optional(fc.integer({ min: 0, max: 99999 })),
    state: fc.constantFrom("INIT", "CONFIGURED", "REMOVED", "INVALID", "UNKNOWN") as fc.Arbitrary<TunnelReport["state"]>,
    reason: optional(value),
    fields: fc.record(Object.fromEntries(FIELD_LABELS.map(([k]) => [k, optional(value)])) as Record<string, fc.Arbitrary<string | undefined>>),
    printed: fc.shuffledSubarray([...FIELD_LABELS.map(([k]) => k as string), "ofport", ...IGNORED_FIELDS]),
    ofport: optional(fc.integer({ min: 0, max: 65535 })),
    policies: fc.nat(4),
    securityAssociations: fc.nat(4),
    activeConnections: fc.nat(2),
});
type TunnelModel = typeof tunnelModel extends fc.Arbitrary<infer T> ? T : never;

function renderTunnel(t: TunnelModel): { lines: string[]; report: TunnelReport } {
    const stateText = t.state === "INVALID" ? (t.reason === undefined ? "INVALID" : `INVALID: ${t.reason}`) : t.state === "UNKNOWN" ? "SOMETHING NEW" : t.state;
    const lines = [`Interface name: ${t.interface}${t.version === undefined ? "" : ` v${t.version}`} (${stateText})`];
    const report: TunnelReport = {
        interface: t.interface, version: t.version, state: t.state, stateDetail: t.state === "INVALID" ? t.reason : undefined,
        policies: t.policies, securityAssociations: t.securityAssociations, activeConnections: t.activeConnections,
    };
    for (const key of t.printed) {
        const label = FIELD_LABELS.find(([k]) => k === key);
        if (label !== undefined) {
            const v = t.fields[key];
            lines.push(`  ${label[1]}:${" ".repeat(Math.max(1, 16 - label[1].length))}${v ?? "None"}`);
            (report as unknown as Record<string, unknown>)[key] = v;
        } else if (key === "ofport") {
            lines.push(`  Ofport:         ${t.ofport ?? "Not assigned"}`);
            report.ofport = t.ofport;
        } else {
            lines.push(`  ${key}:   secret-or-whatever`);
        }
    }
    lines.push("Kernel policies installed:", ...Array.from({ length: t.policies }, (_, i) => `  src 10.0.0.1/32 dst 10.0.0.${i}/32 proto udp dport 6081`));
    lines.push("Kernel security associations installed:", ...Array.from({ length: t.securityAssociations }, (_, i) => `  sel src 10.0.0.1/32 dst 10.0.0.${i}/32`));
    lines.push("IPsec connections that are active:", ...Array.from({ length: t.activeConnections }, (_, i) => `  conn-${i}`));
    return { lines, report };
}

/** Joins with LF or CRLF and pads some lines with trailing spaces, as transports do. */
const layout = fc.record({ crlf: fc.boolean(), pad: fc.boolean() });
const join = (lines: string[], l: { crlf: boolean; pad: boolean }) => lines.map((x, i) => (l.pad && i % 3 === 0 ? `${x}  ` : x)).join(l.crlf ? "\r\n" : "\n") + (l.crlf ? "\r\n" : "\n");

/** The documented failure: an Error whose one-line message names the tool, bounded. */
function expectDocumentedError(e: unknown, tool: string) {
    expect(e).toBeInstanceOf(Error);
    const message = (e as Error).message;
    expect(message.startsWith(`${tool}: `)).toBe(true);
    expect(message).not.toMatch(/[\r\n]/);
    expect(message.length).toBeLessThan(300);
}

describe("parseTunnelsShow (property)", () => {
    it("a reply rendered from a model parses back to the model", () => {
        fc.assert(
            fc.property(fc.array(tunnelModel, { minLength: 1, maxLength: 5 }), layout, (tunnels, l) => {
                const rendered = tunnels.map(renderTunnel);
                const text = join(rendered.flatMap((r) => [...r.lines, ""]), l);
                expect(parseTunnelsShow(text)).toEqual(rendered.map((r) => r.report));
            }),
            { numRuns: 300 },
        );
    });

    it("any text: a list with one report per header line, or the documented error", () => {
        const texts = fc.oneof(anyText(400), hostileString(60), fc.array(fc.oneof(hostileString(8), fc.constantFrom("Interface name: x v1 (CONFIGURED)", "  Remote name: y", "Kernel policies installed:", "  src a", NO_TUNNELS_TEXT, "")), { maxLength: 12 }).map((ls) => ls.join("\n")));
        fc.assert(
            fc.property(texts, (text) => {
                let reports: TunnelReport[];
                try {
                    reports = parseTunnelsShow(text);
                } catch (e) {
                    expectDocumentedError(e, "tunnels/show");
                    return;
                }
                const headers = text.split(/\r\n|\n|\r/).filter((x) => x.startsWith("Interface name:")).length;
                expect(reports).toHaveLength(headers);
                for (const r of reports) expect(text).toContain(r.interface);
            }),
            { numRuns: 500 },
        );
    });
});

const saName = word(20);
const ikeModel = fc.record({
    name: saName, id: fc.integer({ min: 1, max: 99999 }),
    state: fc.constantFrom("ESTABLISHED", "CONNECTING", "REKEYING", "DELETING", "PASSIVE"),
    localIp: fc.constantFrom("10.0.0.1", "fd00::1", "%any"), remoteIp: fc.constantFrom("10.0.0.2", "fd00::2", "192.168.1.200"),
    // IDs hold spaces, commas and `=` (DNs): everything but brackets.
    localId: fc.stringMatching(/^[A-Za-z0-9=,. -]{1,30}$/), remoteId: fc.stringMatching(/^[A-Za-z0-9=,. -]{1,30}$/),
});
const childModel = fc.record({ name: saName, id: fc.integer({ min: 1, max: 99999 }), state: fc.constantFrom("INSTALLED", "REKEYED", "INSTALLING"), mode: fc.constantFrom("TRANSPORT", "TUNNEL"), reqid: fc.integer({ min: 1, max: 999 }) });
const pad12 = (s: string) => s.padStart(12);

describe("parseIpsecStatus (property)", () => {
    it("a status rendered from a model parses back to the model", () => {
        fc.assert(
            fc.property(fc.array(childModel, { maxLength: 3 }), fc.array(ikeModel, { maxLength: 4 }), fc.array(childModel, { maxLength: 6 }), layout, (routed, ikes, children, l) => {
                const up = ikes.filter((s) => s.state === "ESTABLISHED").length;
                const connecting = ikes.filter((s) => s.state === "CONNECTING").length;
                const lines: string[] = [];
                if (routed.length > 0) lines.push("Routed Connections:", ...routed.flatMap((c) => [`${pad12(`${c.name}{${c.id}}`)}:  ROUTED, ${c.mode}, reqid ${c.reqid}`, `${pad12(`${c.name}{${c.id}}`)}:   10.0.0.1/32[udp] === 10.0.0.2/32[udp/6081]`]));
                lines.push(`Security Associations (${up} up, ${connecting} connecting):`);
                if (ikes.length + children.length === 0) lines.push("  none");
                for (const s of ikes) lines.push(`${pad12(`${s.name}[${s.id}]`)}: ${s.state}${s.state === "ESTABLISHED" ? " 3 minutes ago" : ""}, ${s.localIp}[${s.localId}]...${s.remoteIp}[${s.remoteId}]`);
                for (const c of children) lines.push(`${pad12(`${c.name}{${c.id}}`)}:  ${c.state}, ${c.mode}, reqid ${c.reqid}, ESP SPIs: c1_i c2_o`, `${pad12(`${c.name}{${c.id}}`)}:   10.0.0.1/32[udp] === 10.0.0.2/32[udp/6081]`);
                const r = parseIpsecStatus(join(lines, l));
                expect(r.ikeUp).toBe(up);
                expect(r.ikeConnecting).toBe(connecting);
                expect(r.routed).toBe(routed.length);
                expect(r.ikeSas).toEqual(ikes.map((s): IkeSaReport => ({ name: s.name, id: s.id, state: s.state, localIp: s.localIp, localId: s.localId, remoteIp: s.remoteIp, remoteId: s.remoteId })));
                expect(r.childSas).toEqual(children.map((c): ChildSaReport => ({ name: c.name, id: c.id, state: c.state, mode: c.mode })));
            }),
            { numRuns: 300 },
        );
    });

    it("any text: a report, or the documented error", () => {
        fc.assert(
            fc.property(fc.oneof(anyText(400), hostileString(60), hostileString(20).map((s) => `Security Associations (1 up, 0 connecting):\n${s}`)), (text) => {
                try {
                    const r = parseIpsecStatus(text);
                    expect(text).toContain("Security Associations");
                    expect(r.ikeUp).toBeGreaterThanOrEqual(0);
                } catch (e) {
                    expectDocumentedError(e, "ipsec status");
                }
            }),
            { numRuns: 500 },
        );
    });
});

describe("observation and evaluation (property)", () => {
    const B = "@@koi-0123456789abcdef@@";
    const peers = [{ name: "w1", systemId: "sid-w1" }, { name: "w2", systemId: "sid-w2" }];
    const framed = fc
        .record({ facts: fc.array(fc.oneof(hostileString(10), fc.constantFrom("monitor=1", "ike=1", "manifest=1", "key_mode=600", "guard_jumps=1", "guard_chain=1", "xfrm_policies=4", "oc_certificate=\"/x\"")), { maxLength: 10 }), tunnels: fc.oneof(anyText(200), fc.constant(NO_TUNNELS_TEXT)), ike: anyText(200), trc: fc.constantFrom("0", "1", "141", ""), irc: fc.constantFrom("0", "3") })
        .map((s) => [`${B} facts`, ...s.facts, `${B} tunnels`, s.tunnels, `${B} ike`, s.ike, `${B} codes`, `tunnels_rc=${s.trc}`, `ike_rc=${s.irc}`].join("\n"));

    it("any output parses to an observation, and its evaluation is consistent with itself", () => {
        fc.assert(
            fc.property(fc.oneof(anyText(500), framed), fc.boolean(), fc.constantFrom("configured" as const, "established" as const), fc.boolean(), fc.boolean(), (stdout, enabled, waitFor, failClosed, natTraversal) => {
                const o = parseObservation("n1", stdout, B, new Date(0));
                expect(JSON.parse(JSON.stringify(o))).toEqual(o);
                const r = evaluateNode({ node: "n1", systemId: "sid-n1", peers, enabled, waitFor, failClosed, natTraversal }, o);
                if (r.health === "protected") expect(r.problems).toEqual([]);
                if (r.ready) expect(r.health === "protected" || r.health === "disabled").toBe(true);
                if (!o.tunnelsShow.ok) expect(r.ready).toBe(false);
                expect(r.health === "disabled").toBe(!enabled);
                expect(r.established).toBeLessThanOrEqual(r.configured);
                expect(r.configured).toBeLessThanOrEqual(r.expectedTunnels);
                expect(r.expectedTunnels).toBe(enabled ? peers.length : 0);
                for (const m of r.missingPeers) expect(peers.map((p) => p.name)).toContain(m);
                expect(r.tunnels.length + r.otherTunnels).toBeGreaterThanOrEqual(r.configured);
            }),
            { numRuns: 400 },
        );
    });
});
