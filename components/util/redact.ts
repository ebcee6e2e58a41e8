/**
 * Last line of defence for anything we surface (errors, outputs): the scripts never print key
 * material, but a misbehaving remote tool might echo its stdin. Whole PEM private keys and
 * long base64 runs (a key, or a base64-encoded key) are cut out.
 */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
// 64+ base64 characters in a row: no path, id, or message of ours is like that.
const LONG_BASE64 = /[A-Za-z0-9+/]{64,}={0,2}/g;

export function redact(text: string): string {
    return text.replace(PEM_PRIVATE_KEY, "[redacted private key]").replace(LONG_BASE64, "[redacted]");
}

/** The last `maxLines` lines of a command's stderr, bounded and redacted, for an error message. */
export function tail(text: string, maxLines = 12, maxChars = 1500): string {
    const lines = redact(text).trimEnd().split("\n");
    let out = lines.slice(-maxLines).join("\n");
    if (out.length > maxChars) out = "..." + out.slice(out.length - maxChars);
    return out;
}
