/**
 * Parsers of `tunnels/show` and `ipsec status[all]`, driven by the files in test/fixtures (see
 * its README for where each came from). Each case checks two things: facts recomputed from the
 * fixture text with deliberately naive line matching (so a parser bug is not mirrored by the
 * test), and values read by eye from the file and written down here.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { isNoTunnelsOutput, parseTunnelsShow } from "../../components/status/tunnelsShow";
import { parseIpsecStatus } from "../../components/status/ipsecStatus";
import type { IkeSaReport, TunnelReport } from "../../components/status/types";

const fixture = (name: string): string => readFileSync(join(__dirname, "..", "fixtures", name), "utf8");
const lines = (text: string): string[] => text.split("\n");

/** The message `parse` throws for `text` (fails the test when it parses). */
function thrownBy(parse: (text: string) => unknown, text: string): string {
    try {
        parse(text);
    } catch (e) {
        return (e as Error).message;
    }
    throw new Error(`parsed without an error: ${JSON.stringify(text.slice(0, 80))}`);
}

// ---------------------------------------------------------------------------------------------
// tunnels/show
// ---------------------------------------------------------------------------------------------

/** The text of each block, split at `Interface name:` lines. */
function blocks(text: string): string[][] {
    const out: string[][] = [];
    for (const l of lines(text)) {
        if (l.startsWith("Interface name:")) out.push([]);
        if (out.length > 0) out[out.length - 1].push(l);
    }
    return out;
}

/** `  Key:   value` of one block, "None" as null, undefined when the field is absent. */
function field(block: string[], key: string): string | null | undefined {
    const l = block.find((x) => x.startsWith(`  ${key}:`));
    if (l === undefined) return undefined;
    const v = l.slice(key.length + 3).trim();
    return v === "None" ? null : v;
}

const FIELD_OF: Array<[keyof TunnelReport, string]> = [
    ["tunnelType", "Tunnel Type"],
    ["localIp", "Local IP"],
    ["remoteIp", "Remote IP"],
    ["addressFamily", "Address Family"],
    ["localCert", "Local cert"],
    ["localName", "Local name"],
    ["localKey", "Local key"],
    ["remoteCert", "Remote cert"],
    ["remoteName", "Remote name"],
    ["caCert", "CA cert"],
];

const ALL_KEYS: Array<keyof TunnelReport> = [
    "interface", "version", "state", "stateDetail", "tunnelType", "localIp", "remoteIp",
    "addressFamily", "localCert", "localName", "localKey", "remoteCert", "remoteName", "caCert",
    "forceEncapsulation", "ofport", "policies", "securityAssociations", "activeConnections",
];

interface TunnelCase {
    file: string;
    /** Values read from the fixture, per block, in order. */
    expect: Array<Partial<TunnelReport>>;
    check?: (reports: TunnelReport[], text: string) => void;
}

const uuidOf = (path: string | undefined): string | undefined => /([0-9a-f-]{36})-(cert|privkey)\.pem$/.exec(path ?? "")?.[1];

