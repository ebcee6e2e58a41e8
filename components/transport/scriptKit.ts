/**
 * The shared vocabulary of our remote scripts: a prelude (error reporting, timeouts) and a
 * framed output format. Sections start with a random boundary line, so nothing a remote tool
 * prints can be mistaken for our framing.
 */
import { randomBytes } from "crypto";
import { EXIT_PERMANENT, EXIT_TRANSIENT } from "./exec";
import { shellQuote } from "./shellQuote";

export function newBoundary(): string {
    return `@@koi-${randomBytes(8).toString("hex")}@@`;
}

/**
 * `fail CODE STEP MESSAGE`: the only way our scripts fail on purpose; the message names the
 * step and says what to do. `on_fail` (a hook scripts may redefine) runs first, for rollback.
 * `run_service SECONDS NAME ACTION` runs an init script, bounded, through `service` when there is
 * one (it cleans the environment); `service_said` is the tail of what it printed.
 */
export function prelude(boundary: string, ovsdbTimeoutSeconds: number): string {
    return [
        "export LC_ALL=C",
        "PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin",
        `B=${shellQuote(boundary)}`,
        `T=${Math.max(1, Math.floor(ovsdbTimeoutSeconds))}`,
        `PERMANENT=${EXIT_PERMANENT}`,
        `TRANSIENT=${EXIT_TRANSIENT}`,
        "on_fail() { :; }",
        "fail() { code=$1; step=$2; shift 2; on_fail; printf 'kube-ovn-ipsec: step=%s: %s\\n' \"$step\" \"$*\" | tr -d '\\r' | head -c 500 >&2; printf '\\n' >&2; exit \"$code\"; }",
        "section() { printf '%s %s\\n' \"$B\" \"$1\"; }",
        // One line for an error message; an OVS tool killed by its own --timeout says so.
        "oneline() { sed 's/^.*terminating with signal 14 (Alarm clock).*$/no answer within '\"$T\"' s (the database is not responding)/' | tr '\\n\\r' '  ' | head -c 400; }",
        "vsctl() { ovs-vsctl --timeout=\"$T\" \"$@\"; }",
        "unquote() { tr -d '\"\\n'; }",
        // Service output goes to a file, never a pipe: a daemon that keeps its inherited stdout
        // open would otherwise hold the exec session open until it exits.
        "SVC_LOG=$(mktemp 2>/dev/null || echo /tmp/kube-ovn-ipsec-svc.$$)",
        "trap 'rm -f \"$SVC_LOG\"' EXIT",
        "run_service() { if command -v service >/dev/null 2>&1; then timeout \"$1\" service \"$2\" \"$3\"; else timeout \"$1\" \"/etc/init.d/$2\" \"$3\"; fi >\"$SVC_LOG\" 2>&1 </dev/null; }",
        "service_said() { tail -n 3 \"$SVC_LOG\" | oneline; }",
        // Poll a condition every 0.1 s, at most N times: waiting on a condition, never a fixed sleep.
        "wait_until() { n=$1; shift; i=0; while ! \"$@\"; do i=$((i + 1)); [ \"$i\" -ge \"$n\" ] && return 1; sleep 0.1; done; return 0; }",
        "monitor_up() { ovs-appctl -t ovs-monitor-ipsec --timeout=5 version >/dev/null 2>&1; }",
        "ike_up() { ipsec status >/dev/null 2>&1; }",
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
