/**
 * A double of the @pulumi/tls provider (terraform-provider-tls) for the four resources the
 * product uses. It makes REAL keys (node:crypto) and REAL X.509 certificates and PKCS#10
 * requests (DER written in ./der.ts, signed with node:crypto), from the same inputs, with the
 * provider's output names and formats:
 *
 * - PrivateKey: `privateKeyPem` is PKCS#1 (`RSA PRIVATE KEY`) for RSA, SEC1 (`EC PRIVATE KEY`)
 *   for ECDSA, PKCS#8 for ED25519 (what Go's provider emits); plus `privateKeyPemPkcs8`,
 *   `privateKeyOpenssh`, `publicKeyPem`, `publicKeyOpenssh`, `publicKeyFingerprintMd5`,
 *   `publicKeyFingerprintSha256` (the OpenSSH ones are "" for P224, like the provider).
 * - SelfSignedCert / LocallySignedCert: Go's x509 layout: random 128-bit serial (also the id),
 *   critical keyUsage, extKeyUsage, critical basicConstraints (CA:TRUE or empty), a subject
 *   key id on CA certificates, the authority key id of the issuer, SANs; `validityStartTime` /
 *   `validityEndTime` in RFC 3339 (seconds), `readyForRenewal` per `earlyRenewalHours`.
 * - CertRequest: subject and SANs (extensionRequest), signed with the key.
 *
 * Time is the caller's `now` (the harness clock), so a test can move into a renewal window.
 * Whether to keep or replace a resource is the engine's business (engine.ts), not this file's.
 */
import { KeyObject, X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, verify } from "crypto";
import { isIPv4, isIPv6 } from "net";
import { promisify } from "util";
import * as der from "./der";

export const TLS_TYPES = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

export type TlsResourceType = (typeof TLS_TYPES)[keyof typeof TLS_TYPES];

export function isTlsType(type: string): type is TlsResourceType {
    return (Object.values(TLS_TYPES) as string[]).includes(type);
}

/** Outputs the provider marks sensitive (returned to the SDK as secrets). */
export const TLS_SECRET_OUTPUTS: Readonly<Record<TlsResourceType, readonly string[]>> = {
    [TLS_TYPES.privateKey]: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
    [TLS_TYPES.selfSignedCert]: ["privateKeyPem"],
    [TLS_TYPES.certRequest]: ["privateKeyPem"],
    [TLS_TYPES.locallySignedCert]: ["caPrivateKeyPem"],
};

export type KeyAlgorithm = "RSA" | "ECDSA" | "ED25519";
export type EcdsaCurve = "P224" | "P256" | "P384" | "P521";

export interface TlsSubject {
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
    streetAddresses?: string[];
    locality?: string;
    province?: string;
    country?: string;
    postalCode?: string;
    serialNumber?: string;
    emailAddress?: string;
}

export interface PrivateKeyInputs {
    algorithm: KeyAlgorithm;
    rsaBits?: number;
    ecdsaCurve?: EcdsaCurve;
}

export interface PrivateKeyOutputs {
    algorithm: KeyAlgorithm;
    rsaBits: number;
    ecdsaCurve: EcdsaCurve;
    privateKeyPem: string;
    privateKeyPemPkcs8: string;
    privateKeyOpenssh: string;
    publicKeyPem: string;
    publicKeyOpenssh: string;
    publicKeyFingerprintMd5: string;
    publicKeyFingerprintSha256: string;
}

interface SanInputs {
    dnsNames?: string[];
    ipAddresses?: string[];
    uris?: string[];
}

export interface CertRequestInputs extends SanInputs {
    privateKeyPem: string;
    subject?: TlsSubject;
}

export interface CertRequestOutputs extends CertRequestInputs {
    keyAlgorithm: KeyAlgorithm;
    certRequestPem: string;
}

