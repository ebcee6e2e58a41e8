/**
 * Runs commands: locally (kubectl get) and in pods (kubectl exec, or the command prefix).
 * Every call has a timeout; transient failures are retried with bounded backoff; failures
 * come back as RemoteErrors. Secrets only ever travel on stdin, and no argv, stdin or raw
 * tool message is ever put into an error.
 */
import execa from "execa";
import { randomBytes } from "crypto";
import { redact } from "../util/redact";
import { ExecPolicy, ResolvedAccess, TARGET_PLACEHOLDER } from "./access";
import { EXIT_COMMAND_FAILED, EXIT_PERMANENT, EXIT_TRANSIENT } from "./exitCodes";
import { classifyFailure } from "./failureCause";
import { kubectlFailure } from "./kubectlErrors";
import { RemoteError, remoteError } from "./remoteError";

/** Where a remote script runs: a pod found through the API, or a command-access target. */
export type Endpoint =
    // `relookup` finds the pod again (the one named here was replaced); never stored, like the name.
    | { kind: "pod"; label: string; pod: string; container: string; relookup?: () => Promise<Endpoint> }
    | { kind: "target"; label: string; target: string };

export interface RemoteScript {
    /** Names the step in errors when the script itself does not say which step failed. */
    step: string;
    /** A POSIX sh script built only from validated, shell-quoted values. */
    script: string;
    /** Data for the script (key material included): sent on stdin, never in argv. */
    stdin?: string;
    /** Per-call timeout override (a status wait runs longer than a plain step). */
    timeoutSeconds?: number;
}

export interface RemoteResult {
    stdout: string;
    stderr: string;
    attempts: number;
}

export { EXIT_COMMAND_FAILED, EXIT_PERMANENT, EXIT_TRANSIENT } from "./exitCodes";
/** Scripts say which step failed on stderr: `kube-ovn-ipsec: step=<name>: <message>`. */
const STEP_LINE = /^kube-ovn-ipsec: step=([a-z0-9-]{1,40}): (.{0,700})$/m;
/**
 * Bound on what we read of one command's stdout/stderr. Our scripts cap what they print far
 * below it (MAX_SECTION_BYTES per section); past it the output is cut and the call fails,
 * saying so, instead of growing the process without limit.
 */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const END_MARKER = "kube-ovn-ipsec: done";

export function kubectlBaseArgs(access: ResolvedAccess & { kind: "kubectl" }, timeoutSeconds: number): string[] {
    const args: string[] = [];
    // `--flag=value` so that no value can ever be read as another flag.
    if (access.kubeconfig) args.push(`--kubeconfig=${access.kubeconfig}`);
    if (access.context) args.push(`--context=${access.context}`);
    args.push(`--namespace=${access.namespace}`, `--request-timeout=${timeoutSeconds}s`);
    return args;
}

/** The exact argv (and stdin) of a remote script: what a test asserts and what gets run. */
export function buildRemoteInvocation(
    access: ResolvedAccess,
    endpoint: Endpoint,
    script: string,
    stdin: string | undefined,
    timeoutSeconds: number,
): { file: string; args: string[]; input: string | undefined } {
    // The script marks its own completion: a transport that cuts output short is detected.
    const body = `${script}\nprintf '%s\\n' '${END_MARKER}'\n`;
    if (access.kind === "kubectl") {
        if (endpoint.kind !== "pod") throw new Error("kubectl access needs a pod endpoint");
        // Always on stdin: an exec's command travels in the request URL, which API servers and
        // kubelets bound (and audit logs record); our scripts are 10-25 KB, and grow with the
        // node count. The command is then just `sh -s`.
        const args = [...kubectlBaseArgs(access, timeoutSeconds), "exec", "--stdin", endpoint.pod, `--container=${endpoint.container}`, "--", "sh", "-s"];
        return { file: access.kubectl, args, input: scriptOnStdin(body, stdin) };
    }
    if (endpoint.kind !== "target") throw new Error("command access needs a target endpoint");
    const argv = access.prefix.map((arg) => arg.split(TARGET_PLACEHOLDER).join(endpoint.target));
    if (access.scriptVia === "stdin") return { file: argv[0], args: [...argv.slice(1), "sh", "-s"], input: scriptOnStdin(body, stdin) };
    return { file: argv[0], args: [...argv.slice(1), "sh", "-c", body], input: stdin };
}