const tunnelCases: TunnelCase[] = [
    ...(["n1", "n2", "n3"] as const).map((node, i): TunnelCase => ({
        file: `tunnels-show-3node-configured-${node}.txt`,
        expect: [
            // Order as printed; remote IPs read from the capture.
            { state: "CONFIGURED", version: 1, localIp: `10.99.0.1${i + 1}`, policies: 4, securityAssociations: 0, activeConnections: 0, addressFamily: "IPv4", tunnelType: "geneve", remoteCert: undefined },
            { state: "CONFIGURED", version: 1, localIp: `10.99.0.1${i + 1}`, policies: 4, securityAssociations: 0, activeConnections: 0 },
        ],
        check: (reports) => {
            for (const r of reports) {
                expect(r.remoteName).not.toBe(r.localName);
                // OVN names a tunnel port after the first 6 characters of the peer chassis.
                expect(r.interface).toBe(`ovn-${r.remoteName?.slice(0, 6)}-0`);
                // ovs-pki names the files after the local system-id, which is the local name.
                expect(uuidOf(r.localCert)).toBe(r.localName);
                expect(uuidOf(r.localKey)).toBe(r.localName);
                expect(r.caCert).toBe("/etc/ipsec.d/cacerts/cacert.pem");
            }
            expect(new Set(reports.map((r) => r.ofport))).toEqual(new Set([1, 2]));
            // `Custom Options: {}`: nothing forced.
            for (const r of reports) expect("forceEncapsulation" in r).toBe(false);
        },
    })),
    {
        file: "tunnels-show-3node-forceencaps-n2.txt",
        expect: [
            { interface: "ovn-82ba65-0", version: 4, state: "CONFIGURED", localIp: "10.213.0.12", remoteIp: "10.213.0.11", forceEncapsulation: true, policies: 4 },
            { interface: "ovn-30f16f-0", version: 4, state: "CONFIGURED", localIp: "10.213.0.12", remoteIp: "10.213.0.13", forceEncapsulation: true, policies: 4 },
        ],
    },
    {
        file: "tunnels-show-after-ike-acquire-sa-n1.txt",
        expect: [
            { interface: "ovn-8525d8-0", remoteIp: "10.99.0.13", policies: 4, securityAssociations: 0 },
            { interface: "ovn-8ecc6b-0", remoteIp: "10.99.0.12", policies: 4, securityAssociations: 1, activeConnections: 0 },
        ],
    },
    {
        file: "tunnels-show-kube-ovn-docs-ovs-ovn-d7hdt.txt",
        expect: [{
            interface: "ovn-a4718e-0", version: 1, state: "CONFIGURED", stateDetail: undefined,
            localIp: "172.18.0.2", remoteIp: "172.18.0.4", addressFamily: "IPv4",
            localName: "8aebd9df-46ef-47b9-85e3-73e9a765296d", remoteName: "a4718e55-5b85-4f46-90e6-63527d080590",
            ofport: 2, policies: 4, securityAssociations: 4, activeConnections: 0,
        }],
    },
    {
        file: "tunnels-show-kube-ovn-docs-ovs-ovn-fvbbj.txt",
        expect: [{
            interface: "ovn-8aebd9-0", localIp: "172.18.0.4", remoteIp: "172.18.0.2",
            localName: "a4718e55-5b85-4f46-90e6-63527d080590", remoteName: "8aebd9df-46ef-47b9-85e3-73e9a765296d",
            ofport: 1, policies: 4, securityAssociations: 4,
        }],
    },
    {
        file: "tunnels-show-invalid-removed-handmade.txt",
        expect: [
            { interface: "ovn-5a1c2e-0", version: 1, state: "INVALID", stateDetail: "'remote_ip' is not set", remoteIp: undefined, addressFamily: undefined, ofport: undefined, policies: 0 },
            {
                interface: "ovn-8ecc6b-0", version: 3, state: "INVALID", localKey: undefined, ofport: 1,
                stateDetail: "must set 'private_key' as local private key when using CA-signed certificate or self-signed certificate to authenticate peers",
            },
            { interface: "ovn-8525d8-0", version: 2, state: "REMOVED", stateDetail: undefined, localIp: "%defaultroute", ofport: 2, policies: 2 },
        ],
    },
    {
        file: "tunnels-show-psk-handmade.txt",
        expect: [{ interface: "gre-to-b", tunnelType: "gre", localName: undefined, remoteName: undefined, caCert: undefined, localCert: undefined, policies: 2 }],
        check: (reports, text) => {
            const psk = field(blocks(text)[0], "PSK");
            expect(psk).toBe("fixture-psk-NOT-A-SECRET-7d3f");
            expect(JSON.stringify(reports)).not.toContain(psk);
        },
    },
    {
        file: "tunnels-show-ovs-2.11-fields-handmade.txt",
        expect: [
            { interface: "ovn-a4718e-0", version: 1, localIp: undefined, addressFamily: undefined, remoteIp: "172.18.0.4", policies: 2, securityAssociations: 2 },
            { interface: "ovn-3f9c01-0", version: 2, localIp: undefined, addressFamily: undefined, remoteIp: "172.18.0.3", ofport: 3, policies: 0 },
        ],
    },
    {
        file: "tunnels-show-no-version-handmade.txt",
        expect: [{ interface: "ovn-8ecc6b-0", version: undefined, state: "CONFIGURED", remoteIp: "10.99.0.12", ofport: 1, policies: 1 }],
    },
    {
        file: "tunnels-show-ipv6-handmade.txt",
        expect: [{
            interface: "ovn-8ecc6b-0", addressFamily: "IPv6", localIp: "fd00:10:99::11", remoteIp: "fd00:10:99::12",
            policies: 4, securityAssociations: 2,
        }],
    },
];

describe("parseTunnelsShow on fixtures", () => {
    describe.each(tunnelCases)("$file", ({ file, expect: expected, check }) => {
        const text = fixture(file);
        const reports = parseTunnelsShow(text);
        const bs = blocks(text);

        it("has one report per `Interface name:` header, named as in the header", () => {
            expect(reports).toHaveLength(bs.length);
            expect(reports).toHaveLength(expected.length);
            reports.forEach((r, i) => expect(r.interface).toBe(bs[i][0].split(" ")[2]));
        });

        it("reads every field the block prints and leaves out the absent ones (None, or not printed)", () => {
            reports.forEach((r, i) => {
                for (const [prop, key] of FIELD_OF) {
                    const printed = field(bs[i], key) ?? undefined;
                    expect([prop, r[prop], prop in r]).toEqual([prop, printed, printed !== undefined]);
                }
                const ofport = field(bs[i], "Ofport");
                expect(r.ofport).toBe(ofport !== undefined && ofport !== null && /^\d+$/.test(ofport) ? Number(ofport) : undefined);
            });
        });

        it("counts kernel policies (src lines) and SAs (sel lines) per block", () => {
            reports.forEach((r, i) => {
                expect(r.policies).toBe(bs[i].filter((l) => l.startsWith("  src ")).length);
                expect(r.securityAssociations).toBe(bs[i].filter((l) => l.startsWith("  sel ")).length);
            });
        });

        it("matches the values read from the file", () => {
            // Key by key: an expected `undefined` means the report leaves that field out.
            expected.forEach((e, i) => {
                for (const [k, v] of Object.entries(e)) expect([k, reports[i][k as keyof TunnelReport]]).toEqual([k, v]);
            });
        });

        it("is plain JSON: only known keys, none of them null or undefined (absent means not printed)", () => {
            for (const r of reports) {
                for (const k of Object.keys(r)) expect(ALL_KEYS).toContain(k);
                for (const v of Object.values(r)) expect(v === null || v === undefined).toBe(false);
            }
            expect(JSON.parse(JSON.stringify(reports))).toStrictEqual(reports);
        });

        if (check) it("satisfies the file-specific facts", () => check(reports, text));
    });

    it("3-node mesh: each node's peers are exactly the other two nodes", () => {
        const nodes = ["n1", "n2", "n3"].map((n) => parseTunnelsShow(fixture(`tunnels-show-3node-configured-${n}.txt`)));
        const localNames = nodes.map((rs) => {
            expect(new Set(rs.map((r) => r.localName)).size).toBe(1);
            return rs[0].localName;
        });
        expect(new Set(localNames).size).toBe(3);
        nodes.forEach((rs, i) => {
            const others = localNames.filter((_, j) => j !== i);
            expect(rs.map((r) => r.remoteName).sort()).toEqual([...others].sort());
        });
    });

    it("returns [] for `No tunnels configured with IPsec`", () => {
        const text = fixture("tunnels-show-no-tunnels.txt");
        expect(isNoTunnelsOutput(text)).toBe(true);
        expect(parseTunnelsShow(text)).toEqual([]);
        expect(parseTunnelsShow("\r\n  No tunnels configured with IPsec  \r\n\r\n")).toEqual([]);
        expect(isNoTunnelsOutput(fixture("tunnels-show-3node-configured-n1.txt"))).toBe(false);
    });
});

