/**
 * The stand-in's serving certificate: a fresh self-signed one per start (P-256, valid 7 days,
 * SAN 127.0.0.1 and localhost), as a kubeconfig's `certificate-authority-data` can carry it.
 * kubectl (Go's crypto/x509) accepts a self-signed leaf as its own trust anchor. openssl writes
 * the key and the certificate to stdout (`-keyout -`), so the key never touches the disk.
 */
import { execFileSync } from "child_process";

export interface ServingCertificate {
    certPem: string;
    keyPem: string;
}

export function selfSignedCertificate(commonName = "kube-ovn-ipsec-lab-api"): ServingCertificate {
    let out: string;
    try {
        out = execFileSync(
            "openssl",
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "-", "-days", "7", "-subj", `/O=kube-ovn-ipsec lab/CN=${commonName}`, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "extendedKeyUsage=serverAuth"],
            { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
        );
    } catch (e) {
        const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
        throw new Error(missing ? "the lab's API stand-in needs openssl: apt-get install openssl" : `openssl could not make the stand-in's certificate: ${(e as { stderr?: string }).stderr ?? e}`);
    }
    const block = (label: string) => new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----\\n`).exec(out)?.[0];
    const keyPem = block("PRIVATE KEY");
    const certPem = block("CERTIFICATE");
    if (!keyPem || !certPem) throw new Error("openssl printed no key and certificate");
    return { certPem, keyPem };
}
