/**
 * The stdin of the apply script: the sha256 of each file, then the three PEMs, framed by lines
 * no PEM can contain. Everything secret (the key, and its digest) travels here, never in argv,
 * which `ps` on the node and the API server's audit log of the exec both see.
 */
import { sha256Hex } from "./nodeFiles";

export const PAYLOAD_SUM = "koi-sum";
export const PAYLOAD_FILE = "koi-file";
export const PAYLOAD_END = "koi-end";

/** The three files, by the other_config key that points at each. */
export interface NodePems {
    caCert: string;
    certificate: string;
    privateKey: string;
}

/** Shell words (already quoted or expanded by the caller) naming where the reader writes. */
export interface PayloadTargets {
    caCert: string;
    certificate: string;
    privateKey: string;
    /** `<key> <sha256>` lines, one per file. */
    sums: string;
}

/**
 * The command that reads the payload from stdin into the three files and the sums file. It
 * exits 9 when stdin ends before the end marker (a transport that cut the data short); the
 * caller then compares each file with its sum.
 */
export function payloadReader(t: PayloadTargets): string {
    return `awk -v ca=${t.caCert} -v cert=${t.certificate} -v key=${t.privateKey} -v sums=${t.sums} '
    f == "" && $1 == "${PAYLOAD_SUM}" { print $2, $3 > sums; next }
    $0 == "${PAYLOAD_FILE} ca_cert" { f = ca; next }
    $0 == "${PAYLOAD_FILE} certificate" { f = cert; next }
    $0 == "${PAYLOAD_FILE} private_key" { f = key; next }
    $0 == "${PAYLOAD_END}" { done = 1; exit }
    f != "" { print > f }
    END { if (!done) exit 9 }
'`;
}

const withNewline = (pem: string): string => (pem.endsWith("\n") ? pem : pem + "\n");

/**
 * The framed payload. Refuses (throws) a text the reader could not deliver unchanged, naming
 * only which file it was: the text itself may be a key.
 */
export function applyPayload(pems: NodePems): string {
    for (const [k, text] of [["CA certificate", pems.caCert], ["certificate", pems.certificate], ["private key", pems.privateKey]] as const) {
        // A line the reader could take for framing: no PEM holds one (nor a NUL, which awk mangles).
        if (text.includes("\0") || /(^|\n)koi-/.test(text)) throw new Error(`the ${k} is not PEM text: it holds a NUL byte or a line starting with "koi-", which the node would misread`);
    }
    const files: Array<[string, string]> = [
        ["ca_cert", withNewline(pems.caCert)],
        ["certificate", withNewline(pems.certificate)],
        ["private_key", withNewline(pems.privateKey)],
    ];
    // The digest is of exactly what the script will write (the text with its final newline).
    const sums = files.map(([k, pem]) => `${PAYLOAD_SUM} ${k} ${sha256Hex(pem)}\n`).join("");
    return sums + files.map(([k, pem]) => `${PAYLOAD_FILE} ${k}\n${pem}`).join("") + PAYLOAD_END + "\n";
}
