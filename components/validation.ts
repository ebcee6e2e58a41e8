/**
 * Every argument is checked here, before any resource is registered: a platform engineer's
 * typo must never reach a node. All problems are reported at once, each with its path.
 * Values echoed back in messages are sanitised (they may be hostile or huge).
 */
import * as fs from "fs";
import { KeyAlgorithm, ScriptVia, WaitFor } from "./args";
import type { Access, CaOptions, CertificateOptions, KubeOvnIpsecArgs, NodeSpec } from "./args";
import { checkKubeOvnVersion, parseKubeOvnVersion } from "./cluster/kubeOvnVersion";
import { findProgram } from "./util/findProgram";
import { DEFAULT_NAMESPACE, ExecPolicy, ResolvedAccess, TARGET_PLACEHOLDER } from "./transport/access";

export interface ResolvedCertificateOptions {
    algorithm: KeyAlgorithm;
    organization: string;
    validityHours: number;
    earlyRenewalHours: number;
}

export interface ResolvedCaOptions {
    algorithm: KeyAlgorithm;
    commonName: string;
    organization: string;
    validityHours: number;
    generation: number;
}

/** The arguments with every default applied; what the rest of the component works from. */
export interface Settings {
    nodes: NodeSpec[];
    enabled: boolean;
    access: ResolvedAccess;
    certificate: ResolvedCertificateOptions;
    ca: ResolvedCaOptions;
    waitFor: WaitFor;
    timeoutSeconds: number;
    parallelism: number;
    exec: ExecPolicy;
    publishSecrets: boolean;
    failClosed: boolean;
    natTraversal: boolean;
    /** Where the Secrets go: the kubectl namespace, else kube-system. */
    secretNamespace: string;
}

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = Object.values(KeyAlgorithm);
const WAIT_FOR: readonly WaitFor[] = Object.values(WaitFor);