/**
 * `sh -s` input: the script first; its data follows as a here-document with a random, quoted
 * delimiter (no expansion inside, no way for the data to end it early).
 */
function scriptOnStdin(body: string, stdin: string | undefined): string {
    const eof = `KOI_EOF_${randomBytes(8).toString("hex")}`;
    if (stdin === undefined || stdin.endsWith("\n")) return `{\n${body}} <<'${eof}'\n${stdin ?? ""}${eof}\n`;
    // A here-document always ends in a newline: data without one goes through awk, which
    // gives back its lines joined by newlines and no final one, so it arrives byte for byte.
    return `awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }' <<'${eof}' | {\n${stdin}\n${eof}\n${body}}\n`;
}

function backoffMs(attempt: number): number {
    // 0.5 s, 1 s, 2 s, ... capped at 8 s, with jitter so parallel nodes do not retry in step.
    const base = Math.min(8000, 500 * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
}

function delay(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Attempt {
    ok: boolean;
    /** stdout or stderr went past MAX_OUTPUT_BYTES: the command was stopped and its output cut. */
    overflow: boolean;
    stdout: string;
    stderr: string;
    exitCode: number | null;
    timedOut: boolean;
    spawnError: string | null;
}

async function runOnce(file: string, args: string[], input: string | undefined, timeoutSeconds: number): Promise<Attempt> {
    const result = await execa(file, args, {
        input,
        stdin: input === undefined ? "ignore" : "pipe",
        reject: false,
        timeout: timeoutSeconds * 1000,
        killSignal: "SIGKILL",
        stripFinalNewline: false,
        maxBuffer: MAX_OUTPUT_BYTES,
        env: { LC_ALL: "C" },
    });
    // execa 5 reports an overflow only in its message (and kills the child).
    const overflow = result.failed && /maxBuffer/.test(String((result as unknown as { message?: string }).message ?? ""));
    // execa reports a missing binary through `failed` with no exit code; keep only its code
    // (its message repeats the whole argv, which we never show).
    const spawnError = !overflow && (result.exitCode === undefined || result.exitCode === null)
        ? ((result as unknown as { code?: string }).code ?? (result.signal ? `killed by ${result.signal}` : "could not start"))
        : null;
    return {
        ok: !result.failed && result.exitCode === 0,
        overflow,
        stdout: result.stdout ?? "",
        stderr: result.stderr ?? "",
        exitCode: result.exitCode ?? null,
        timedOut: result.timedOut === true,
        spawnError,
    };
}

/**
 * Runs a script on a node or the central, retrying transient failures. Resolves with stdout
 * (without the completion marker) or rejects with a RemoteError naming node and step.
 */
export async function runRemote(access: ResolvedAccess, endpoint: Endpoint, job: RemoteScript, policy: ExecPolicy): Promise<RemoteResult> {
    const timeoutSeconds = job.timeoutSeconds ?? policy.timeoutSeconds;
    const maxAttempts = policy.retries + 1;
    let last: RemoteError | undefined;
    let target = endpoint;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const { file, args, input } = buildRemoteInvocation(access, target, job.script, job.stdin, timeoutSeconds);
        const r = await runOnce(file, args, input, timeoutSeconds);
        const markerAt = r.stdout.lastIndexOf(END_MARKER);
        if (r.ok && markerAt >= 0) {
            return { stdout: r.stdout.slice(0, markerAt), stderr: redact(r.stderr), attempts: attempt };
        }
        const said = STEP_LINE.exec(r.stderr);
        const step = said ? said[1] : job.step;
        let transient = true;
        let detail: string;
        let hint: string | undefined;
        if (r.overflow) {
            detail = `the command printed more than ${MAX_OUTPUT_BYTES / (1024 * 1024)} MiB and was stopped`;
            transient = false;
            hint = "a tool in the pod printed far more than expected: look at the pod's output of this step by hand";
        } else if (r.spawnError && !r.timedOut) {
            detail = `could not run ${file}: ${r.spawnError}`;
            transient = false;
            hint = access.kind === "kubectl" ? "install kubectl or set access.kubectl" : "check access.prefix: its first element must be an installed program";
        } else if (r.timedOut) {
            detail = `no answer within ${timeoutSeconds}s (killed)`;
            hint = "the pod or its OVSDB may be hung; check the pod, or raise execTimeoutSeconds";
        } else if (r.exitCode === EXIT_PERMANENT) {
            detail = said ? said[2] : "the node refused the step";
            transient = false;
            // The script's own words say what to do for the causes it knows; a missing tool gets
            // the classifier's advice.
            const cause = said ? classifyFailure(said[2]) : null;
            if (cause?.cause === "program not found") hint = cause.hint;
        } else if (r.exitCode === EXIT_TRANSIENT) {
            detail = said ? said[2] : "a transient failure on the node";
        } else if (r.exitCode === EXIT_COMMAND_FAILED && said) {
            // A command in the script failed; its own text names the cause (or does not).
            const cause = classifyFailure(said[2]);
            detail = said[2];
            transient = cause ? !cause.permanent : true;
            hint = cause
                ? `${cause.cause}${cause.permanent ? " (not retried: retrying cannot fix it)" : ""}: ${cause.hint}`
                : "the error above is not one kube-ovn-ipsec recognises; it was retried; check the pod";
        } else if (r.ok) {
            detail = "the output ended before the script finished (connection cut?)";
        } else {
            detail = `the command failed with exit ${r.exitCode}${said ? `: ${said[2]}` : ""}`;
            hint = access.kind === "kubectl" ? "check that kubectl can reach the cluster and exec into the pod" : "check that the target is reachable through access.prefix";
        }
        const k = access.kind === "kubectl" && !r.ok && !r.timedOut && !r.spawnError ? kubectlFailure(access, r.stderr) : null;
        if (k) ({ detail, transient, hint } = k);
        last = remoteError({ where: endpoint.label, step, detail, exitCode: r.exitCode, stderr: said || k?.quiet ? "" : r.stderr, attempts: attempt, transient, hint });
        if (!transient || attempt === maxAttempts) break;
        await delay(backoffMs(attempt));
        // A replaced pod: the next attempt goes to the node's pod of now.
        if (k?.podGone && target.kind === "pod" && target.relookup) target = await target.relookup();
    }
    throw last;
}

/** Fragments of kubectl errors that retrying cannot fix. */
const KUBECTL_PERMANENT = /(does not exist|not found|NotFound|Forbidden|Unauthorized|no such file|invalid configuration|unknown flag|error: unknown|couldn't get current server API group list: .*no such host)/i;

/** Runs kubectl locally (API reads), with the same timeout/retry policy; resolves with stdout. */
export async function runKubectl(access: ResolvedAccess & { kind: "kubectl" }, args: string[], step: string, policy: ExecPolicy): Promise<string> {
    const maxAttempts = policy.retries + 1;
    let last: RemoteError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const r = await runOnce(access.kubectl, [...kubectlBaseArgs(access, policy.timeoutSeconds), ...args], undefined, policy.timeoutSeconds);
        if (r.ok) return r.stdout;
        let transient = !r.spawnError && !KUBECTL_PERMANENT.test(r.stderr);
        let detail = r.spawnError ? `could not run ${access.kubectl}: ${r.spawnError}` : r.timedOut ? `no answer within ${policy.timeoutSeconds}s` : `kubectl failed with exit ${r.exitCode}`;
        let hint: string | undefined = "check access.kubectl.kubeconfig, access.kubectl.context and access.kubectl.namespace, and that the API server is reachable";
        const k = !r.spawnError && !r.timedOut ? kubectlFailure(access, r.stderr) : null;
        if (k) ({ detail, transient, hint } = k);
        last = remoteError({
            where: "kubectl",
            step,
            detail,
            exitCode: r.exitCode,
            stderr: k?.quiet ? "" : r.stderr,
            attempts: attempt,
            transient,
            hint,
        });
        if (!transient || attempt === maxAttempts) break;
        await delay(backoffMs(attempt));
    }
    throw last;
}
