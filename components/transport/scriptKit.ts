/**
 * The shared vocabulary of our remote scripts: a prelude (deadline, error reporting, bounded
 * tools, the node lock) and a framed output format. Sections start with a random boundary
 * line, so nothing a remote tool prints can be mistaken for our framing.
 *
 * Every script bounds itself: it gets a budget below the exec timeout, every wait and every
 * tool call inside it is cut to what is left of that budget, so a script is over (and has
 * released the node lock) before the caller gives up on it and retries.
 */
import { randomBytes } from "crypto";
import { EXIT_COMMAND_FAILED, EXIT_PERMANENT, EXIT_TRANSIENT } from "./exitCodes";
import { shellQuote } from "./shellQuote";

export function newBoundary(): string {
    return `@@koi-${randomBytes(8).toString("hex")}@@`;
}

/** How long a script may run, and how long one OVSDB / ovs-appctl call may take inside it. */
export interface ScriptLimits {
    budgetSeconds: number;
    ovsdbTimeoutSeconds: number;
}

/**
 * Where our scripts serialise on a node: two of our commands never change a node at once.
 * `/var/run/openvswitch` exists in every ovs-ovn pod (it is the host's /run/openvswitch).
 */
export const NODE_LOCK = "/var/run/openvswitch/kube-ovn-ipsec.lock";

/** Largest section of a remote tool's output we keep (tunnels/show, ipsec status). */
export const MAX_SECTION_BYTES = 1024 * 1024;

/** What a script is for: its name, and whether it only reads. */
export interface ScriptPurpose {
    name: string;
    readOnly: boolean;
}

const LABEL = /# kube-ovn-ipsec script: ([a-z0-9-]{1,40}) \((read-only|changes the node)\)/;

/**
 * The first line of every script, e.g. `# kube-ovn-ipsec script: observe (read-only)`: says in
 * `ps`, in an audit log and in the tests' command records what a command is. A label, not a
 * guarantee: the tests check separately that read-only scripts change nothing.
 */
export function scriptLabel(purpose: ScriptPurpose): string {
    return `# kube-ovn-ipsec script: ${purpose.name} (${purpose.readOnly ? "read-only" : "changes the node"})`;
}

/** The purpose a command's text declares (null: not one of our scripts). */
export function purposeOf(text: string): ScriptPurpose | null {
    const m = LABEL.exec(text);
    return m ? { name: m[1], readOnly: m[2] === "read-only" } : null;
}

/**
 * The prelude every script starts with. Shell functions it defines:
 *
 *   left                  seconds left of the budget (0 when over)
 *   cap N                 min(N, left), at least 1: a bound for one tool call
 *   vsctl ARGS            ovs-vsctl with a bounded --timeout
 *   bounded N CMD...      CMD under `timeout`, at most N seconds (and at most what is left)
 *   fail CODE STEP MSG    report the step and exit CODE (3 permanent, 75 transient)
 *   fail_cmd STEP OUT MSG a command failed: MSG plus its own error text OUT; exit 76, and the
 *                         caller classifies the cause from that text (read-only file system,
 *                         no space, ...), so the script never guesses one
 *   need TOOL...          fail (permanent) naming every tool missing from the pod's PATH
 *   lock shared|exclusive take the node lock, waiting at most what is left
 *   wait_until N CMD      poll CMD every 0.1 s until it succeeds, for at most N seconds (and
 *                         never past the budget); `waited` is how long the last wait took
 *   run_daemon CMD...     a command that may start a daemon: bounded, output to $SVC_LOG
 *   run_service N A       an init script (through `service` when there is one), as run_daemon
 *   section NAME          start an output section
 *   oneline               one bounded line of a tool's message, for error texts
 *
 * `on_fail` is a hook a script may redefine, for rollback; `fail` and `fail_cmd` run it first.
 */
