/**
 * Where a node's files go and which files our cleanup removes. The cleanup globs are run by a
 * real `sh` on a temporary copy of the /etc/ipsec.d layout: a glob that no longer matches the
 * key files would leave private keys behind on every rotation and destroy.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FILE_PREFIX, IPSEC_DIR, MANIFEST, OUR_FILE_GLOBS, OUR_STATE_FILES, STARTED_MARKER, fingerprint, nodeFilePaths, sha256Hex } from "../../components/node/nodeFiles";
import { shellQuote } from "../../components/transport/shellQuote";

const SID = "25941846-9896-421b-a58f-1e030d5a1f5b";
const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${Buffer.from(body).toString("base64")}\n-----END ${label}-----\n`;
const CERT = pem("CERTIFICATE", "node cert v1");
const CERT2 = pem("CERTIFICATE", "node cert v2");
const CA = pem("CERTIFICATE", "ca cert");

/** sha256 as the pod computes it (coreutils sha256sum), not through our own helper. */
function sha256sum(text: string): string {
    return execFileSync("sha256sum", [], { input: text, encoding: "utf8" }).split(" ")[0];
}

describe("node file layout", () => {
    it("puts certificate, key and CA certificate in strongSwan's three directories, named ours", () => {
        const p = nodeFilePaths(SID, CERT, CA);
        const tag = sha256sum(CERT).slice(0, 16);
        expect(p.certificate).toBe(`/etc/ipsec.d/certs/kube-ovn-ipsec-${SID}-${tag}.pem`);
        expect(p.privateKey).toBe(`/etc/ipsec.d/private/kube-ovn-ipsec-${SID}-${tag}.pem`);
        expect(p.caCert).toBe(`/etc/ipsec.d/cacerts/kube-ovn-ipsec-ca-${sha256sum(CA).slice(0, 16)}.pem`);
    });

    it("digests match what sha256sum prints for the same text", () => {
        for (const text of [CERT, "", "ünï\r\n", "x".repeat(10000)]) {
            expect(sha256Hex(text)).toBe(sha256sum(text));
            expect(fingerprint(text)).toBe(sha256sum(text).slice(0, 16));
        }
    });

    it("a rotated certificate moves the certificate and key paths, never the CA's", () => {
        const a = nodeFilePaths(SID, CERT, CA);
        const b = nodeFilePaths(SID, CERT2, CA);
        expect(b.certificate).not.toBe(a.certificate);
        expect(b.privateKey).not.toBe(a.privateKey);
        expect(b.caCert).toBe(a.caCert);
        const c = nodeFilePaths(SID, CERT, CERT2);
        expect(c.caCert).not.toBe(a.caCert);
        expect(c.certificate).toBe(a.certificate);
    });

    it("keeps the manifest and the started marker outside the PEM directories", () => {
        expect(OUR_STATE_FILES).toEqual([MANIFEST, STARTED_MARKER]);
        for (const f of OUR_STATE_FILES) {
            expect(path.dirname(f)).toBe(IPSEC_DIR);
            expect(path.basename(f).startsWith(FILE_PREFIX)).toBe(true);
        }
    });
});

describe("the cleanup globs in a real sh", () => {
    let root: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "koi-files-"));
        for (const d of ["certs", "private", "cacerts"]) fs.mkdirSync(path.join(root, d));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    /** The same path under the temporary root. */
    const local = (p: string) => {
        expect(p.startsWith(IPSEC_DIR + "/")).toBe(true);
        return path.join(root, p.slice(IPSEC_DIR.length));
    };
    /** `rm -f` over the globs, rooted in the temporary directory (the glob part unquoted). */
    const removeOurs = () => {
        const globs = OUR_FILE_GLOBS.map((g) => `${shellQuote(root)}${g.slice(IPSEC_DIR.length)}`);
        execFileSync("sh", ["-c", `rm -f ${globs.join(" ")}`]);
    };
    const write = (p: string) => fs.writeFileSync(p, "x", { mode: 0o600 });

    it("removes every version of our certificate, key and CA files", () => {
        const ours = [nodeFilePaths(SID, CERT, CA), nodeFilePaths(SID, CERT2, CERT2), nodeFilePaths("other-system-id", CERT, CA)]
            .flatMap((p) => [p.certificate, p.privateKey, p.caCert])
            .map(local);
        ours.forEach(write);
        removeOurs();
        expect(ours.filter((f) => fs.existsSync(f))).toEqual([]);
        // The private keys were there to remove (the test would prove nothing otherwise).
        expect(ours.filter((f) => f.includes("/private/"))).toHaveLength(3);
    });

    it("leaves the operator's own files, and files that only look like ours, in place", () => {
        const foreign = [
            "certs/node-cert.pem",
            "private/node-key.pem",
            "private/kube-ovn-ipsec-key.der",
            "cacerts/cacert.pem",
            "cacerts/kube-ovn-ipsec-other.pem",
            "kube-ovn-ipsec-ca-1234.pem",
        ].map((f) => path.join(root, f));
        foreign.forEach(write);
        removeOurs();
        expect(foreign.filter((f) => !fs.existsSync(f))).toEqual([]);
    });
});
