/**
 * The node side of a CA rotation (cluster/caTrustProvider.ts): strongSwan trusts every file in
 * /etc/ipsec.d/cacerts/ (one certificate per file), re-read by `ipsec rereadcacerts` without
 * touching any SA. So a rotation adds the new CA as its own file on every node before any node
 * changes its certificate, and removes the old one only once no node uses it.
 */
import { ScriptLimits, prelude } from "../transport/scriptKit";
import { shellQuote as q } from "../transport/shellQuote";
import { FILE_PREFIX, IPSEC_DIR, caFilePath } from "./nodeFiles";

/** One PEM certificate and nothing else: what may be written into cacerts/ (public data, quoted). */
const CERT_PEM = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]{1,16384}-----END CERTIFICATE-----\n?$/;

export function isCertificatePem(text: string): boolean {
    return CERT_PEM.test(text);
}

const reread = `if ike_up; then out=$(bounded 10 ipsec rereadcacerts 2>&1) || fail_cmd reread-ca "$out" "ipsec rereadcacerts"; fi`;

/** Adds each CA certificate as its own file (atomically) where it is missing; never removes one. */
export function trustScript(boundary: string, limits: ScriptLimits, caCertPems: readonly string[]): string {
    const installs = caCertPems.map((pem) => {
        if (!isCertificatePem(pem)) throw new Error("a CA to trust is not a single PEM certificate");
        const path = q(caFilePath(pem));
        return `if [ ! -f ${path} ]; then
    out=$( { printf '%s' ${q(pem.endsWith("\n") ? pem : `${pem}\n`)} > ${path}.koi-tmp && chmod 0644 ${path}.koi-tmp && mv -f ${path}.koi-tmp ${path}; } 2>&1) || { rm -f ${path}.koi-tmp; fail_cmd trust-ca "$out" "writing ${caFilePath(pem)}"; }
    added=$((added + 1))
fi`;
    });
    return `${prelude(boundary, limits, { name: "trust-ca", readOnly: false })}
need sed timeout flock
lock exclusive
out=$(mkdir -p ${q(`${IPSEC_DIR}/cacerts`)} 2>&1) || fail_cmd trust-ca "$out" "creating ${IPSEC_DIR}/cacerts"
added=0
${installs.join("\n")}
[ "$added" = 0 ] || ${reread}
section facts
printf 'added=%s\\n' "$added"
`;
}

/** Removes our CA files other than `keep` (the CA every node's certificate is now signed by). */
export function retireScript(boundary: string, limits: ScriptLimits, keep: string): string {
    return `${prelude(boundary, limits, { name: "retire-ca", readOnly: false })}
need sed timeout flock
lock exclusive
removed=0
for f in ${IPSEC_DIR}/cacerts/${FILE_PREFIX}ca-*.pem; do
    [ -e "$f" ] && [ "$f" != ${q(keep)} ] || continue
    out=$(rm -f "$f" 2>&1) || fail_cmd retire-ca "$out" "removing $f"
    removed=$((removed + 1))
done
[ "$removed" = 0 ] || ${reread}
section facts
printf 'removed=%s\\n' "$removed"
`;
}

/** Prints each of our CA files in its own section `ca <file name>` (public certificates). */
export function listTrustedScript(boundary: string, limits: ScriptLimits): string {
    return `${prelude(boundary, limits, { name: "list-trusted-cas", readOnly: true })}
need timeout flock head
lock shared
for f in ${IPSEC_DIR}/cacerts/${FILE_PREFIX}ca-*.pem; do
    [ -f "$f" ] || continue
    section "ca \${f##*/}"
    head -c 20000 "$f"
done
section end
`;
}
