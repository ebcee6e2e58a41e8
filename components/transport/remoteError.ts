/**
 * The one error shape every remote step fails with: which node (or the central), which step,
 * what the node said (tail of stderr, redacted) and what to do. Plain Error plus fields, so
 * it survives closure serialization into the dynamic providers.
 */
import { tail } from "../util/redact";

export interface RemoteErrorInfo {
    /** Node name, or `ovn-central`, or `kubectl` for local API calls. */
    where: string;
    step: string;
    detail: string;
    exitCode?: number | null;
    stderr?: string;
    attempts?: number;
    /** A transient failure may succeed when retried; a permanent one will not. */
    transient: boolean;
    hint?: string;
}

export type RemoteError = Error & { remote: RemoteErrorInfo };

export function remoteError(info: RemoteErrorInfo): RemoteError {
    const parts = [`[${info.where}] step "${info.step}" failed`];
    const how: string[] = [];
    if (info.exitCode !== undefined && info.exitCode !== null) how.push(`exit ${info.exitCode}`);
    if (info.attempts !== undefined) how.push(`${info.attempts} attempt${info.attempts === 1 ? "" : "s"}`);
    if (how.length > 0) parts.push(` (${how.join(", ")})`);
    parts.push(`: ${info.detail}`);
    const stderr = info.stderr ? tail(info.stderr) : "";
    if (stderr && !info.detail.includes(stderr)) parts.push(`\n  stderr: ${stderr.split("\n").join("\n          ")}`);
    if (info.hint) parts.push(`\n  what to do: ${info.hint}`);
    const error = new Error(parts.join("")) as RemoteError;
    error.name = "RemoteStepError";
    error.remote = info;
    return error;
}

export function isRemoteError(error: unknown): error is RemoteError {
    return error instanceof Error && typeof (error as Partial<RemoteError>).remote === "object";
}

/** Any thrown value as a message safe to show (no stack, redacted, bounded). */
export function errorMessage(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return tail(text, 40, 4000);
}
