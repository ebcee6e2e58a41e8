/**
 * Where a node's certificate, key and CA certificate live in its OVS pod. File names carry a
 * fingerprint of the certificate: a rotation changes the paths in other_config, which is what
 * makes ovs-monitor-ipsec (and through it strongSwan) load the new files without a restart.
 * The `kube-ovn-ipsec-` prefix marks files as ours: only those are ever removed.
 */
import { createHash } from "crypto";

export const IPSEC_DIR = "/etc/ipsec.d";
export const FILE_PREFIX = "kube-ovn-ipsec-";

export interface NodeFilePaths {
    certificate: string;
    privateKey: string;
    caCert: string;
}

/** sha256 of a PEM's text (hex): the pod computes the same with sha256sum to check arrival. */
export function sha256Hex(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
}

/** A short, stable tag for file names: the first 16 hex digits of sha256. */
export function fingerprint(pem: string): string {
    return sha256Hex(pem).slice(0, 16);
}

/** Where a CA certificate lives on a node: named after its content, so each CA has its own file. */
export function caFilePath(caCertPem: string): string {
    return `${IPSEC_DIR}/cacerts/${FILE_PREFIX}ca-${fingerprint(caCertPem)}.pem`;
}

/** The file name of one of our CA files; its group is the CA's fingerprint. */
export const CA_FILE_NAME = new RegExp(`^${FILE_PREFIX}ca-([0-9a-f]{16})\\.pem$`);

export function nodeFilePaths(systemId: string, certPem: string, caCertPem: string): NodeFilePaths {
    const tag = fingerprint(certPem);
    return {
        certificate: `${IPSEC_DIR}/certs/${FILE_PREFIX}${systemId}-${tag}.pem`,
        privateKey: `${IPSEC_DIR}/private/${FILE_PREFIX}${systemId}-${tag}.pem`,
        caCert: caFilePath(caCertPem),
    };
}

/** Every file of ours, any version: the glob the scripts clean up with. */
export const OUR_FILE_GLOBS = [
    `${IPSEC_DIR}/certs/${FILE_PREFIX}*.pem`,
    `${IPSEC_DIR}/private/${FILE_PREFIX}*.pem`,
    `${IPSEC_DIR}/cacerts/${FILE_PREFIX}ca-*.pem`,
];

/**
 * What we installed, as `<key> <sha256> <path>` lines (key = certificate|private_key|ca_cert),
 * next to the files: an observation compares the files with it, so a changed or missing file is
 * seen without any digest leaving the node. It lives with the files (container-local), so a pod
 * restart that resets /etc/ipsec.d loses both together, which is itself what we detect.
 */
export const MANIFEST = `${IPSEC_DIR}/kube-ovn-ipsec-manifest`;

/**
 * Which services we started, kept on the node itself: a run that failed after starting one
 * (and so recorded nothing in Pulumi state) still lets a later delete stop it. Container-local
 * on purpose: the services are the container's, and a restarted container runs none of them.
 */
export const STARTED_MARKER = `${IPSEC_DIR}/kube-ovn-ipsec-started`;

/** Our own files outside the three PEM directories. */
export const OUR_STATE_FILES = [MANIFEST, STARTED_MARKER];
