/**
 * `pods/exec` over WebSocket, subprotocol `v5.channel.k8s.io`: what kubectl 1.30+ speaks first
 * (it falls back to SPDY only when the WebSocket upgrade is refused). The command runs in the
 * pod's lab namespaces through the lab's exec prefix, and its streams and exit status come back
 * as a kubelet sends them.
 *
 * The wire format, as client-go reads it (staging/src/k8s.io/client-go/tools/remotecommand/
 * websocket.go, v4.go, v5.go; KEP-4006 "Transition from SPDY to WebSockets"):
 * - every message is binary; its first byte is the channel: 0 stdin, 1 stdout, 2 stderr,
 *   3 error (the status), 4 resize;
 * - v5 adds the CLOSE signal `[255, channel]`: the client half-closes stdin with `[255, 0]` once
 *   its input ends (`echo x | kubectl exec -i` ends the remote stdin);
 * - when the command has exited and its stdout/stderr are drained, the server writes one
 *   metav1.Status as JSON on channel 3, as the kubelet's v4WriteStatusFunc does
 *   (staging/src/k8s.io/kubelet/pkg/cri/streaming/remotecommand/exec.go, httpstream.go):
 *   `Success`, or `Failure` with reason `NonZeroExitCode` and a cause `ExitCode` whose message is
 *   the code (kubectl then prints "command terminated with exit code N" and exits N), or
 *   `InternalError` when the command could not run; then a normal close (1000).
 *
 * When the client goes away before the command ends, the command keeps running, as it does
 * under a real kubelet/container runtime (kubernetes/kubernetes#89031); its stdin is closed and
 * its output drained. `stopAll` ends what is still running when the stand-in stops.
 */
import { ChildProcess, spawn } from "child_process";
import { constants } from "os";
import type { WebSocket } from "ws";
import type { ExecFault } from "./cluster";

export const EXEC_PROTOCOL = "v5.channel.k8s.io";
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE_SIGNAL = 255;

export interface ExecOptions {
    command: string[];
    container: string;
    stdin: boolean;
    stdout: boolean;
    stderr: boolean;
    tty: boolean;
}

/** PodExecOptions from the query string (k8s.io/api/core/v1 PodExecOptions; booleans as the parameter codec reads them). */
export function parseExecQuery(query: URLSearchParams): ExecOptions {
    const flag = (name: string) => ["true", "1"].includes((query.get(name) ?? "").toLowerCase());
    return { command: query.getAll("command"), container: query.get("container") ?? "", stdin: flag("stdin"), stdout: flag("stdout"), stderr: flag("stderr"), tty: flag("tty") };
}

export interface ExecOutcome {
    exitCode: number | null;
    stdinBytes: number;
    stdoutBytes: number;
    stderrBytes: number;
    clientWentAway: boolean;
    fault: ExecFault | null;
}

function frame(channel: number, data: Buffer | string): Buffer {
    const body = typeof data === "string" ? Buffer.from(data) : data;
    return Buffer.concat([Buffer.from([channel]), body]);
}

/** metav1.Status as encoding/json writes it (field order of the Go struct; empty fields omitted). */
function statusFor(exitCode: number | null, spawnError: string | null): string {
    if (spawnError !== null) {
        return JSON.stringify({ metadata: {}, status: "Failure", message: `error executing command in container: ${spawnError}`, reason: "InternalError", details: { causes: [{ message: spawnError }] }, code: 500 });
    }
    if (exitCode === 0) return JSON.stringify({ metadata: {}, status: "Success" });
    return JSON.stringify({
        metadata: {},
        status: "Failure",
        message: `command terminated with non-zero exit code: exit status ${exitCode}`,
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
    });
}

/**
 * Runs `argv` (the lab prefix for the pod's target + the requested command) for an accepted
 * connection; resolves when the exec is over for the client (status sent, or connection gone).
 */
export function newExecOutcome(fault: ExecFault | null): ExecOutcome {
    return { exitCode: null, stdinBytes: 0, stdoutBytes: 0, stderrBytes: 0, clientWentAway: false, fault };
}

/**
 * `outcome` is filled in as the exec goes (the exit code before the status is sent), so a
 * request log that holds it is current by the time the client has its answer.
 */
export function serveExec(ws: WebSocket, argv: string[], options: ExecOptions, outcome: ExecOutcome, running: Set<ChildProcess>): Promise<ExecOutcome> {
    const fault = outcome.fault;
    return new Promise((resolve) => {
        let done = false;
        const finish = () => {
            if (!done) {
                done = true;
                resolve(outcome);
            }
        };
        ws.on("close", () => {
            if (outcome.exitCode === null) outcome.clientWentAway = true;
            finish();
        });
        ws.on("error", () => undefined);
        if (fault === "hang") return; // accepted, then silence: a hung node or kubelet

        // Its own process group, so that stopAll can end the command and everything it forked.
        const child = spawn(argv[0], argv.slice(1), { stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"], detached: true, env: {} });
        running.add(child);
        let spawnError: string | null = null;
        child.on("error", (e) => {
            spawnError = e.message;
        });
        child.stdin?.on("error", () => undefined); // the command may exit without reading its input

        ws.on("message", (data: Buffer, isBinary: boolean) => {
            if (!isBinary || data.length === 0) return;
            if (data[0] === CLOSE_SIGNAL) {
                if (data[1] === STDIN) child.stdin?.end();
                return;
            }
            if (data[0] !== STDIN || !child.stdin || child.stdin.writableEnded) return;
            const chunk = data.subarray(1);
            outcome.stdinBytes += chunk.length;
            if (!child.stdin.write(chunk)) {
                ws.pause();
                child.stdin.once("drain", () => ws.resume());
            }
        });
        ws.on("close", () => {
            // The client is gone: nobody will write stdin any more; the command runs on.
            if (child.stdin && !child.stdin.writableEnded) child.stdin.end();
        });

        const forward = (channel: number, wanted: boolean) => (chunk: Buffer) => {
            if (channel === STDOUT) outcome.stdoutBytes += chunk.length;
            else outcome.stderrBytes += chunk.length;
            if (!wanted || ws.readyState !== ws.OPEN) return;
            ws.send(frame(channel, chunk));
            if (fault === "drop" && channel === STDOUT) ws.terminate(); // the connection breaks mid-stream
        };
        child.stdout?.on("data", forward(STDOUT, options.stdout));
        child.stderr?.on("data", forward(STDERR, options.stderr));

        // "close": the command exited AND its stdout/stderr are closed (a daemon that kept them
        // open keeps the exec open, as under a real runtime).
        child.on("close", (code, signal) => {
            running.delete(child);
            // A command killed by a signal: the runtime reports 128 + signal, like a shell.
            outcome.exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : null);
            if (ws.readyState === ws.OPEN) {
                ws.send(frame(STATUS, statusFor(outcome.exitCode, spawnError)), () => ws.close(1000));
            } else finish();
        });
    });
}

/** Ends every command still running (the stand-in is stopping). */
export function stopAll(running: Set<ChildProcess>): void {
    for (const child of running) {
        try {
            if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
    running.clear();
}