describe("parseTunnelsShow tolerance", () => {
    const original = fixture("tunnels-show-3node-configured-n1.txt");
    const parsed = parseTunnelsShow(original);

    it("reads CRLF (and lone CR) line endings and trailing spaces the same", () => {
        expect(parseTunnelsShow(original.replace(/\n/g, " \t\r\n"))).toEqual(parsed);
        expect(parseTunnelsShow(original.replace(/\n/g, "\r"))).toEqual(parsed);
    });

    it("reads fields in any order and skips unknown fields and unknown sections", () => {
        const shuffled = blocks(original)
            .map((b) => {
                const header = b[0];
                const fields = b.filter((l) => /^ {2}[A-Za-z ]+:/.test(l) && b.indexOf(l) < b.indexOf("Kernel policies installed:"));
                const rest = b.slice(b.indexOf("Kernel policies installed:"));
                return [header, "  Future Field:   whatever: with colons", ...fields.reverse(), ...rest,
                    "Some future section:", "  Tunnel Type: must-not-be-read-as-a-field", ""].join("\n");
            })
            .join("\n");
        expect(parseTunnelsShow(shuffled)).toEqual(parsed);
    });

    it("reads forced UDP encapsulation from Custom Options, and nothing else of them", () => {
        const block = fixture("tunnels-show-3node-forceencaps-n2.txt").split("\n\n")[0];
        const withOptions = (options: string) => parseTunnelsShow(block.replace("{'forceencaps': 'yes'}", options))[0];
        expect(withOptions("{'forceencaps': 'yes'}").forceEncapsulation).toBe(true);
        expect(withOptions("{'encapsulation': 'yes', 'forceencaps': 'yes'}").forceEncapsulation).toBe(true);
        for (const options of ["{}", "{'forceencaps': 'no'}", "{'encapsulation': 'yes'}", "None", "{'psk': 'forceencaps yes'}"]) {
            const r = withOptions(options);
            expect([options, "forceEncapsulation" in r]).toEqual([options, false]);
            expect(JSON.stringify(r)).not.toContain("psk");
        }
        // A later Custom Options line of the same block replaces an earlier one.
        expect(parseTunnelsShow(block.replace("  Ofport:", "  Custom Options: {}\n  Ofport:"))[0].forceEncapsulation).toBeUndefined();
    });

    it("does not let remote keys reach Object.prototype members", () => {
        const text = "Interface name: x v1 (CONFIGURED)\n  constructor: a\n  __proto__: b\n  toString: c\nconstructor:\n  src 1\n";
        const [r] = parseTunnelsShow(text);
        // Only the keys a header alone gives: the hostile field names set nothing.
        expect(Object.keys(r).sort()).toEqual(["activeConnections", "interface", "policies", "securityAssociations", "state", "version"]);
        expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
        expect(r.policies).toBe(0);
        expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    });

    it("reads each state the monitor prints: INIT, CONFIGURED, REMOVED, INVALID", () => {
        // ovs-monitor-ipsec's IPsecTunnel states: a tunnel is INIT until its IKE connection is
        // loaded. Each header is the n1 capture's first block with its state replaced.
        const block = fixture("tunnels-show-3node-configured-n1.txt").split("\n\n")[0];
        for (const state of ["INIT", "CONFIGURED", "REMOVED"] as const) {
            const [r] = parseTunnelsShow(block.replace("(CONFIGURED)", `(${state})`));
            expect(r.state).toBe(state);
            expect(r.stateDetail).toBeUndefined();
        }
        const [invalid] = parseTunnelsShow(block.replace("(CONFIGURED)", "(INVALID: no certificate)"));
        expect(invalid).toMatchObject({ state: "INVALID", stateDetail: "no certificate" });
    });

    it("marks an unreadable state UNKNOWN and keeps the name", () => {
        const [a, b, c] = parseTunnelsShow(
            "Interface name: a v7 (SOMETHING NEW)\nInterface name: b v2\nInterface name: c v1 (INVALID)\n",
        );
        expect(a).toStrictEqual({ interface: "a", version: 7, state: "UNKNOWN", policies: 0, securityAssociations: 0, activeConnections: 0 });
        expect(b).toMatchObject({ interface: "b", version: 2, state: "UNKNOWN" });
        expect(c).toMatchObject({ interface: "c", state: "INVALID" });
        expect("stateDetail" in c).toBe(false);
    });
});

