/**
 * Just enough ASN.1 DER to write X.509 certificates and PKCS#10 requests and to read back the
 * parts the tls double needs (subject, public key, SANs, subject key id). Node's crypto makes
 * keys and signatures; it cannot build certificates, and the openssl CLI cannot take an
 * arbitrary start time (the harness clock), so the few structures are encoded here.
 */

export const TAG = {
    BOOLEAN: 0x01,
    INTEGER: 0x02,
    BIT_STRING: 0x03,
    OCTET_STRING: 0x04,
    NULL: 0x05,
    OID: 0x06,
    UTF8_STRING: 0x0c,
    PRINTABLE_STRING: 0x13,
    IA5_STRING: 0x16,
    UTC_TIME: 0x17,
    GENERALIZED_TIME: 0x18,
    SEQUENCE: 0x30,
    SET: 0x31,
} as const;

function encodeLength(length: number): Buffer {
    if (length < 0x80) return Buffer.from([length]);
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
    return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const seq = (...parts: Buffer[]): Buffer => tlv(TAG.SEQUENCE, Buffer.concat(parts));
/** A DER SET OF: elements sorted by their encoding. */
export const setOf = (...parts: Buffer[]): Buffer => tlv(TAG.SET, Buffer.concat([...parts].sort(Buffer.compare)));
export const nul = (): Buffer => tlv(TAG.NULL, Buffer.alloc(0));
export const bool = (value: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
export const octets = (value: Buffer): Buffer => tlv(TAG.OCTET_STRING, value);
export const bitString = (value: Buffer): Buffer => tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), value]));
/** [n] EXPLICIT (constructed, wraps a complete element). */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
/** [n] IMPLICIT primitive. */
export const implicitPrimitive = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

/** Minimal two's-complement big-endian bytes of a non-negative integer. */
export function unsignedBytes(value: bigint): Buffer {
    if (value < 0n) throw new Error("negative integers are not supported");
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, "hex");
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return bytes;
}

export const integer = (value: bigint | number): Buffer => tlv(TAG.INTEGER, unsignedBytes(BigInt(value)));

export function oid(dotted: string): Buffer {
    const parts = dotted.split(".").map((p) => BigInt(p));
    const bytes: number[] = [Number(parts[0] * 40n + parts[1])];
    for (const part of parts.slice(2)) {
        const chunk: number[] = [];
        let n = part;
        do {
            chunk.unshift(Number(n & 0x7fn));
            n >>= 7n;
        } while (n > 0n);
        for (let i = 0; i < chunk.length - 1; i++) chunk[i] |= 0x80;
        bytes.push(...chunk);
    }
    return tlv(TAG.OID, Buffer.from(bytes));
}

/** PrintableString when every character allows it (what Go's encoder does), else UTF8String. */
export function directoryString(value: string): Buffer {
    return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value) ? tlv(TAG.PRINTABLE_STRING, Buffer.from(value, "ascii")) : tlv(TAG.UTF8_STRING, Buffer.from(value, "utf8"));
}

export const ia5 = (value: string): Buffer => tlv(TAG.IA5_STRING, Buffer.from(value, "ascii"));

/** UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5), second precision. */
export function time(date: Date): Buffer {
    const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
    const year = date.getUTCFullYear();
    if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, "ascii"));
    return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, "ascii"));
}

// ------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------

export interface Element {
    tag: number;
    /** The whole element (header + content). */
    raw: Buffer;
    content: Buffer;
}

export function read(buffer: Buffer, offset = 0): Element & { end: number } {
    const tag = buffer[offset];
    let length = buffer[offset + 1];
    let header = 2;
    if (length & 0x80) {
        const count = length & 0x7f;
        length = 0;
        for (let i = 0; i < count; i++) length = length * 256 + buffer[offset + 2 + i];
        header += count;
    }
    const start = offset + header;
    const end = start + length;
    if (end > buffer.length) throw new Error("truncated DER");
    return { tag, raw: buffer.subarray(offset, end), content: buffer.subarray(start, end), end };
}

export function children(element: Element): Element[] {
    const out: Element[] = [];
    for (let offset = 0; offset < element.content.length; ) {
        const child = read(element.content, offset);
        out.push(child);
        offset = child.end;
    }
    return out;
}

export function readOid(element: Element): string {
    const bytes = element.content;
    const parts: bigint[] = [BigInt(Math.floor(bytes[0] / 40)), BigInt(bytes[0] % 40)];
    let n = 0n;
    for (const b of bytes.subarray(1)) {
        n = (n << 7n) | BigInt(b & 0x7f);
        if (!(b & 0x80)) {
            parts.push(n);
            n = 0n;
        }
    }
    return parts.join(".");
}

// ------------------------------------------------------------------------------------------
// PEM
// ------------------------------------------------------------------------------------------

/** Go's pem.EncodeToMemory: 64-character lines, trailing newline. */
export function pem(label: string, der: Buffer): string {
    const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export function unpem(text: string, label: string): Buffer {
    const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
    if (!match) throw new Error(`not a PEM ${label}`);
    return Buffer.from(match[1].replace(/\s+/g, ""), "base64");
}
