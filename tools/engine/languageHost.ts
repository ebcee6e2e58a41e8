/**
 * The language host's part: start the Pulumi program with `@pulumi/pulumi/cmd/run` as
 * pulumi-language-nodejs does (project.ts has the launch; `execRuntime` in
 * `sdk/nodejs/cmd/pulumi-language-nodejs/main.go` is what it follows), collect what it prints,
 * and report how it ended. Exit code 32 means "the program already logged an actionable error"
 * (`nodeJSProcessExitedAfterShowingUserActionableMessage`); any other non-zero code is a failure
 * the host reports itself.
 *
 * The program runs in its own process group, so that stopping it (as the language host's
 * Cancel does: SIGINT, SIGKILL after 5 s) or killing it (an interrupted CLI) also ends what it
 * started.
 */
import { ChildProcess, spawn } from "child_process";
import * as vm from "vm";
import { ProgramLaunch } from "./project";

/** The real process object (under jest, `process` is a per-test copy that never sees `exit`). */
const realProcess = vm.runInThisContext("process") as NodeJS.Process;

/** `nodeJSProcessExitedAfterShowingUserActionableMessage` in pulumi-language-nodejs. */
export const EXIT_AFTER_LOGGED_ERROR = 32;

export interface ProgramExit {
    code: number | null;
    signal: NodeJS.Signals | null;
}

export interface ProgramOutputLine {
    stream: "stdout" | "stderr";
    line: string;
}

interface Unrefable {
    unref?: () => void;
}

export class ProgramProcess {
    readonly exited: Promise<ProgramExit>;
    readonly output: ProgramOutputLine[] = [];
    readonly startedAt = Date.now();
    private readonly exitHook = (): void => this.signalGroup("SIGKILL");

    private constructor(
        private readonly child: ChildProcess,
        onLine: (line: ProgramOutputLine) => void,
    ) {
        this.exited = new Promise<ProgramExit>((resolve) => {
            child.once("exit", (code, signal) => {
                realProcess.removeListener("exit", this.exitHook);
                resolve({ code, signal });
            });
            child.once("error", () => resolve({ code: null, signal: null }));
        });
        realProcess.once("exit", this.exitHook);
        for (const stream of ["stdout", "stderr"] as const) {
            let buffer = "";
            const source = child[stream];
            source?.setEncoding("utf8");
            source?.on("data", (chunk: string) => {
                buffer += chunk;
                let nl: number;
                while ((nl = buffer.indexOf("\n")) >= 0) {
                    const entry = { stream, line: buffer.slice(0, nl) };
                    buffer = buffer.slice(nl + 1);
                    this.output.push(entry);
                    onLine(entry);
                }
            });
            source?.on("end", () => {
                if (buffer) {
                    const entry = { stream, line: buffer };
                    this.output.push(entry);
                    onLine(entry);
                }
            });
            (source as Unrefable | null)?.unref?.();
        }
        child.unref();
    }

    static start(launch: ProgramLaunch, onLine: (line: ProgramOutputLine) => void = () => undefined): ProgramProcess {
        const child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
        return new ProgramProcess(child, onLine);
    }

    get pid(): number {
        return this.child.pid ?? -1;
    }

    get running(): boolean {
        return this.child.exitCode === null && this.child.signalCode === null;
    }

    /** The language host's Cancel: SIGINT, then SIGKILL after 5 s (`cmd.WaitDelay`). */
    async stop(): Promise<ProgramExit> {
        if (this.running) {
            this.signalGroup("SIGINT");
            const timer = setTimeout(() => this.signalGroup("SIGKILL"), 5000);
            await this.exited;
            clearTimeout(timer);
        }
        return this.exited;
    }

    /** Like a killed CLI: the program and everything it started, at once. */
    async kill(): Promise<ProgramExit> {
        this.signalGroup("SIGKILL");
        return this.exited;
    }

    private signalGroup(signal: NodeJS.Signals): void {
        const pid = this.child.pid;
        if (pid === undefined) return;
        try {
            process.kill(-pid, signal);
        } catch {
            // Already gone.
        }
    }
}