describe("parseTunnelsShow reads headers and fields as the monitor prints them, nothing more", () => {
    const one = (text: string) => {
        const reports = parseTunnelsShow(text);
        expect(reports).toHaveLength(1);
        return reports[0];
    };

    it("takes the version only from a `v<digits>` word after the interface name", () => {
        expect(one("Interface name: ovn-abc-0 extra v2 (CONFIGURED)\n")).toMatchObject({ interface: "ovn-abc-0", version: 2, state: "CONFIGURED" });
        // The name itself is never the version, and near-misses are not versions.
        expect("version" in one("Interface name: v12 (CONFIGURED)\n")).toBe(false);
        expect(one("Interface name: v12 (CONFIGURED)\n").interface).toBe("v12");
        expect("version" in one("Interface name: ovn-abc-0 xv3 (CONFIGURED)\n")).toBe(false);
        expect("version" in one("Interface name: ovn-abc-0 v3x (CONFIGURED)\n")).toBe(false);
    });

    it("reads the state only from a closed `(STATE)`, with spaces inside tolerated", () => {
        expect(one("Interface name: ovn-abc-0 v1\n")).toMatchObject({ interface: "ovn-abc-0", version: 1, state: "UNKNOWN" });
        expect(one("Interface name: ovn-abc-0 v1 (CONFIGURED\n").state).toBe("UNKNOWN");
        expect(one("Interface name: ovn-abc-0 v1 (CONFIGUREDX\n").state).toBe("UNKNOWN");
        // A parenthesis inside the name is part of it.
        expect(one("Interface name: a(CONFIGURED)\n")).toMatchObject({ interface: "a(CONFIGURED)", state: "UNKNOWN" });
        expect(one("Interface name: ovn-abc-0 v1 ( CONFIGURED )\n")).toMatchObject({ interface: "ovn-abc-0", version: 1, state: "CONFIGURED" });
    });

    it("normalizes keys (case, inner spaces) but takes `None`, empty and non-numeric ports as absent", () => {
        const r = one(["Interface name: ovn-abc-0 v1 (CONFIGURED)", "  LOCAL   IP:     10.0.0.1", "  Remote ip:      None", "  Local name:", "  Ofport:         12abc"].join("\n"));
        expect(r.localIp).toBe("10.0.0.1");
        expect("remoteIp" in r).toBe(false);
        expect("localName" in r).toBe(false);
        expect("ofport" in r).toBe(false);
        expect("ofport" in one("Interface name: ovn-abc-0 v1 (CONFIGURED)\n  Ofport: x12\n")).toBe(false);
        expect(one("Interface name: ovn-abc-0 v1 (CONFIGURED)\n  Ofport: 12\n").ofport).toBe(12);
        // A line without a colon is no field, even when it starts like one.
        expect("remoteIp" in one("Interface name: a v1 (CONFIGURED)\n  Remote ipX\n")).toBe(false);
        expect(one("Interface name: a v1 (CONFIGURED)\n  Ofport: 5\n  Ofportx\n").ofport).toBe(5);
        // A later line for the same field wins, and `None` removes it again.
        expect("remoteIp" in one("Interface name: a v1 (CONFIGURED)\n  Remote ip: 10.0.0.2\n  Remote ip: None\n")).toBe(false);
    });

    it("reads tab-indented lines as fields, blank lines anywhere as separators", () => {
        const r = one("\n\nInterface name: ovn-abc-0 v1 (CONFIGURED)\n\tRemote ip:\t10.0.0.2\n\n\tLocal ip: 10.0.0.1\n");
        expect(r).toMatchObject({ remoteIp: "10.0.0.2", localIp: "10.0.0.1" });
    });

    it("a column-0 line that is not a section keeps counting the section it is in", () => {
        const text = ["Interface name: ovn-abc-0 v1 (CONFIGURED)", "Kernel policies installed:", "  src 10.0.0.1 dst 10.0.0.2", "a note the monitor printed", "  src 10.0.0.2 dst 10.0.0.1"].join("\n");
        expect(one(text).policies).toBe(2);
        // ...while an unknown section header (ends with ':') stops it.
        expect(one(text.replace("a note the monitor printed", "Future section:")).policies).toBe(1);
    });
});

describe("parseTunnelsShow rejects what is not tunnels/show output", () => {
    it("throws on ovs-appctl's `cannot read pidfile`, quoting only the first line", () => {
        const text = fixture("ovs-appctl-monitor-not-running.txt");
        const [first, second] = lines(text);
        expect(() => parseTunnelsShow(text)).toThrow(Error);
        expect(() => parseTunnelsShow(text)).toThrow(first.slice(0, 60));
        expect(() => parseTunnelsShow(text)).not.toThrow(second);
    });

    it.each(["", "   \n\t\r\n"])("throws on empty output %j", (text) => {
        expect(() => parseTunnelsShow(text)).toThrow(/empty/);
    });

    it("truncates a long offending line to 200 characters and never echoes a PSK", () => {
        const message = thrownBy(parseTunnelsShow, `garbage ${"x".repeat(100_000)}`);
        expect(message.length).toBeLessThan(300);
        expect(() => parseTunnelsShow("  PSK:            hunter2\n")).toThrow(/redacted/);
        expect(() => parseTunnelsShow("  PSK:            hunter2\n")).not.toThrow(/hunter2/);
        expect(() => parseTunnelsShow("psk :  hunter2\n")).not.toThrow(/hunter2/);
        // Only a PSK field is redacted; other text is quoted (trimmed) as it is.
        expect(() => parseTunnelsShow("   Not a PSK: line  \n")).toThrow('"Not a PSK: line"');
    });

    it("quotes an offending line of exactly 200 characters whole, a longer one cut with `...`", () => {
        const messageOf = (text: string) => thrownBy(parseTunnelsShow, text);
        const exactly = `g${"x".repeat(199)}`;
        expect(messageOf(exactly)).toBe(`tunnels/show: unexpected output: ${JSON.stringify(exactly)}`);
        expect(messageOf(exactly + "y")).toBe(`tunnels/show: unexpected output: ${JSON.stringify(`${exactly}...`)}`);
        // Control characters are never echoed.
        expect(messageOf("bad\u0007line")).toContain('"bad?line"');
    });

    it("throws when text precedes the first block header", () => {
        const text = `some banner\n${fixture("tunnels-show-3node-configured-n1.txt")}`;
        expect(() => parseTunnelsShow(text)).toThrow(/"some banner"/);
    });
});