interface CertificateOptions {
    allowedUses: string[];
    validityPeriodHours: number;
    earlyRenewalHours?: number;
    isCaCertificate?: boolean;
    setSubjectKeyId?: boolean;
    maxPathLength?: number;
}

interface CertificateState {
    certPem: string;
    validityStartTime: string;
    validityEndTime: string;
    readyForRenewal: boolean;
    earlyRenewalHours: number;
    isCaCertificate: boolean;
    setSubjectKeyId: boolean;
    maxPathLength: number;
}

export interface SelfSignedCertInputs extends CertificateOptions, SanInputs {
    privateKeyPem: string;
    subject?: TlsSubject;
    setAuthorityKeyId?: boolean;
}

export interface SelfSignedCertOutputs extends Omit<SelfSignedCertInputs, keyof CertificateState>, CertificateState {
    keyAlgorithm: KeyAlgorithm;
    setAuthorityKeyId: boolean;
}

export interface LocallySignedCertInputs extends CertificateOptions {
    certRequestPem: string;
    caPrivateKeyPem: string;
    caCertPem: string;
}

export interface LocallySignedCertOutputs extends Omit<LocallySignedCertInputs, keyof CertificateState>, CertificateState {
    caKeyAlgorithm: KeyAlgorithm;
}

export interface TlsResult {
    /** The provider's id: the serial (decimal) for certificates, a SHA-1 hex digest otherwise. */
    id: string;
    /** Plain values; `TLS_SECRET_OUTPUTS[type]` says which ones are secret. */
    outputs: Record<string, unknown>;
}

// ------------------------------------------------------------------------------------------
// Keys
// ------------------------------------------------------------------------------------------

const generate = promisify(generateKeyPair);

const CURVES: Record<EcdsaCurve, { node: string; ssh: string | null; hash: string; sigOid: string }> = {
    P224: { node: "secp224r1", ssh: null, hash: "sha256", sigOid: "1.2.840.10045.4.3.2" },
    P256: { node: "prime256v1", ssh: "nistp256", hash: "sha256", sigOid: "1.2.840.10045.4.3.2" },
    P384: { node: "secp384r1", ssh: "nistp384", hash: "sha384", sigOid: "1.2.840.10045.4.3.3" },
    P521: { node: "secp521r1", ssh: "nistp521", hash: "sha512", sigOid: "1.2.840.10045.4.3.4" },
};

function curveOf(key: KeyObject): EcdsaCurve {
    const named = key.asymmetricKeyDetails?.namedCurve;
    const found = (Object.keys(CURVES) as EcdsaCurve[]).find((c) => CURVES[c].node === named);
    if (!found) throw new Error(`unsupported ECDSA curve ${String(named)}`);
    return found;
}

function algorithmOf(key: KeyObject): KeyAlgorithm {
    switch (key.asymmetricKeyType) {
        case "rsa":
            return "RSA";
        case "ec":
            return "ECDSA";
        case "ed25519":
            return "ED25519";
        default:
            throw new Error(`unsupported key type ${String(key.asymmetricKeyType)}`);
    }
}

// SSH wire encoding (RFC 4251) for the OpenSSH outputs.
const sshString = (data: Buffer | string): Buffer => {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    return Buffer.concat([len, bytes]);
};
const sshMpint = (base64url: string): Buffer => {
    let bytes = Buffer.from(base64url, "base64url");
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    bytes = bytes.subarray(i);
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return sshString(bytes);
};
const sshUint32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
};

interface Jwk {
    n?: string;
    e?: string;
    d?: string;
    p?: string;
    q?: string;
    qi?: string;
    x?: string;
    y?: string;
}

