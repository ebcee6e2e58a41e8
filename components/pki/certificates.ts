/**
 * The PKI, as @pulumi/tls resources: a CA (its key never leaves Pulumi state, encrypted) and,
 * per node, a key, a CSR with subject `O=<organization>, CN=<system-id>` and SAN DNS
 * `<system-id>`, and a certificate signed by the CA that is renewed inside its early-renewal
 * window. The O is not decoration: ovs-monitor-ipsec rejects a CN-only subject.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { KeyAlgorithm, NodeSpec } from "../args";
import type { ResolvedCaOptions, ResolvedCertificateOptions } from "../validation";

export function keyArgs(algorithm: KeyAlgorithm): tls.PrivateKeyArgs {
    switch (algorithm) {
        case "RSA2048":
            return { algorithm: "RSA", rsaBits: 2048 };
        case "RSA3072":
            return { algorithm: "RSA", rsaBits: 3072 };
        case "RSA4096":
            return { algorithm: "RSA", rsaBits: 4096 };
        case "ECDSA-P256":
            return { algorithm: "ECDSA", ecdsaCurve: "P256" };
        case "ECDSA-P384":
            return { algorithm: "ECDSA", ecdsaCurve: "P384" };
    }
}

export const CA_USES = ["cert_signing", "crl_signing", "digital_signature"];

/** Key encipherment only makes sense for RSA keys. */
export function nodeUses(algorithm: KeyAlgorithm): string[] {
    return algorithm.startsWith("RSA")
        ? ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
        : ["digital_signature", "server_auth", "client_auth"];
}

export interface CertificateAuthority {
    key: tls.PrivateKey;
    cert: tls.SelfSignedCert;
}

/** Resource names of a CA generation: the first keeps the names stacks were created with. */
export function caResourceName(name: string, generation: number): string {
    return generation === 1 ? `${name}-ca` : `${name}-ca-g${generation}`;
}

export function createCa(name: string, ca: ResolvedCaOptions, opts: pulumi.CustomResourceOptions): CertificateAuthority {
    const base = caResourceName(name, ca.generation);
    const key = new tls.PrivateKey(`${base}-key`, keyArgs(ca.algorithm), opts);
    const cert = new tls.SelfSignedCert(
        base,
        {
            privateKeyPem: pulumi.secret(key.privateKeyPem),
            subject: { commonName: ca.commonName, organization: ca.organization },
            isCaCertificate: true,
            validityPeriodHours: ca.validityHours,
            allowedUses: CA_USES,
        },
        opts,
    );
    return { key, cert };
}

export interface NodeCertificate {
    key: tls.PrivateKey;
    request: tls.CertRequest;
    cert: tls.LocallySignedCert;
    /** The private key PEM, always wrapped as a secret. */
    privateKeyPem: pulumi.Output<string>;
}

export function createNodeCertificate(
    name: string,
    node: NodeSpec,
    options: ResolvedCertificateOptions,
    ca: CertificateAuthority,
    opts: pulumi.CustomResourceOptions,
): NodeCertificate {
    const key = new tls.PrivateKey(`${name}-key`, keyArgs(options.algorithm), opts);
    const privateKeyPem = pulumi.secret(key.privateKeyPem);
    const request = new tls.CertRequest(
        `${name}-csr`,
        {
            privateKeyPem,
            subject: { organization: options.organization, commonName: node.systemId },
            dnsNames: [node.systemId],
        },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        `${name}-cert`,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: pulumi.secret(ca.key.privateKeyPem),
            caCertPem: ca.cert.certPem,
            validityPeriodHours: options.validityHours,
            earlyRenewalHours: options.earlyRenewalHours,
            allowedUses: nodeUses(options.algorithm),
        },
        opts,
    );
    return { key, request, cert, privateKeyPem };
}
