/**
 * What one node reported, parsed from the observe script's output (or the facts an apply or
 * remove script prints at its end). Plain JSON, no key material, no raw tool output beyond
 * the bounded tunnels/show and `ipsec status` texts, which only the status evaluation reads.
 */
import { CERT_KEYS, CertKey } from "../node/ovsdbRecord";
import { parseOvsdbString } from "../transport/ovsdbString";
import { MAX_SECTION_BYTES, parseFacts, parseSections } from "../transport/scriptKit";
import { MAX_STUCK_IKE_SAS } from "./observeScript";

/** A file we installed, compared with the manifest we left next to it. */
export type FileState = "ok" | "missing" | "changed" | "unknown";

export interface ToolOutput {
    ok: boolean;
    text: string;
    /** The tool printed more than MAX_SECTION_BYTES; `text` is the beginning. */
    truncated: boolean;
}

export interface NodeObservation {
    node: string;
    /** RFC 3339 time the node was read. */
    observedAt: string;
    /** false when the node could not be read at all; `error` says why. */
    reachable: boolean;
    error: string | null;
    systemId: string | null;
    /** external_ids:ovn-encap-ip (where peers send this node's Geneve traffic). */
    encapIp: string | null;
    /** other_config keys as they are (null: absent). */
    otherConfig: Record<CertKey, string | null>;
    /** The manifest of what we installed (null: none, e.g. never installed or the pod was reset). */
    manifest: Record<CertKey, string | null> | null;
    files: Record<CertKey, FileState>;
    privateKeyMode: string | null;
    /** How many files of ours are in /etc/ipsec.d. */
    ourFiles: number;
    /** The record of what other_config held before us exists (external_ids). */
    beforeRecorded: boolean;
    /** Services our marker says we started. */
    startedByUs: { monitor: boolean; ike: boolean };
    monitorRunning: boolean;
    ikeDaemonRunning: boolean;
    /** `ip xfrm policy` entries (null: `ip` not in the pod). */
    xfrmPolicies: number | null;
    guard: GuardObservation;
    tunnelsShow: ToolOutput;
    ipsecStatus: ToolOutput;
    /** Our strongSwan settings file (node/strongswanSettings.ts): as we wrote it, missing or changed (null: not reported). */
    strongswanSettings: "ok" | "missing" | "changed" | null;
    /** Fingerprints of the CA files of ours in cacerts/ (what strongSwan trusts, of ours). */
    trustedCas: string[];
    /** IKE SAs (`name[id]`) still CONNECTING a couple of seconds after `ipsec status` was read: unanswered. */
    ikeStuck: string[];
}

export interface GuardObservation {
    /** iptables exists in the pod. */
    tool: boolean;
    /** Jumps from OUTPUT into our chain (1 when installed; more would be duplicates). */
    jumps: number;
    chain: boolean;
    /** Addresses our chain drops unprotected Geneve to. */
    addresses: string[];
    /** Addresses the node's Geneve interfaces send to (what the chain should list). */
    wanted: string[];
    /** Packets the guard dropped since it was installed. */
    drops: number;
    /** Remote addresses of the node's Geneve interfaces that are not IP addresses (left out). */
    invalid: string[];
}

const words = (s: string | undefined): string[] => (s ?? "").split(/\s+/).filter(Boolean);

function fileState(v: string | undefined): FileState {
    return v === "ok" || v === "missing" || v === "changed" ? v : "unknown";
}

function toolOutput(text: string | undefined, rc: string | undefined): ToolOutput {
    const body = text ?? "";
    const truncated = Buffer.byteLength(body, "utf8") > MAX_SECTION_BYTES;
    return { ok: rc === "0" || (truncated && rc === "141"), text: truncated ? Buffer.from(body, "utf8").subarray(0, MAX_SECTION_BYTES).toString("utf8") : body, truncated };
}

/** Parses the framed output of the observe script (or the final facts of apply/remove). */
export function parseObservation(node: string, stdout: string, boundary: string, observedAt: Date): NodeObservation {
    const sections = parseSections(stdout, boundary);
    const f = parseFacts(sections.get("facts"));
    const codes = parseFacts(sections.get("codes"));
    const other = {} as Record<CertKey, string | null>;
    const manifest = {} as Record<CertKey, string | null>;
    const files = {} as Record<CertKey, FileState>;
    for (const k of CERT_KEYS) {
        other[k] = parseOvsdbString(f[`oc_${k}`] ?? "");
        manifest[k] = f[`m_${k}`] || null;
        files[k] = f.manifest === "1" ? fileState(f[`f_${k}`]) : "unknown";
    }
    const started = words(f.started);
    return {
        node,
        observedAt: observedAt.toISOString(),
        reachable: true,
        error: null,
        systemId: parseOvsdbString(f.system_id ?? ""),
        encapIp: parseOvsdbString(f.encap_ip ?? ""),
        otherConfig: other,
        manifest: f.manifest === "1" ? manifest : null,
        files,
        privateKeyMode: f.key_mode || null,
        ourFiles: Number(f.our_files ?? "0") || 0,
        strongswanSettings: f.swconf === "ok" || f.swconf === "missing" || f.swconf === "changed" ? f.swconf : null,
        trustedCas: words(f.trusted_cas).filter((w) => /^[0-9a-f]{16}$/.test(w)).sort(),
        beforeRecorded: (f.before ?? "") !== "",
        startedByUs: { monitor: started.includes("monitor"), ike: started.includes("ike") },
        monitorRunning: f.monitor === "1",
        ikeDaemonRunning: f.ike === "1",
        xfrmPolicies: f.xfrm_policies === undefined || f.xfrm_policies === "" ? null : Number(f.xfrm_policies),
        guard: {
            tool: f.guard_tool === "1",
            jumps: Number(f.guard_jumps ?? "0") || 0,
            chain: f.guard_chain === "1",
            addresses: words(f.guard_addrs).sort(),
            wanted: words(f.guard_wanted).sort(),
            drops: Number(f.guard_drops ?? "0") || 0,
            // Tab-separated: an invalid value may hold spaces.
            invalid: (f.guard_invalid ?? "").split("\t").filter(Boolean),
        },
        tunnelsShow: toolOutput(sections.get("tunnels"), codes.tunnels_rc),
        ipsecStatus: toolOutput(sections.get("ike"), codes.ike_rc),
        ikeStuck: (sections.get("ike_stuck") ?? "").split("\n").map((l) => l.trim()).filter((l) => /^\S+\[\d{1,10}\]$/.test(l)).slice(0, MAX_STUCK_IKE_SAS),
    };
}

/** A node that could not be read: everything unknown, the reason kept. */
export function unreadableNode(node: string, error: string, observedAt: Date): NodeObservation {
    const none = { certificate: null, private_key: null, ca_cert: null };
    return {
        node,
        observedAt: observedAt.toISOString(),
        reachable: false,
        error,
        systemId: null,
        encapIp: null,
        otherConfig: { ...none },
        manifest: null,
        files: { certificate: "unknown", private_key: "unknown", ca_cert: "unknown" },
        privateKeyMode: null,
        ourFiles: 0,
        beforeRecorded: false,
        startedByUs: { monitor: false, ike: false },
        monitorRunning: false,
        ikeDaemonRunning: false,
        xfrmPolicies: null,
        guard: { tool: false, jumps: 0, chain: false, addresses: [], wanted: [], drops: 0, invalid: [] },
        tunnelsShow: { ok: false, text: "", truncated: false },
        ipsecStatus: { ok: false, text: "", truncated: false },
        ikeStuck: [],
        strongswanSettings: null,
        trustedCas: [],
    };
}