// ---------------------------------------------------------------------------------------------
// ipsec status / statusall
// ---------------------------------------------------------------------------------------------

interface StatusCase {
    file: string;
    ikeUp: number;
    ikeConnecting: number;
    routed: number;
    ikeSas: IkeSaReport[];
    /** `name{id} STATE MODE` of each CHILD SA under Security Associations, in order. */
    childSas: string[];
}

const N1 = "25941846-9896-421b-a58f-1e030d5a1f5b";
const N2 = "8ecc6bc4-06d7-4bd8-a6f3-035eb4c29d4c";
const N3 = "8525d8a7-2f58-43a0-a3b4-43ae0287724e";
const dn = (cn: string): string => `C=CN, O=kubeovn, OU=kube-ovn, CN=${cn}`;

const statusCases: StatusCase[] = [
    { file: "ipsec-status-routed-only.txt", ikeUp: 0, ikeConnecting: 0, routed: 4, ikeSas: [], childSas: [] },
    { file: "ipsec-status-no-tunnels.txt", ikeUp: 0, ikeConnecting: 0, routed: 0, ikeSas: [], childSas: [] },
    {
        file: "ipsec-status-ike-established-initiator.txt", ikeUp: 1, ikeConnecting: 0, routed: 4, childSas: [],
        ikeSas: [{ name: "ovn-8ecc6b-0-in-1", id: 1, state: "ESTABLISHED", localIp: "10.99.0.11", localId: N1, remoteIp: "10.99.0.12", remoteId: N2 }],
    },
    {
        file: "ipsec-status-ike-established-responder.txt", ikeUp: 1, ikeConnecting: 0, routed: 4, childSas: [],
        ikeSas: [{ name: "ovn-259418-0-in-1", id: 1, state: "ESTABLISHED", localIp: "10.99.0.12", localId: N2, remoteIp: "10.99.0.11", remoteId: N1 }],
    },
    {
        file: "ipsec-status-child-installed-handmade.txt", ikeUp: 2, ikeConnecting: 0, routed: 4,
        ikeSas: [
            { name: "ovn-8ecc6b-0-in-1", id: 1, state: "ESTABLISHED", localIp: "10.99.0.11", localId: N1, remoteIp: "10.99.0.12", remoteId: N2 },
            { name: "ovn-8525d8-0-out-1", id: 2, state: "ESTABLISHED", localIp: "10.99.0.11", localId: N1, remoteIp: "10.99.0.13", remoteId: N3 },
        ],
        childSas: [
            "ovn-8ecc6b-0-out-1{7} INSTALLED TRANSPORT",
            "ovn-8ecc6b-0-out-1{5} REKEYED TRANSPORT",
            "ovn-8ecc6b-0-in-1{6} INSTALLED TRANSPORT",
            "ovn-8525d8-0-out-1{8} INSTALLED TRANSPORT",
            "ovn-8525d8-0-in-1{9} INSTALLED TRANSPORT",
        ],
    },
    {
        file: "ipsec-statusall-handmade.txt", ikeUp: 1, ikeConnecting: 1, routed: 4,
        ikeSas: [
            { name: "ovn-259418-0-in-1", id: 1, state: "ESTABLISHED", localIp: "10.99.0.12", localId: N2, remoteIp: "10.99.0.11", remoteId: N1 },
            { name: "ovn-8525d8-0-out-1", id: 2, state: "CONNECTING", localIp: "10.99.0.12", localId: "%any", remoteIp: "10.99.0.13", remoteId: "%any" },
        ],
        childSas: ["ovn-259418-0-in-1{3} INSTALLED TRANSPORT", "ovn-259418-0-out-1{5} INSTALLED TRANSPORT"],
    },
    {
        file: "ipsec-status-ipv6-dn-ids-handmade.txt", ikeUp: 1, ikeConnecting: 0, routed: 2,
        ikeSas: [{
            name: "ovn-8ecc6b-0-in-1", id: 3, state: "ESTABLISHED",
            localIp: "fd00:10:99::11", localId: dn(N1), remoteIp: "fd00:10:99::12", remoteId: dn(N2),
        }],
        childSas: ["ovn-8ecc6b-0-in-1{4} INSTALLED TRANSPORT", "ovn-8ecc6b-0-out-1{5} INSTALLED TRANSPORT"],
    },
];