export function prelude(boundary: string, limits: ScriptLimits, purpose: ScriptPurpose): string {
    const budget = Math.max(1, Math.floor(limits.budgetSeconds));
    const ovsdb = Math.max(1, Math.floor(limits.ovsdbTimeoutSeconds));
    return [
        scriptLabel(purpose),
        "export LC_ALL=C",
        "PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin",
        `B=${shellQuote(boundary)}`,
        `BUDGET=${budget}`,
        `T=${ovsdb}`,
        "END=$(( $(date +%s) + BUDGET ))",
        `PERMANENT=${EXIT_PERMANENT}`,
        `TRANSIENT=${EXIT_TRANSIENT}`,
        `CMDFAIL=${EXIT_COMMAND_FAILED}`,
        "on_fail() { :; }",
        "report() { printf 'kube-ovn-ipsec: step=%s: %s\\n' \"$1\" \"$2\" | tr -d '\\r' | head -c 700 >&2; printf '\\n' >&2; }",
        "fail() { code=$1; step=$2; shift 2; on_fail; report \"$step\" \"$*\"; exit \"$code\"; }",
        "fail_cmd() { step=$1; out=$2; shift 2; on_fail; report \"$step\" \"$*: $(printf '%s' \"$out\" | oneline)\"; exit \"$CMDFAIL\"; }",
        "section() { printf '%s %s\\n' \"$B\" \"$1\"; }",
        "left() { l=$(( END - $(date +%s) )); [ \"$l\" -gt 0 ] || l=0; echo \"$l\"; }",
        "cap() { c=$(left); [ \"$c\" -gt \"$1\" ] && c=$1; [ \"$c\" -ge 1 ] || c=1; echo \"$c\"; }",
        "bounded() { b=$(cap \"$1\"); shift; timeout -k 1 \"$b\" \"$@\"; }",
        // An OVS tool killed by its own --timeout says "Alarm clock": say what that means.
        // (The shell then reports the killed tool with a bare "Alarm clock" line: dropped.)
        "oneline() { sed -e 's/^.*terminating with signal 14 (Alarm clock).*$/no answer within '\"$T\"' s (the database is not responding)/' -e '/^Alarm clock$/d' | tr '\\n\\r' '  ' | sed 's/ *$//' | head -c 400; }",
        "vsctl() { ovs-vsctl --timeout=\"$(cap \"$T\")\" \"$@\"; }",
        "need() { missing=''; for t in \"$@\"; do command -v \"$t\" >/dev/null 2>&1 || missing=\"$missing $t\"; done; [ -z \"$missing\" ] || fail $PERMANENT check-tools \"not found in the pod's PATH ($PATH):$missing\"; }",
        // Service output goes to a file, never a pipe: a daemon that keeps its inherited stdout
        // open would otherwise hold the exec session open until it exits.
        "SVC_LOG=$(mktemp 2>/dev/null || echo /tmp/kube-ovn-ipsec-svc.$$)",
        "trap 'rm -f \"$SVC_LOG\"' EXIT",
        // fd 9 (the node lock) is closed for them: a daemon would otherwise hold the lock forever.
        "run_daemon() { s=$(cap 600); timeout -k 1 \"$s\" \"$@\" >\"$SVC_LOG\" 2>&1 </dev/null 9>&-; }",
        "run_service() { if command -v service >/dev/null 2>&1; then run_daemon service \"$1\" \"$2\"; else run_daemon \"/etc/init.d/$1\" \"$2\"; fi; }",
        "service_said() { tail -n 3 \"$SVC_LOG\" | oneline; }",
        // Waiting on a condition, never a fixed sleep; bounded by the script's own deadline.
        "wait_until() { w0=$(date +%s); wend=$(( w0 + $(cap \"$1\") )); shift; while ! \"$@\"; do [ \"$(date +%s)\" -lt \"$wend\" ] || { waited=$(( $(date +%s) - w0 )); return 1; }; sleep 0.1; done; waited=$(( $(date +%s) - w0 )); return 0; }",
        "monitor_up() { ovs-appctl -t ovs-monitor-ipsec --timeout=\"$(cap 3)\" version >/dev/null 2>&1; }",
        "ike_up() { bounded 3 ipsec status >/dev/null 2>&1; }",
        `LOCK=${shellQuote(NODE_LOCK)}`,
        "lock() { mode=-x; [ \"$1\" = shared ] && mode=-s; err=$( { : >>\"$LOCK\"; } 2>&1 ) || fail_cmd lock \"$err\" \"cannot open the node lock $LOCK\"; exec 9>>\"$LOCK\"; flock \"$mode\" -w \"$(cap 600)\" 9 || fail $TRANSIENT lock \"another kube-ovn-ipsec command is still running on this node (it held $LOCK for the whole $BUDGET s budget); run again when it has finished\"; }",
        "",
    ].join("\n");
}

/** Splits framed stdout into sections by name; text outside any section is ignored. */
export function parseSections(stdout: string, boundary: string): Map<string, string> {
    const sections = new Map<string, string>();
    let current: string | null = null;
    let lines: string[] = [];
    const flush = () => {
        if (current !== null) sections.set(current, lines.join("\n"));
    };
    for (const line of stdout.split("\n")) {
        if (line.startsWith(boundary + " ")) {
            flush();
            current = line.slice(boundary.length + 1).trim();
            lines = [];
        } else if (current !== null) {
            lines.push(line);
        }
    }
    flush();
    return sections;
}

/** `key=value` lines of a facts section. */
export function parseFacts(text: string | undefined): Record<string, string> {
    const facts: Record<string, string> = {};
    for (const line of (text ?? "").split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) facts[line.slice(0, eq)] = line.slice(eq + 1).trim();
    }
    return facts;
}