/** [key type name, public blob, private fields] or null when OpenSSH cannot express the key. */
function sshParts(key: KeyObject): { name: string; publicBlob: Buffer; privateFields: Buffer } | null {
    if (algorithmOf(key) === "ECDSA" && !CURVES[curveOf(key)].ssh) return null;
    const jwk = key.export({ format: "jwk" }) as Jwk;
    const need = (v: string | undefined): string => {
        if (v === undefined) throw new Error("incomplete JWK");
        return v;
    };
    switch (algorithmOf(key)) {
        case "RSA": {
            const publicBlob = Buffer.concat([sshString("ssh-rsa"), sshMpint(need(jwk.e)), sshMpint(need(jwk.n))]);
            const privateFields = Buffer.concat([sshMpint(need(jwk.n)), sshMpint(need(jwk.e)), sshMpint(need(jwk.d)), sshMpint(need(jwk.qi)), sshMpint(need(jwk.p)), sshMpint(need(jwk.q))]);
            return { name: "ssh-rsa", publicBlob, privateFields };
        }
        case "ECDSA": {
            const ssh = CURVES[curveOf(key)].ssh;
            if (!ssh) return null;
            const name = `ecdsa-sha2-${ssh}`;
            const point = Buffer.concat([Buffer.from([4]), Buffer.from(need(jwk.x), "base64url"), Buffer.from(need(jwk.y), "base64url")]);
            const publicBlob = Buffer.concat([sshString(name), sshString(ssh), sshString(point)]);
            return { name, publicBlob, privateFields: Buffer.concat([sshString(ssh), sshString(point), sshMpint(need(jwk.d))]) };
        }
        case "ED25519": {
            const pub = Buffer.from(need(jwk.x), "base64url");
            const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
            const privateFields = Buffer.concat([sshString(pub), sshString(Buffer.concat([Buffer.from(need(jwk.d), "base64url"), pub]))]);
            return { name: "ssh-ed25519", publicBlob, privateFields };
        }
    }
}

/** openssh-key-v1, unencrypted, as golang.org/x/crypto/ssh MarshalPrivateKey writes it. */
function opensshPrivateKey(parts: { name: string; publicBlob: Buffer; privateFields: Buffer }): string {
    const check = randomBytes(4).readUInt32BE(0);
    let section = Buffer.concat([sshUint32(check), sshUint32(check), sshString(parts.name), parts.privateFields, sshString("")]);
    const pad: number[] = [];
    for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
    section = Buffer.concat([section, Buffer.from(pad)]);
    const body = Buffer.concat([Buffer.from("openssh-key-v1\0", "binary"), sshString("none"), sshString("none"), sshString(""), sshUint32(1), sshString(parts.publicBlob), sshString(section)]);
    return der.pem("OPENSSH PRIVATE KEY", body);
}

export async function createPrivateKeyDouble(inputs: PrivateKeyInputs): Promise<{ id: string; outputs: PrivateKeyOutputs }> {
    const rsaBits = inputs.rsaBits ?? 2048;
    const ecdsaCurve = inputs.ecdsaCurve ?? "P224";
    let pair: { privateKey: KeyObject; publicKey: KeyObject };
    switch (inputs.algorithm) {
        case "RSA":
            pair = await generate("rsa", { modulusLength: rsaBits, publicExponent: 0x10001 });
            break;
        case "ECDSA":
            if (!CURVES[ecdsaCurve]) throw new Error(`ecdsaCurve must be one of ${Object.keys(CURVES).join(", ")}`);
            pair = await generate("ec", { namedCurve: CURVES[ecdsaCurve].node });
            break;
        case "ED25519":
            pair = await generate("ed25519");
            break;
        default:
            throw new Error(`algorithm must be RSA, ECDSA or ED25519, got ${JSON.stringify(inputs.algorithm)}`);
    }
    const { privateKey, publicKey } = pair;
    const privateKeyPem =
        inputs.algorithm === "RSA"
            ? (privateKey.export({ type: "pkcs1", format: "pem" }) as string)
            : inputs.algorithm === "ECDSA"
              ? (privateKey.export({ type: "sec1", format: "pem" }) as string)
              : (privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }) as string;
    const ssh = sshParts(privateKey);
    const outputs: PrivateKeyOutputs = {
        algorithm: inputs.algorithm,
        rsaBits,
        ecdsaCurve,
        privateKeyPem,
        privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
        privateKeyOpenssh: ssh ? opensshPrivateKey(ssh) : "",
        publicKeyPem,
        publicKeyOpenssh: ssh ? `${ssh.name} ${ssh.publicBlob.toString("base64")}\n` : "",
        publicKeyFingerprintMd5: ssh ? (createHash("md5").update(ssh.publicBlob).digest("hex").match(/../g) ?? []).join(":") : "",
        publicKeyFingerprintSha256: ssh ? `SHA256:${createHash("sha256").update(ssh.publicBlob).digest("base64").replace(/=+$/, "")}` : "",
    };
    return { id: createHash("sha1").update(publicKeyPem).digest("hex"), outputs };
}

