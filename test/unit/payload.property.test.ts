/**
 * Property: the apply script's stdin payload (nodePayload.ts) reaches the node's files byte for
 * byte, or is refused before it is sent. The real reader (the awk command the apply script
 * runs) runs in a local sh on a temporary directory, fed through the real transport framing
 * (buildRemoteInvocation, both script-on-stdin and script-in-argv), as a node would get it.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { NodePems, applyPayload, payloadReader } from "../../components/node/nodePayload";
import { buildRemoteInvocation } from "../../components/transport/exec";
import { shellQuote as q } from "../../components/transport/shellQuote";
import { resolveAccess } from "../../components/validation";
import { anyText, hostileString } from "../support/arbitraries";

const KEYS = ["caCert", "certificate", "privateKey"] as const;
const SUM_NAMES: Record<(typeof KEYS)[number], string> = { caCert: "ca_cert", certificate: "certificate", privateKey: "private_key" };
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** PEM-shaped text: a label, base64 lines of any width, optional headers and trailing newline. */
const pemText = fc
    .record({
        label: fc.constantFrom("CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"),
        body: fc.uint8Array({ minLength: 0, maxLength: 600 }),
        width: fc.integer({ min: 1, max: 80 }),
        headers: fc.array(fc.stringMatching(/^[A-Za-z-]{1,12}: [ -~]{0,30}$/), { maxLength: 2 }),
        newline: fc.constantFrom("", "\n", "\n\n"),
    })
    .map(({ label, body, width, headers, newline }) => {
        const b64 = Buffer.from(body).toString("base64");
        const lines = b64.match(new RegExp(`.{1,${width}}`, "g")) ?? [];
        const head = headers.length > 0 ? [...headers, ""] : [];
        return [`-----BEGIN ${label}-----`, ...head, ...lines, `-----END ${label}-----`].join("\n") + newline;
    });

/** Lines that look like our framing, mixed with hostile and PEM-like lines. */
const lineMix = fc
    .array(fc.oneof(fc.constantFrom("koi-end", "koi-file certificate", "koi-file private_key", "koi-sum ca_cert 00", "koi-", "-----END CERTIFICATE-----", "", "\r", "\0"), hostileString(8)), { maxLength: 8 })
    .map((lines) => lines.join("\n"));
const anyPayloadText = fc.oneof(pemText, lineMix, hostileString(60), anyText(300));
const pemsOf = (gen: fc.Arbitrary<string>) => fc.record({ caCert: gen, certificate: gen, privateKey: gen });

describe("the apply payload (property)", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-payload-"));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const target = (k: string) => path.join(dir, k);
    const readerScript = () => `export LC_ALL=C\nrm -f ${["caCert", "certificate", "privateKey", "sums"].map((k) => q(target(k))).join(" ")}\n${payloadReader({ caCert: q(target("caCert")), certificate: q(target("certificate")), privateKey: q(target("privateKey")), sums: q(target("sums")) })}\necho "rc=$?"`;
    const access = (scriptVia: "stdin" | "argv") => resolveAccess({ command: { prefix: ["env", "KOI_TARGET={target}"], targets: { central: "c1", nodes: { n1: "n1" } }, scriptVia, kubeOvnVersion: "v1.12.22" } });

    /** Runs the reader on `stdin` the way the transport sends it; its exit code. */
    function deliver(stdin: string, scriptVia: "stdin" | "argv"): number {
        const inv = buildRemoteInvocation(access(scriptVia), { kind: "target", label: "n1", target: "n1" }, readerScript(), stdin, 30);
        const r = spawnSync(inv.file, inv.args, { input: inv.input, encoding: "utf8" });
        const m = /rc=(\d+)/.exec(r.stdout);
        if (m === null) throw new Error(`the reader did not run: ${r.stderr}`);
        return Number(m[1]);
    }

    it("PEM-shaped files arrive byte-identical, with sums that match them, by either framing", () => {
        fc.assert(
            fc.property(pemsOf(pemText), fc.constantFrom("stdin" as const, "argv" as const), (pems: NodePems, via) => {
                expect(deliver(applyPayload(pems), via)).toBe(0);
                const sums = Object.fromEntries(fs.readFileSync(target("sums"), "utf8").trim().split("\n").map((l) => l.split(" ")));
                for (const k of KEYS) {
                    const got = fs.readFileSync(target(k));
                    const sent = pems[k].endsWith("\n") ? pems[k] : `${pems[k]}\n`;
                    expect(got.equals(Buffer.from(sent, "utf8"))).toBe(true);
                    expect(sums[SUM_NAMES[k]]).toBe(sha256(got));
                }
            }),
            { numRuns: 60 },
        );
    });

    it("any text is delivered byte-identical or refused before sending", () => {
        fc.assert(
            fc.property(pemsOf(anyPayloadText), fc.constantFrom("stdin" as const, "argv" as const), (pems: NodePems, via) => {
                let payload: string;
                try {
                    payload = applyPayload(pems);
                } catch (e) {
                    // Refused: only for what the reader could misread, and without echoing it.
                    expect(KEYS.some((k) => pems[k].includes("\0") || /(^|\n)koi-/.test(pems[k]))).toBe(true);
                    for (const k of KEYS) if (pems[k].length > 8) expect((e as Error).message).not.toContain(pems[k]);
                    return;
                }
                expect(deliver(payload, via)).toBe(0);
                for (const k of KEYS) {
                    const sent = pems[k].endsWith("\n") ? pems[k] : `${pems[k]}\n`;
                    expect(fs.readFileSync(target(k)).equals(Buffer.from(sent, "utf8"))).toBe(true);
                }
            }),
            { numRuns: 80 },
        );
    });

    it("a payload cut short anywhere before its end marker makes the reader fail (exit 9)", () => {
        fc.assert(
            fc.property(pemsOf(pemText), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (pems: NodePems, at) => {
                const payload = applyPayload(pems);
                // Everything up to, but not including, the whole end-marker line.
                const cut = payload.slice(0, Math.floor(at * (payload.length - "koi-end\n".length)));
                // The framing always adds a final newline; the cut is sent as the script's stdin
                // directly, the way a transport that drops the rest would deliver it.
                const r = spawnSync("sh", ["-c", readerScript()], { input: cut, encoding: "utf8" });
                expect(r.stdout).toContain("rc=9");
            }),
            { numRuns: 40 },
        );
    });
});
