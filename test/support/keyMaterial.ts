/**
 * Recognising private key material in any text: the keys themselves (from the harness state,
 * where they are secrets), in the forms a leak could take: a PEM line of the key, the base64 of
 * the whole PEM (as Kubernetes stores Secret data), or any PEM private key block at all.
 */
import { Harness } from "../../tools/engine/engine";
import { isSecret, unwrap } from "../../tools/engine/wire";

const PEM_BLOCK = /-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{16}/;

/** Every private key PEM in the harness state right now (tls PrivateKey outputs). */
export function privateKeys(h: Harness): string[] {
    const keys: string[] = [];
    for (const r of h.resourcesOfType("tls:index/privateKey:PrivateKey")) {
        for (const field of ["privateKeyPem", "privateKeyPemPkcs8"]) {
            const v = r.outputs[field];
            if (v !== undefined) {
                if (!isSecret(v)) throw new Error(`${r.name}.${field} is not a secret in the state`);
                keys.push(String(unwrap(v)));
            }
        }
    }
    return keys;
}

/**
 * Fragments that must never appear outside a secret: base64 lines from the second half of each
 * key's PEM (the first part also encodes the public modulus, which public keys legitimately
 * show), and the start of the base64 of each whole PEM (header and key data).
 */
export function keyFingerprints(keys: readonly string[]): string[] {
    const out = new Set<string>();
    for (const pem of keys) {
        const lines = pem.split("\n").filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l));
        for (const line of lines.slice(Math.ceil(lines.length / 2))) out.add(line);
        out.add(Buffer.from(pem).toString("base64").slice(0, 120));
    }
    return [...out];
}

/** What in `text` looks like key material: a PEM private key block, or a fragment of a known key. */
export function leaksIn(text: string, fingerprints: readonly string[]): string[] {
    const found: string[] = [];
    if (PEM_BLOCK.test(text)) found.push("a PEM private key block");
    for (const f of fingerprints) if (text.includes(f)) found.push(`key fragment ${f.slice(0, 12)}...`);
    return found;
}