describe("parseIpsecStatus on fixtures", () => {
    describe.each(statusCases)("$file", (c) => {
        const text = fixture(c.file);
        const report = parseIpsecStatus(text);
        const ls = lines(text);
        const saHeader = ls.findIndex((l) => l.startsWith("Security Associations ("));
        const routedHeader = ls.indexOf("Routed Connections:");

        it("takes the IKE SA counts from the `Security Associations (N up, M connecting)` header", () => {
            const m = /\((\d+) up, (\d+) connecting\)/.exec(ls[saHeader]);
            expect([report.ikeUp, report.ikeConnecting]).toEqual([Number(m?.[1]), Number(m?.[2])]);
            expect([report.ikeUp, report.ikeConnecting]).toEqual([c.ikeUp, c.ikeConnecting]);
        });

        it("counts routed entries and SAs like the text does", () => {
            const routedEnd = saHeader;
            const routed = routedHeader < 0 ? [] : ls.slice(routedHeader + 1, routedEnd);
            expect(report.routed).toBe(routed.filter((l) => l.includes(", reqid ")).length);
            const sas = ls.slice(saHeader + 1);
            // Only IKE SA state lines print `<ip>[<id>]...<ip>[<id>]`.
            expect(report.ikeSas).toHaveLength(sas.filter((l) => l.includes("]...")).length);
            expect(report.childSas).toHaveLength(sas.filter((l) => l.includes(", reqid ")).length);
            expect(report.routed).toBe(c.routed);
        });

        it("matches the SAs read from the file", () => {
            expect(report.ikeSas).toEqual(c.ikeSas);
            expect(report.childSas.map((s) => `${s.name}{${s.id}} ${s.state} ${s.mode}`)).toEqual(c.childSas);
            expect(JSON.parse(JSON.stringify(report))).toEqual(report);
        });
    });

    it("statusall: skips the daemon, Connections and SA detail lines", () => {
        const report = parseIpsecStatus(fixture("ipsec-statusall-handmade.txt"));
        const names = [...report.ikeSas.map((s) => s.name), ...report.childSas.map((s) => s.name)];
        expect(names.every((n) => n.startsWith("ovn-"))).toBe(true);
        expect(report.ikeSas.map((s) => s.state)).toEqual(["ESTABLISHED", "CONNECTING"]);
    });

    it("status and statusall of the same state agree on what they share", () => {
        const text = fixture("ipsec-status-child-installed-handmade.txt");
        const statusall = text.replace(
            /^(\S+\{\d+\}): {2}INSTALLED, (.*)$/gm,
            "$1:  INSTALLED, $2\n$1:  AES_GCM_16_256, 0 bytes_i, 0 bytes_o, rekeying in 40 minutes",
        ).replace(/^(\S+\[\d+\]): ESTABLISHED (.*)$/gm, "$1: ESTABLISHED $2\n$1: IKEv2 SPIs: 0123456789abcdef_i* fedcba9876543210_r, public key reauthentication in 2 hours\n$1: IKE proposal: AES_GCM_16_256/PRF_HMAC_SHA2_256/MODP_2048");
        expect(statusall).not.toBe(text);
        expect(parseIpsecStatus(statusall)).toEqual(parseIpsecStatus(text));
        expect(parseIpsecStatus(text.replace(/\n/g, "\r\n"))).toEqual(parseIpsecStatus(text));
    });
});