// ------------------------------------------------------------------------------------------
// Names, extensions, signatures
// ------------------------------------------------------------------------------------------

const OID = {
    country: "2.5.4.6",
    province: "2.5.4.8",
    locality: "2.5.4.7",
    street: "2.5.4.9",
    postalCode: "2.5.4.17",
    organization: "2.5.4.10",
    organizationalUnit: "2.5.4.11",
    commonName: "2.5.4.3",
    serialNumber: "2.5.4.5",
    emailAddress: "1.2.840.113549.1.9.1",
    keyUsage: "2.5.29.15",
    extKeyUsage: "2.5.29.37",
    basicConstraints: "2.5.29.19",
    subjectKeyId: "2.5.29.14",
    authorityKeyId: "2.5.29.35",
    subjectAltName: "2.5.29.17",
    extensionRequest: "1.2.840.113549.1.9.14",
    rsaWithSha256: "1.2.840.113549.1.1.11",
    ed25519: "1.3.101.112",
} as const;

/** Go's pkix.Name.ToRDNSequence order: C, ST, L, street, postalCode, O, OU, CN, serialNumber. */
function encodeName(subject: TlsSubject | undefined): Buffer {
    const s = subject ?? {};
    const rdns: Buffer[] = [];
    const add = (oid: string, values: Array<string | undefined>, encode: (v: string) => Buffer = der.directoryString) => {
        const present = values.filter((v): v is string => typeof v === "string" && v !== "");
        if (present.length > 0) rdns.push(der.setOf(...present.map((v) => der.seq(der.oid(oid), encode(v)))));
    };
    add(OID.country, [s.country]);
    add(OID.province, [s.province]);
    add(OID.locality, [s.locality]);
    add(OID.street, s.streetAddresses ?? []);
    add(OID.postalCode, [s.postalCode]);
    add(OID.organization, [s.organization]);
    add(OID.organizationalUnit, [s.organizationalUnit]);
    add(OID.commonName, [s.commonName]);
    add(OID.serialNumber, [s.serialNumber]);
    add(OID.emailAddress, [s.emailAddress], der.ia5);
    return der.seq(...rdns);
}

const isEmptyName = (name: Buffer): boolean => der.read(name).content.length === 0;

function ipBytes(ip: string): Buffer {
    if (isIPv4(ip)) return Buffer.from(ip.split(".").map((p) => Number(p)));
    if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
    let text = ip;
    let tail: number[] = [];
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
        tail = v4[1].split(".").map((p) => Number(p));
        text = `${text.slice(0, -v4[1].length)}0:0`;
    }
    const [head, rest] = text.split("::");
    const h = head ? head.split(":") : [];
    const r = rest !== undefined && rest !== "" ? rest.split(":") : [];
    const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill("0"), ...r];
    const bytes = Buffer.alloc(16);
    groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
    if (tail.length === 4) Buffer.from(tail).copy(bytes, 12);
    return bytes;
}