// Kubernetes' own rules (DNS-1123), ASCII only by construction.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN_PART = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// OVS system-ids are UUIDs in Kube-OVN; some installs use host names. Both fit; nothing else
// does (the value becomes a certificate CN, a SAN, a file name and a shell word).
const SYSTEM_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// A subject RDN value that needs no RFC 2253 escaping (ovs-monitor-ipsec parses the subject).
const SUBJECT_VALUE = /^[A-Za-z0-9]([A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?$/;
// kubeconfig context names are free-form in practice (EKS ARNs, user@cluster).
const CONTEXT = /^[A-Za-z0-9_][A-Za-z0-9._:@/-]{0,252}$/;
// Targets: pod names, host names, ssh destinations, lab pod names.
const TARGET = /^[A-Za-z0-9_][A-Za-z0-9._:@/-]{0,252}$/;
const LABEL_SELECTOR = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,252}(=|==|!=)[A-Za-z0-9._-]{0,63}$/;
const VERSION = /^v?\d{1,3}\.\d{1,3}(\.\d{1,3})?([-+][A-Za-z0-9.-]{1,64})?$/;

export class ValidationError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `kube-ovn-ipsec: invalid arguments, nothing was changed:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ValidationError";
    }
}

/** A value as it may be shown in an error: one line, bounded, control characters escaped. */
export function describeValue(value: unknown): string {
    let text: string;
    try {
        text = JSON.stringify(value) ?? String(value);
    } catch {
        text = String(value);
    }
    // JSON.stringify leaves most unicode as is; escape everything outside printable ASCII.
    text = text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isNodeName(name: unknown): name is string {
    return (
        typeof name === "string" &&
        name.length <= 253 &&
        name.split(".").every((part) => DNS1123_SUBDOMAIN_PART.test(part))
    );
}

export function isSystemId(value: unknown): value is string {
    return typeof value === "string" && SYSTEM_ID.test(value);
}

export function isTarget(value: unknown): value is string {
    return typeof value === "string" && TARGET.test(value);
}

class Problems {
    readonly list: string[] = [];
    add(path: string, value: unknown, rule: string): void {
        this.list.push(`${path} ${describeValue(value)}: ${rule}`);
    }
    /** An optional integer in [min, max], or the default. */
    int(path: string, value: unknown, def: number, min: number, max: number): number {
        if (value === undefined) return def;
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            this.add(path, value, `must be an integer from ${min} to ${max}`);
            return def;
        }
        return value;
    }
    bool(path: string, value: unknown, def: boolean): boolean {
        if (value === undefined) return def;
        if (typeof value !== "boolean") {
            this.add(path, value, "must be true or false");
            return def;
        }
        return value;
    }
    oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], def: T): T {
        if (value === undefined) return def;
        if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
            this.add(path, value, `must be one of ${allowed.join(", ")}`);
            return def;
        }
        return value as T;
    }
    matches(path: string, value: unknown, re: RegExp, rule: string, def: string): string {
        if (value === undefined) return def;
        if (typeof value !== "string" || !re.test(value)) {
            this.add(path, value, rule);
            return def;
        }
        return value;
    }
    /** A file path handed to a local program as one argv element. */
    path(path: string, value: unknown, mustExist: boolean): string | null {
        if (value === undefined) return null;
        if (typeof value !== "string" || value.length === 0 || value.length > 4096 || /[\0\n\r]/.test(value)) {
            this.add(path, value, "must be a non-empty path without control characters");
            return null;
        }
        if (mustExist) {
            try {
                if (!fs.statSync(value).isFile()) this.add(path, value, "is not a file");
                else fs.accessSync(value, fs.constants.R_OK);
            } catch (e) {
                const code = (e as NodeJS.ErrnoException).code;
                this.add(path, value, code === "ENOENT" ? "does not exist" : code === "EACCES" ? "cannot be read (permission denied)" : `cannot be read (${code ?? "error"})`);
            }
        }
        return value;
    }
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function validateNodes(p: Problems, nodes: unknown): NodeSpec[] {
    if (!Array.isArray(nodes)) {
        p.add("nodes", nodes, "must be a list of { name, systemId }");
        return [];
    }
    if (nodes.length === 0) {
        p.add("nodes", nodes, "must name at least one node (or use discoverNodes)");
        return [];
    }
    if (nodes.length > 5000) p.add("nodes", `${nodes.length} entries`, "at most 5000 nodes");
    const out: NodeSpec[] = [];
    const names = new Map<string, number>();
    const ids = new Map<string, number>();
    nodes.forEach((node: unknown, i) => {
        if (!isRecord(node)) {
            p.add(`nodes[${i}]`, node, "must be { name, systemId }");
            return;
        }
        // Valid, then unique: each field reports its own problem.
        const check = (field: "name" | "systemId", valid: boolean, rule: string, seen: Map<string, number>): boolean => {
            const value = node[field];
            if (!valid) p.add(`nodes[${i}].${field}`, value, rule);
            else if (seen.has(value as string)) p.add(`nodes[${i}].${field}`, value, `duplicate of nodes[${seen.get(value as string)}]`);
            else {
                seen.set(value as string, i);
                return true;
            }
            return false;
        };
        const ok = [
            check("name", isNodeName(node.name), "must be a Kubernetes node name (DNS-1123 subdomain, lower case)", names),
            check("systemId", isSystemId(node.systemId), "must be an OVS system-id: 1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric", ids),
        ].every(Boolean);
        if (ok) out.push({ name: node.name as string, systemId: node.systemId as string });
    });
    return out;
}

function validateAccess(p: Problems, access: unknown, nodes: NodeSpec[]): ResolvedAccess {
    if (access !== undefined && !isRecord(access)) p.add("access", access, "must be an object: { kubectl: {...} } or { command: {...} }");
    const a: Record<string, unknown> = isRecord(access) ? access : {};
    for (const k of Object.keys(a)) if (k !== "kubectl" && k !== "command") p.add(`access.${k}`, a[k], "is not an access kind: set access.kubectl or access.command");
    if (a.kubectl !== undefined && a.command !== undefined) p.add("access", "kubectl, command", "must set one of kubectl and command, not both");
    if (a.command !== undefined) return validateCommandAccess(p, "access.command", a.command, nodes);
    return validateKubectlAccess(p, "access.kubectl", a.kubectl);
}

function validateKubectlAccess(p: Problems, at: string, access: unknown): ResolvedAccess {
    if (access !== undefined && !isRecord(access)) p.add(at, access, "must be an object");
    const a: Record<string, unknown> = isRecord(access) ? access : {};
    const known = ["kubeconfig", "context", "namespace", "binary", "ovsPodSelector", "ovsContainer", "centralPodSelector", "centralContainer", "kubeOvnVersion"];
    for (const k of Object.keys(a)) if (!known.includes(k)) p.add(`${at}.${k}`, a[k], "is not a kubectl access option");
    const kubectl = p.path(`${at}.binary`, a.binary, false) ?? "kubectl";
    if (kubectl.startsWith("-")) p.add(`${at}.binary`, kubectl, "must not start with '-'");
    else if (findProgram(kubectl) === null) p.add(`${at}.binary`, kubectl, `is not an installed program (not on PATH, or not executable): install kubectl or set ${at}.binary to its path`);
    return {
        kind: "kubectl",
        kubectl,
        kubeconfig: p.path(`${at}.kubeconfig`, a.kubeconfig, true),
        context: a.context === undefined ? null : p.matches(`${at}.context`, a.context, CONTEXT, "must be a kubeconfig context name (A-Z a-z 0-9 . _ : @ / -, not starting with '-')", ""),
        namespace: p.matches(`${at}.namespace`, a.namespace, DNS1123_LABEL, "must be a Kubernetes namespace (DNS-1123 label)", DEFAULT_NAMESPACE),
        ovsPodSelector: p.matches(`${at}.ovsPodSelector`, a.ovsPodSelector, LABEL_SELECTOR, "must be one label requirement like app=ovs", "app=ovs"),
        ovsContainer: p.matches(`${at}.ovsContainer`, a.ovsContainer, DNS1123_LABEL, "must be a container name (DNS-1123 label)", "openvswitch"),
        centralPodSelector: p.matches(`${at}.centralPodSelector`, a.centralPodSelector, LABEL_SELECTOR, "must be one label requirement like ovn-nb-leader=true", "ovn-nb-leader=true"),
        centralContainer: p.matches(`${at}.centralContainer`, a.centralContainer, DNS1123_LABEL, "must be a container name (DNS-1123 label)", "ovn-central"),
        kubeOvnVersion: a.kubeOvnVersion === undefined ? null : validateVersion(p, `${at}.kubeOvnVersion`, a.kubeOvnVersion),
    };
}

function validateCommandAccess(p: Problems, at: string, access: unknown, nodes: NodeSpec[]): ResolvedAccess {
    if (!isRecord(access)) p.add(at, access, "must be an object: { prefix, targets, kubeOvnVersion }");
    const a: Record<string, unknown> = isRecord(access) ? access : {};
    const known = ["prefix", "targets", "scriptVia", "kubeOvnVersion"];
    for (const k of Object.keys(a)) if (!known.includes(k)) p.add(`${at}.${k}`, a[k], "is not a command access option");
    const prefix: string[] = [];
    if (!Array.isArray(a.prefix) || a.prefix.length === 0) {
        p.add(`${at}.prefix`, a.prefix, "must be a non-empty argv list");
    } else {
        a.prefix.forEach((arg: unknown, i) => {
            if (typeof arg !== "string" || arg.length === 0 || arg.length > 4096 || arg.includes("\0")) {
                p.add(`${at}.prefix[${i}]`, arg, "must be a non-empty string without NUL");
            } else prefix.push(arg);
        });
        if (prefix.length > 0 && !prefix[0].includes(TARGET_PLACEHOLDER) && findProgram(prefix[0]) === null) {
            p.add(`${at}.prefix[0]`, prefix[0], "is not an installed program (not on PATH, or not executable)");
        }
        if (!prefix.some((arg) => arg.includes(TARGET_PLACEHOLDER))) {
            p.add(`${at}.prefix`, a.prefix, `must contain the placeholder ${TARGET_PLACEHOLDER}`);
        }
    }
    const t = isRecord(a.targets) ? a.targets : {};
    if (!isRecord(a.targets)) p.add(`${at}.targets`, a.targets, "must be { central, nodes: { <node name>: <target> } }");
    const central = p.matches(`${at}.targets.central`, t.central ?? "", TARGET, "must be a target (A-Z a-z 0-9 . _ : @ / -, not starting with '-')", "");
    const nodeTargets: Record<string, string> = {};
    if (!isRecord(t.nodes)) {
        p.add(`${at}.targets.nodes`, t.nodes, "must map node names to targets");
    } else {
        for (const [name, target] of Object.entries(t.nodes)) {
            if (!isNodeName(name)) p.add(`${at}.targets.nodes`, name, "key must be a Kubernetes node name");
            else if (!isTarget(target)) p.add(`${at}.targets.nodes.${name}`, target, "must be a target (A-Z a-z 0-9 . _ : @ / -, not starting with '-')");
            else nodeTargets[name] = target;
        }
        for (const node of nodes) {
            if (!(node.name in t.nodes)) p.add(`${at}.targets.nodes`, node.name, "has no target for this node");
        }
    }
    let kubeOvnVersion: string | null = null;
    if (a.kubeOvnVersion === undefined) {
        p.add(`${at}.kubeOvnVersion`, undefined, "is required with command access (e.g. v1.12.22): the tool cannot read the cluster's Kube-OVN version through a command, and v1.13+ must not be touched");
    } else {
        kubeOvnVersion = validateVersion(p, `${at}.kubeOvnVersion`, a.kubeOvnVersion);
    }
    return {
        kind: "command",
        prefix,
        targets: { central, nodes: nodeTargets },
        scriptVia: p.oneOf(`${at}.scriptVia`, a.scriptVia, Object.values(ScriptVia), ScriptVia.Argv),
        kubeOvnVersion,
    };
}

/** A stated Kube-OVN version: well-formed and one this tool supports. */
function validateVersion(p: Problems, at: string, value: unknown): string | null {
    const text = p.matches(at, value, VERSION, "must be a version like v1.12.22", "");
    const version = text ? parseKubeOvnVersion(text) : null;
    if (!version) return null;
    const verdict = checkKubeOvnVersion(version, text);
    if (verdict) p.add(at, text, verdict);
    return text;
}

function validateCertificate(p: Problems, c: CertificateOptions | undefined): ResolvedCertificateOptions {
    const opts: Record<string, unknown> = isRecord(c) ? c : {};
    if (c !== undefined && !isRecord(c)) p.add("certificate", c, "must be an object");
    const validityHours = p.int("certificate.validityHours", opts.validityHours, 8760, 1, 876000);
    const earlyRenewalHours = p.int("certificate.earlyRenewalHours", opts.earlyRenewalHours, 720, 0, 876000);
    if (earlyRenewalHours >= validityHours) {
        p.add("certificate.earlyRenewalHours", earlyRenewalHours, `must be less than certificate.validityHours (${validityHours}), or every run would renew`);
    }
    const algorithm = p.oneOf("certificate.algorithm", opts.algorithm, KEY_ALGORITHMS, "RSA2048");
    if (algorithm.startsWith("ECDSA")) {
        // Seen with OVS 3.1 + strongSwan 5.9.8: the monitor writes `: RSA <key>` into
        // ipsec.secrets, charon fails to load an EC key that way and IKE never authenticates.
        p.add("certificate.algorithm", algorithm, "node keys must be RSA: ovs-monitor-ipsec declares every node key to strongSwan as RSA, so an ECDSA key never loads (the CA may use ECDSA: ca.algorithm)");
    }
    return {
        algorithm,
        organization: p.matches("certificate.organization", opts.organization, SUBJECT_VALUE, "must be 1-64 of A-Z a-z 0-9 space . _ -, no leading/trailing space", "kube-ovn"),
        validityHours,
        earlyRenewalHours,
    };
}

function validateCa(p: Problems, c: CaOptions | undefined, cert: ResolvedCertificateOptions): ResolvedCaOptions {
    const opts: Record<string, unknown> = isRecord(c) ? c : {};
    if (c !== undefined && !isRecord(c)) p.add("ca", c, "must be an object");
    const validityHours = p.int("ca.validityHours", opts.validityHours, 87600, 1, 876000);
    if (validityHours <= cert.validityHours) {
        p.add("ca.validityHours", validityHours, `must exceed certificate.validityHours (${cert.validityHours}): a node certificate must not outlive its CA`);
    }
    return {
        // ECDSA-P256: a 256-bit key signs as strongly as RSA-3072, and the CA's key and
        // certificate are stored with every node's certificate in the state (issue 9: ~6 KB per
        // node smaller than RSA2048). Node keys stay RSA (ovs-monitor-ipsec).
        algorithm: p.oneOf("ca.algorithm", opts.algorithm, KEY_ALGORITHMS, "ECDSA-P256"),
        commonName: p.matches("ca.commonName", opts.commonName, SUBJECT_VALUE, "must be 1-64 of A-Z a-z 0-9 space . _ -", "kube-ovn-ipsec CA"),
        organization: p.matches("ca.organization", opts.organization, SUBJECT_VALUE, "must be 1-64 of A-Z a-z 0-9 space . _ -", cert.organization),
        validityHours,
        generation: p.int("ca.generation", opts.generation, 1, 1, 1_000_000),
    };
}

/** Validates and resolves an access on its own (node discovery has no node list yet). */
export function resolveAccess(access: Access | undefined): ResolvedAccess {
    const p = new Problems();
    const resolved = validateAccess(p, access, []);
    if (p.list.length > 0) throw new ValidationError(p.list);
    return resolved;
}

/** Validates and resolves the arguments; throws a ValidationError listing every problem. */
export function validateArgs(args: KubeOvnIpsecArgs): Settings {
    const p = new Problems();
    if (!isRecord(args)) throw new ValidationError([`args ${describeValue(args)}: must be an object`]);
    const known = ["nodes", "enabled", "access", "certificate", "ca", "waitFor", "timeoutSeconds", "parallelism", "execTimeoutSeconds", "retries", "publishSecrets", "failClosed", "natTraversal"];
    for (const k of Object.keys(args)) if (!known.includes(k)) p.add(k, (args as unknown as Record<string, unknown>)[k], "is not an argument of KubeOvnIpsec");
    const nodes = validateNodes(p, args.nodes);
    const access = validateAccess(p, args.access as Access | undefined, nodes);
    const certificate = validateCertificate(p, args.certificate);
    const ca = validateCa(p, args.ca, certificate);
    const settings: Settings = {
        nodes,
        enabled: p.bool("enabled", args.enabled, true),
        access,
        certificate,
        ca,
        waitFor: p.oneOf("waitFor", args.waitFor, WAIT_FOR, "configured"),
        timeoutSeconds: p.int("timeoutSeconds", args.timeoutSeconds, 120, 1, 3600),
        parallelism: p.int("parallelism", args.parallelism, 10, 1, 200),
        exec: {
            // At least 5 s: the script's own budget stays below it with a margin (scriptLimits).
            timeoutSeconds: p.int("execTimeoutSeconds", args.execTimeoutSeconds, 60, 5, 600),
            retries: p.int("retries", args.retries, 2, 0, 10),
        },
        publishSecrets: p.bool("publishSecrets", args.publishSecrets, true),
        failClosed: p.bool("failClosed", args.failClosed, false),
        natTraversal: p.bool("natTraversal", args.natTraversal, false),
        secretNamespace: access.kind === "kubectl" ? access.namespace : DEFAULT_NAMESPACE,
    };
    if (p.list.length > 0) throw new ValidationError(p.list);
    return settings;
}
