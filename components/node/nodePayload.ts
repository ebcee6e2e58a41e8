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

const withNewline = (pem: string): string => (pem.endsWith("\n") ? pem : pem + "\n");

export function applyPayload(pems: NodePems): string {
    const files: Array<[string, string]> = [
        ["ca_cert", withNewline(pems.caCert)],
        ["certificate", withNewline(pems.certificate)],
        ["private_key", withNewline(pems.privateKey)],
    ];
    // The digest is of exactly what the script will write (the text with its final newline).
    const sums = files.map(([k, pem]) => `${PAYLOAD_SUM} ${k} ${sha256Hex(pem)}\n`).join("");
    return sums + files.map(([k, pem]) => `${PAYLOAD_FILE} ${k}\n${pem}`).join("") + PAYLOAD_END + "\n";
}