function sanExtensionValue(san: SanInputs): Buffer | null {
    const names: Buffer[] = [
        ...(san.dnsNames ?? []).map((d) => der.implicitPrimitive(2, Buffer.from(d, "ascii"))),
        ...(san.ipAddresses ?? []).map((ip) => der.implicitPrimitive(7, ipBytes(ip))),
        ...(san.uris ?? []).map((u) => der.implicitPrimitive(6, Buffer.from(u, "ascii"))),
    ];
    return names.length > 0 ? der.seq(...names) : null;
}

const extension = (oid: string, critical: boolean, value: Buffer): Buffer => der.seq(der.oid(oid), ...(critical ? [der.bool(true)] : []), der.octets(value));

const KEY_USAGE_BITS: Record<string, number> = {
    digital_signature: 0,
    content_commitment: 1,
    key_encipherment: 2,
    data_encipherment: 3,
    key_agreement: 4,
    cert_signing: 5,
    crl_signing: 6,
    encipher_only: 7,
    decipher_only: 8,
};

const EXT_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

/** Go's marshalKeyUsage: bit 0 is the high bit of the first byte, trailing zero bits dropped. */
function keyUsageValue(bits: number[]): Buffer | null {
    if (bits.length === 0) return null;
    const bytes = [0, 0];
    for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
    const used = bytes[1] !== 0 ? 2 : 1;
    const last = bytes[used - 1];
    let unused = 0;
    while (unused < 8 && !(last & (1 << unused))) unused++;
    return der.tlv(der.TAG.BIT_STRING, Buffer.from([unused, ...bytes.slice(0, used)]));
}

function signatureScheme(key: KeyObject): { hash: string | null; algorithmId: Buffer } {
    switch (algorithmOf(key)) {
        case "RSA":
            return { hash: "sha256", algorithmId: der.seq(der.oid(OID.rsaWithSha256), der.nul()) };
        case "ECDSA": {
            const curve = CURVES[curveOf(key)];
            return { hash: curve.hash, algorithmId: der.seq(der.oid(curve.sigOid)) };
        }
        case "ED25519":
            return { hash: null, algorithmId: der.seq(der.oid(OID.ed25519)) };
    }
}

/** SEQUENCE { tbs, algorithm, BIT STRING signature } (certificates and requests alike). */
function signed(tbs: Buffer, key: KeyObject): Buffer {
    const scheme = signatureScheme(key);
    return der.seq(tbs, scheme.algorithmId, der.bitString(sign(scheme.hash, tbs, key)));
}

function spkiDer(key: KeyObject): Buffer {
    return createPublicKey(key).export({ type: "spki", format: "der" });
}

/** Go's generateSubjectKeyId: SHA-1 of the subjectPublicKey BIT STRING contents. */
function subjectKeyId(spki: Buffer): Buffer {
    const [, bits] = der.children(der.read(spki));
    return createHash("sha1").update(bits.content.subarray(1)).digest();
}

function parsePrivateKey(pem: unknown, what: string): KeyObject {
    if (typeof pem !== "string" || pem.length === 0) throw new Error(`${what} is required`);
    try {
        return createPrivateKey(pem);
    } catch (e) {
        throw new Error(`${what}: failed to decode PEM private key: ${e instanceof Error ? e.message : String(e)}`);
    }
}

const rfc3339 = (d: Date): string => `${d.toISOString().slice(0, 19)}Z`;

/** The provider's rule: renew once `now` is inside the early-renewal window (or past the end). */
export function readyForRenewal(validityEndTime: string, earlyRenewalHours: number, now: Date): boolean {
    const end = Date.parse(validityEndTime);
    if (Number.isNaN(end)) return true;
    return now.getTime() >= end - earlyRenewalHours * 3600_000;
}