describe("parseIpsecStatus line formats", () => {
    const wrap = (sa: string): string => `Security Associations (1 up, 0 connecting):\n${sa}\n`;

    it("reads names right-aligned in 12 columns (short connection names)", () => {
        const r = parseIpsecStatus(wrap(
            "        home[12]: ESTABLISHED 3 hours ago, 192.0.2.1[moon]...192.0.2.2[sun]\n" +
            "        home{3}:  INSTALLED, TUNNEL, reqid 1, ESP in UDP SPIs: c1234567_i c7654321_o\n" +
            "        home{3}:   10.1.0.0/16 === 10.2.0.0/16",
        ));
        expect(r.ikeSas).toEqual([{ name: "home", id: 12, state: "ESTABLISHED", localIp: "192.0.2.1", localId: "moon", remoteIp: "192.0.2.2", remoteId: "sun" }]);
        expect(r.childSas).toEqual([{ name: "home", id: 3, state: "INSTALLED", mode: "TUNNEL" }]);
    });

    it("splits IDs that contain spaces, `=`, brackets and even `]...`", () => {
        const [sa] = parseIpsecStatus(wrap(
            "c[1]: ESTABLISHED 1 second ago, 2001:db8::1[C=US, O=a]...b [x], CN=y]...2001:db8::2[CN=z, O=q=r]",
        )).ikeSas;
        expect(sa).toMatchObject({ localIp: "2001:db8::1", localId: "C=US, O=a]...b [x], CN=y", remoteIp: "2001:db8::2", remoteId: "CN=z, O=q=r" });
    });

    it("keeps the SA with null endpoints when they cannot be read", () => {
        const [sa] = parseIpsecStatus(wrap("c[1]: DELETING, something odd")).ikeSas;
        expect(sa).toEqual({ name: "c", id: 1, state: "DELETING", localIp: null, localId: null, remoteIp: null, remoteId: null });
    });

    it("takes counts of several digits from the header", () => {
        const r = parseIpsecStatus("Security Associations (12 up, 10 connecting):\n  none\n");
        expect(r).toMatchObject({ ikeUp: 12, ikeConnecting: 10, ikeSas: [], childSas: [] });
    });

    it("reads strongSwan < 5.3 CHILD SA lines (no reqid) and the < 4.5.3 bare SA header", () => {
        const r = parseIpsecStatus(
            "Routed Connections:\n  ovn-x-in-1{1}:  ROUTED, TRANSPORT\n  ovn-x-in-1{1}:   a === b\n" +
            "Security Associations:\n  ovn-x-in-1[2]: ESTABLISHED 1 minute ago, 10.0.0.1[a]...10.0.0.2[b]\n" +
            "  ovn-x-in-1{1}:  INSTALLED, TRANSPORT, ESP SPIs: c0000001_i c0000002_o\n" +
            "  ovn-x-in-2[3]: CONNECTING, 10.0.0.1[a]...10.0.0.3[%any]\n" +
            "  ovn-x-in-4[4]: ESTABLISHED 2 minutes ago, 10.0.0.1[a]...10.0.0.4[d]\n",
        );
        // Counted from the SA lines: 2 up, 1 connecting (different, so a swapped filter shows).
        expect(r).toMatchObject({ ikeUp: 2, ikeConnecting: 1, routed: 1 });
        expect(r.childSas).toEqual([{ name: "ovn-x-in-1", id: 1, state: "INSTALLED", mode: "TRANSPORT" }]);
    });

    it("a section starts only at a column-0 header; the counts header must be exact", () => {
        const child = "  c{1}:  INSTALLED, TRANSPORT, reqid 1, ESP SPIs: c0000001_i c0000002_o";
        // An indented (or tab-indented) "Routed Connections:" is a line, not a section switch.
        const r = parseIpsecStatus(`Security Associations (0 up, 0 connecting):\n  Routed Connections:\n${child}\n\tRouted Connections:\n${child.replace("{1}", "{2}")}\n`);
        expect(r.childSas.map((c) => c.id)).toEqual([1, 2]);
        expect(r.routed).toBe(0);
        // Counts only from the exact header; a near-miss falls back to counting SA lines.
        const sa = "  c[1]: ESTABLISHED 1 second ago, 10.0.0.1[a]...10.0.0.2[b]";
        expect(parseIpsecStatus(`Security Associations (7 up, 3 connecting):\n${sa}\n`)).toMatchObject({ ikeUp: 7, ikeConnecting: 3 });
        expect(parseIpsecStatus(`Security Associations (x up, 3 connecting):\n${sa}\n`)).toMatchObject({ ikeUp: 1, ikeConnecting: 0 });
        expect(parseIpsecStatus(`Security Associations (7 up, 3 connecting): extra:\n${sa}\n`)).toMatchObject({ ikeUp: 1, ikeConnecting: 0 });
        // An indented counts line under the bare (< 4.5.3) header is not a header: counted from the SA lines.
        expect(parseIpsecStatus(`Security Associations:\n  Security Associations (7 up, 3 connecting):\n${sa}\n`)).toMatchObject({ ikeUp: 1, ikeConnecting: 0 });
        // Without the trailing colon it is no header at all.
        expect(() => parseIpsecStatus("Security Associations (1 up, 0 connecting)\n")).toThrow(/no "Security Associations" header/);
    });

    it("statusall's other sections hide their `{N}` and `[N]` lines; an unknown header does not", () => {
        const child = (n: number) => `  c{${n}}:  INSTALLED, TRANSPORT, reqid 1, ESP SPIs: c0000001_i c0000002_o`;
        const text = ["Security Associations (0 up, 0 connecting):", child(1), "Connections:", child(2), "Shunted Connections:", child(3), "Security Associations (0 up, 0 connecting):", child(4), "Some future line:", child(5), "Virtual IP pools (size/online/offline):", child(6), "Status of IKE charon daemon (strongSwan 5.9.8, Linux 6.1.0, x86_64):", child(7)].join("\n");
        expect(parseIpsecStatus(text).childSas.map((c) => c.id)).toEqual([1, 4, 5]);
        // Only a listed header whose line ends with ':' switches (a line that merely starts like one does not).
        const routed = ["Routed Connections:", child(1), "Connections: none here", child(2), "Security Associations (0 up, 0 connecting):"].join("\n");
        expect(parseIpsecStatus(routed).routed).toBe(2);
    });

    it("reads the `<name>{N}:` / `<name>[N]:` prefix strictly", () => {
        const sas = (line: string) => parseIpsecStatus(wrap(line));
        // A name is required; the id is digits only; the bracket must close the token.
        expect(sas("{1}:  INSTALLED, TRANSPORT").childSas).toEqual([]);
        expect(sas("c{1a}:  INSTALLED, TRANSPORT").childSas).toEqual([]);
        expect(sas("c{a1}:  INSTALLED, TRANSPORT").childSas).toEqual([]);
        expect(sas("c{}:  INSTALLED, TRANSPORT").childSas).toEqual([]);
        expect(sas("c{1}x:  INSTALLED, TRANSPORT").childSas).toEqual([]);
        expect(sas("c{12x:  INSTALLED, TRANSPORT").childSas).toEqual([]);
        expect(sas("c[12x: ESTABLISHED 1 second ago, 10.0.0.1[a]...10.0.0.2[b]").ikeSas).toEqual([]);
        expect(sas("a{b{7}:  INSTALLED, TRANSPORT").childSas).toEqual([{ name: "a{b", id: 7, state: "INSTALLED", mode: "TRANSPORT" }]);
        // State and mode must both be upper-case words.
        expect(sas("c{1}:  INSTALLED").childSas).toEqual([]);
        expect(sas("c{1}:  INSTALLED, tunnel").childSas).toEqual([]);
        expect(sas("c{1}:  Installed, TUNNEL").childSas).toEqual([]);
        expect(sas("c{1}:  AES_GCM_16_256, 0 bytes_i").childSas).toEqual([]);
        expect(sas("c{1}:").childSas).toEqual([]);
        expect(sas("[1]: ESTABLISHED 1 second ago, 10.0.0.1[a]...10.0.0.2[b]").ikeSas).toEqual([]);
        expect(sas("c[1]:").ikeSas).toEqual([]);
    });

    it("takes an IKE SA's state from its first word: known states, or an unknown one followed by a comma", () => {
        const ike = (rest: string) => parseIpsecStatus(wrap(`c[1]: ${rest}`)).ikeSas;
        expect(ike("REKEYING, 10.0.0.1[a]...10.0.0.2[b]")[0]).toMatchObject({ state: "REKEYING", remoteId: "b" });
        expect(ike("NEWSTATE, 10.0.0.1[a]...10.0.0.2[b]")[0]).toMatchObject({ state: "NEWSTATE", remoteIp: "10.0.0.2" });
        expect(ike("NEWSTATE 3 seconds ago, 10.0.0.1[a]...10.0.0.2[b]")).toEqual([]);
        expect(ike("IKE proposal: AES_CBC_128/HMAC_SHA2_256_128")).toEqual([]);
        expect(ike("ESTABLISHED")[0]).toMatchObject({ state: "ESTABLISHED", localIp: null });
        // Endpoints only after the comma that ends the state part.
        expect(ike("ESTABLISHED 1 second ago 10.0.0.1[a]...10.0.0.2[b]")[0]).toMatchObject({ state: "ESTABLISHED", localIp: null, remoteId: null });
    });

    it("splits endpoints only at `]...<host>[`, with a host on both sides and ids closed", () => {
        const ends = (s: string) => parseIpsecStatus(wrap(`c[1]: CONNECTING, ${s}`)).ikeSas[0];
        expect(ends("10.0.0.1[a]...10.0.0.2[b]")).toMatchObject({ localIp: "10.0.0.1", localId: "a", remoteIp: "10.0.0.2", remoteId: "b" });
        expect(ends("%any[a]...%any6[%any]")).toMatchObject({ localIp: "%any", remoteIp: "%any6", remoteId: "%any" });
        for (const odd of ["[a]...10.0.0.2[b]", "10.0.0.1[a]...10.0.0.2[b", "10.0.0.1[a]...[b]", "10.0.0.1[a]...10.0.0.2", "10.0.0.1[a]...10.0.0.2[]", "10.0.0.1 a]...10.0.0.2[b]", "10.0.0.1[a]..10.0.0.2[b]"]) {
            const sa = ends(odd);
            expect({ odd, localIp: sa.localIp, remoteId: sa.remoteId }).toEqual({ odd, localIp: odd === "10.0.0.1[a]...10.0.0.2[]" ? "10.0.0.1" : null, remoteId: odd === "10.0.0.1[a]...10.0.0.2[]" ? "" : null });
        }
        // A later `]...` is tried when the first is not followed by a host and `[`.
        expect(ends("10.0.0.1[x]... y]...10.0.0.2[b]")).toMatchObject({ localId: "x]... y", remoteIp: "10.0.0.2", remoteId: "b" });
    });

    it("quotes the first line of non-status text trimmed, printable, at most 200 characters", () => {
        const messageOf = (text: string) => thrownBy(parseIpsecStatus, text);
        const exactly = `g${"x".repeat(199)}`;
        expect(messageOf(`\n  ${exactly}  \nsecond`)).toBe(`ipsec status: no "Security Associations" header; first line: ${JSON.stringify(exactly)}`);
        expect(messageOf(`${exactly}y`)).toContain(JSON.stringify(`${exactly}...`));
        expect(messageOf("bad\u0007line")).toContain('"bad?line"');
        expect(messageOf(" \n\t\n")).toBe("ipsec status: empty output (charon not running?)");
    });

    it("throws on empty output (charon not running) and on non-status text", () => {
        expect(() => parseIpsecStatus("")).toThrow(/empty/);
        const pidfile = fixture("ovs-appctl-monitor-not-running.txt");
        expect(() => parseIpsecStatus(pidfile)).toThrow(/Security Associations/);
        expect(() => parseIpsecStatus(pidfile)).not.toThrow(lines(pidfile)[1]);
        expect(() => parseIpsecStatus(fixture("tunnels-show-3node-configured-n1.txt"))).toThrow(Error);
    });
});

describe("hostile input stays linear", () => {
    const n = 200_000;
    const hostile = [
        `x[1]: ESTABLISHED 1 second ago, a[${"]...".repeat(n)}`,
        `x[1]: ESTABLISHED 1 second ago, a[${"]...a".repeat(n)}]`,
        `x[1]: ESTABLISHED, ${"[".repeat(n)}]`,
        `${"x".repeat(n)}{1}:  ${"A, ".repeat(n)}`,
        `  ${"a:".repeat(n)}`,
    ];

    it.each(hostile.map((h, i) => [i, h]))("status line %i parses in well under a second", (_, line) => {
        const t0 = Date.now();
        parseIpsecStatus(`Security Associations (0 up, 0 connecting):\n${line}\n`);
        expect(Date.now() - t0).toBeLessThan(1000);
    });

    it.each(hostile.map((h, i) => [i, h]))("tunnels/show line %i parses in well under a second", (_, line) => {
        const t0 = Date.now();
        parseTunnelsShow(`Interface name: ${line} v1 (${line})\n  Remote IP: ${line}\n${line}:\n`);
        expect(Date.now() - t0).toBeLessThan(1000);
    });
});