interface CertificateBuild {
    subjectName: Buffer;
    issuerName: Buffer;
    spki: Buffer;
    san: SanInputs;
    options: CertificateOptions;
    /** Subject key id of the issuer, when it has one (goes into authorityKeyIdentifier). */
    issuerKeyId: Buffer | null;
    setAuthorityKeyId: boolean;
    signer: KeyObject;
    now: Date;
}

function buildCertificate(b: CertificateBuild): { id: string; state: CertificateState } {
    const { options } = b;
    if (!Array.isArray(options.allowedUses)) throw new Error("allowedUses is required");
    if (typeof options.validityPeriodHours !== "number" || options.validityPeriodHours < 0) throw new Error("validityPeriodHours is required");
    const isCa = options.isCaCertificate === true;
    const maxPathLength = options.maxPathLength ?? -1;
    const earlyRenewalHours = options.earlyRenewalHours ?? 0;
    const notBefore = new Date(Math.floor(b.now.getTime() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + options.validityPeriodHours * 3600_000);
    const serial = BigInt(`0x${randomBytes(16).toString("hex")}`);

    const bits: number[] = [];
    const ekus: string[] = [];
    for (const use of options.allowedUses) {
        if (use in KEY_USAGE_BITS) bits.push(KEY_USAGE_BITS[use]);
        else if (use in EXT_KEY_USAGES) ekus.push(EXT_KEY_USAGES[use]);
        else throw new Error(`allowedUses: unknown use ${JSON.stringify(use)}`);
    }
    const extensions: Buffer[] = [];
    const ku = keyUsageValue(bits);
    if (ku) extensions.push(extension(OID.keyUsage, true, ku));
    if (ekus.length > 0) extensions.push(extension(OID.extKeyUsage, false, der.seq(...ekus.map((o) => der.oid(o)))));
    const bc: Buffer[] = [];
    if (isCa) {
        bc.push(der.bool(true));
        if (maxPathLength >= 0) bc.push(der.integer(maxPathLength));
    }
    extensions.push(extension(OID.basicConstraints, true, der.seq(...bc)));
    // Go adds a subject key id to every CA certificate, and on request to any other.
    const ownKeyId = isCa || options.setSubjectKeyId === true ? subjectKeyId(b.spki) : null;
    if (ownKeyId) extensions.push(extension(OID.subjectKeyId, false, der.octets(ownKeyId)));
    const selfIssued = b.subjectName.equals(b.issuerName);
    const authorityKeyId = !selfIssued ? b.issuerKeyId : b.setAuthorityKeyId ? ownKeyId : null;
    if (authorityKeyId) extensions.push(extension(OID.authorityKeyId, false, der.seq(der.implicitPrimitive(0, authorityKeyId))));
    const san = sanExtensionValue(b.san);
    if (san) extensions.push(extension(OID.subjectAltName, isEmptyName(b.subjectName), san));

    const tbs = der.seq(
        der.explicit(0, der.integer(2)),
        der.integer(serial),
        signatureScheme(b.signer).algorithmId,
        b.issuerName,
        der.seq(der.time(notBefore), der.time(notAfter)),
        b.subjectName,
        b.spki,
        der.explicit(3, der.seq(...extensions)),
    );
    const validityEndTime = rfc3339(notAfter);
    return {
        id: serial.toString(10),
        state: {
            certPem: der.pem("CERTIFICATE", signed(tbs, b.signer)),
            validityStartTime: rfc3339(notBefore),
            validityEndTime,
            readyForRenewal: readyForRenewal(validityEndTime, earlyRenewalHours, b.now),
            earlyRenewalHours,
            isCaCertificate: isCa,
            setSubjectKeyId: options.setSubjectKeyId === true,
            maxPathLength,
        },
    };
}

export function createSelfSignedCertDouble(inputs: SelfSignedCertInputs, now: Date): { id: string; outputs: SelfSignedCertOutputs } {
    const key = parsePrivateKey(inputs.privateKeyPem, "privateKeyPem");
    const name = encodeName(inputs.subject);
    const { id, state } = buildCertificate({
        subjectName: name,
        issuerName: name,
        spki: spkiDer(key),
        san: inputs,
        options: inputs,
        issuerKeyId: null,
        setAuthorityKeyId: inputs.setAuthorityKeyId === true,
        signer: key,
        now,
    });
    return { id, outputs: { ...inputs, ...state, keyAlgorithm: algorithmOf(key), setAuthorityKeyId: inputs.setAuthorityKeyId === true } };
}

export function createCertRequestDouble(inputs: CertRequestInputs): { id: string; outputs: CertRequestOutputs } {
    const key = parsePrivateKey(inputs.privateKeyPem, "privateKeyPem");
    const san = sanExtensionValue(inputs);
    const attributes = san ? [der.seq(der.oid(OID.extensionRequest), der.setOf(der.seq(extension(OID.subjectAltName, false, san))))] : [];
    const info = der.seq(der.integer(0), encodeName(inputs.subject), spkiDer(key), der.tlv(0xa0, Buffer.concat(attributes)));
    const certRequestPem = der.pem("CERTIFICATE REQUEST", signed(info, key));
    return { id: createHash("sha1").update(certRequestPem).digest("hex"), outputs: { ...inputs, keyAlgorithm: algorithmOf(key), certRequestPem } };
}

/** What a certificate signing request carries, checked against its own signature. */
export interface ParsedCertRequest {
    subjectName: Buffer;
    spki: Buffer;
    san: Required<SanInputs>;
}

function signatureHashOf(algorithmId: der.Element): string | null {
    const id = der.readOid(der.children(algorithmId)[0]);
    const byOid: Record<string, string | null> = {
        [OID.rsaWithSha256]: "sha256",
        "1.2.840.113549.1.1.12": "sha384",
        "1.2.840.113549.1.1.13": "sha512",
        "1.2.840.10045.4.3.2": "sha256",
        "1.2.840.10045.4.3.3": "sha384",
        "1.2.840.10045.4.3.4": "sha512",
        [OID.ed25519]: null,
    };
    if (!(id in byOid)) throw new Error(`unsupported signature algorithm ${id}`);
    return byOid[id];
}

function parseSan(value: Buffer): Required<SanInputs> {
    const out: Required<SanInputs> = { dnsNames: [], ipAddresses: [], uris: [] };
    for (const name of der.children(der.read(value))) {
        if (name.tag === 0x82) out.dnsNames.push(name.content.toString("ascii"));
        else if (name.tag === 0x86) out.uris.push(name.content.toString("ascii"));
        else if (name.tag === 0x87) {
            const b = name.content;
            out.ipAddresses.push(b.length === 4 ? [...b].join(".") : (b.toString("hex").match(/..../g) ?? []).map((g) => g.replace(/^0+(?=.)/, "")).join(":"));
        }
    }
    return out;
}

export function parseCertRequest(pemText: string): ParsedCertRequest {
    const [info, algorithmId, signature] = der.children(der.read(der.unpem(pemText, "CERTIFICATE REQUEST")));
    const [, subject, spki, attributes] = der.children(info);
    const publicKey = createPublicKey({ key: spki.raw, format: "der", type: "spki" });
    if (!verify(signatureHashOf(algorithmId), info.raw, publicKey, signature.content.subarray(1))) {
        throw new Error("certRequestPem: the request's signature does not verify");
    }
    let san: Required<SanInputs> = { dnsNames: [], ipAddresses: [], uris: [] };
    for (const attribute of attributes ? der.children(attributes) : []) {
        const [type, values] = der.children(attribute);
        if (der.readOid(type) !== OID.extensionRequest) continue;
        for (const ext of der.children(der.children(values)[0])) {
            const parts = der.children(ext);
            if (der.readOid(parts[0]) === OID.subjectAltName) san = parseSan(parts[parts.length - 1].content);
        }
    }
    return { subjectName: subject.raw, spki: spki.raw, san };
}

/** Subject (raw DER) and subject key id of a certificate. */
export function parseCertificate(pemText: string): { subjectName: Buffer; subjectKeyId: Buffer | null; spki: Buffer } {
    const [tbs] = der.children(der.read(der.unpem(pemText, "CERTIFICATE")));
    const fields = der.children(tbs);
    const offset = fields[0].tag === 0xa0 ? 1 : 0;
    const subject = fields[offset + 4];
    const spki = fields[offset + 5];
    let keyId: Buffer | null = null;
    const extensions = fields.find((f) => f.tag === 0xa3);
    for (const ext of extensions ? der.children(der.children(extensions)[0]) : []) {
        const parts = der.children(ext);
        if (der.readOid(parts[0]) === OID.subjectKeyId) keyId = der.read(parts[parts.length - 1].content).content;
    }
    return { subjectName: subject.raw, subjectKeyId: keyId, spki: spki.raw };
}

export function createLocallySignedCertDouble(inputs: LocallySignedCertInputs, now: Date): { id: string; outputs: LocallySignedCertOutputs } {
    const caKey = parsePrivateKey(inputs.caPrivateKeyPem, "caPrivateKeyPem");
    if (typeof inputs.caCertPem !== "string") throw new Error("caCertPem is required");
    if (typeof inputs.certRequestPem !== "string") throw new Error("certRequestPem is required");
    const ca = parseCertificate(inputs.caCertPem);
    if (!new X509Certificate(inputs.caCertPem).checkPrivateKey(caKey)) throw new Error("caPrivateKeyPem does not match caCertPem");
    const request = parseCertRequest(inputs.certRequestPem);
    const { id, state } = buildCertificate({
        subjectName: request.subjectName,
        issuerName: ca.subjectName,
        spki: request.spki,
        san: request.san,
        options: inputs,
        issuerKeyId: ca.subjectKeyId,
        setAuthorityKeyId: false,
        signer: caKey,
        now,
    });
    return { id, outputs: { ...inputs, ...state, caKeyAlgorithm: algorithmOf(caKey) } };
}

// ------------------------------------------------------------------------------------------
// Dispatch (what the engine calls)
// ------------------------------------------------------------------------------------------

/** Creates one tls resource from plain inputs (secrets already unwrapped). */
export async function createTlsResource(type: TlsResourceType, inputs: Record<string, unknown>, now: Date): Promise<TlsResult> {
    switch (type) {
        case TLS_TYPES.privateKey: {
            const r = await createPrivateKeyDouble(inputs as unknown as PrivateKeyInputs);
            return { id: r.id, outputs: { ...r.outputs } };
        }
        case TLS_TYPES.selfSignedCert: {
            const r = createSelfSignedCertDouble(inputs as unknown as SelfSignedCertInputs, now);
            return { id: r.id, outputs: { ...r.outputs } };
        }
        case TLS_TYPES.certRequest: {
            const r = createCertRequestDouble(inputs as unknown as CertRequestInputs);
            return { id: r.id, outputs: { ...r.outputs } };
        }
        case TLS_TYPES.locallySignedCert: {
            const r = createLocallySignedCertDouble(inputs as unknown as LocallySignedCertInputs, now);
            return { id: r.id, outputs: { ...r.outputs } };
        }
    }
}

/** True when a certificate resource must be replaced at `now` (keys and requests never are). */
export function tlsNeedsRenewal(type: TlsResourceType, outputs: Record<string, unknown>, now: Date): boolean {
    if (type !== TLS_TYPES.selfSignedCert && type !== TLS_TYPES.locallySignedCert) return false;
    const end = outputs.validityEndTime;
    const early = outputs.earlyRenewalHours;
    return readyForRenewal(typeof end === "string" ? end : "", typeof early === "number" ? early : 0, now);
}
