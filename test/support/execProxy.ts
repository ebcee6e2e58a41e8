/**
 * The test-side view of execProxy.sh: wrap a lab access with it, inject faults, and read back
 * every command the product ran (argv, target, start/end, exit code).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CommandAccess } from "../../components";

export interface ExecRecord {
    target: string;
    pid: number;
    start: number;
    end: number | null;
    rc: number | null;
    /** The whole argv, joined with spaces (newlines shown as \n). */
    argv: string;
}

export class ExecProxy {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "koi-proxy-"));
    private readonly script = path.join(__dirname, "execProxy.sh");

    /** The same access, with every command going through the proxy first. */
    wrap(access: CommandAccess): CommandAccess {
        return { ...access, prefix: [this.script, this.dir, "{target}", ...access.prefix] };
    }

    fault(target: string, mode: "hang" | "unreachable" | "unreachable-apply" | "cutstdin" | "nodac" | "dropoutput-once" | null): void {
        const file = path.join(this.dir, `fault-${target}`);
        if (mode === null) fs.rmSync(file, { force: true });
        else fs.writeFileSync(file, `${mode}\n`);
    }

    clear(): void {
        fs.rmSync(path.join(this.dir, "log"), { force: true });
        for (const f of fs.readdirSync(this.dir)) if (f.startsWith("fault-")) fs.rmSync(path.join(this.dir, f));
    }

    /** Raw log text: what a secret scan reads. */
    rawLog(): string {
        const file = path.join(this.dir, "log");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    }

    records(): ExecRecord[] {
        const byPid = new Map<number, ExecRecord>();
        const out: ExecRecord[] = [];
        for (const line of this.rawLog().split("\n")) {
            const start = /^start (\d+) (\d+) (\S+) (.*)$/.exec(line);
            if (start) {
                const r: ExecRecord = { start: Number(start[1]), pid: Number(start[2]), target: start[3], argv: start[4], end: null, rc: null };
                byPid.set(r.pid, r);
                out.push(r);
                continue;
            }
            const end = /^end (\d+) (\d+) (\d+)$/.exec(line);
            if (end) {
                const r = byPid.get(Number(end[2]));
                if (r) {
                    r.end = Number(end[1]);
                    r.rc = Number(end[3]);
                }
            }
        }
        return out;
    }

    /** The most commands that were running at the same time, among those matching `filter`. */
    maxConcurrent(filter: (r: ExecRecord) => boolean): number {
        const events = this.records()
            .filter(filter)
            .flatMap((r) => [
                { t: r.start, d: 1 },
                { t: r.end ?? Number.MAX_SAFE_INTEGER, d: -1 },
            ])
            // Ends before starts at the same millisecond: touching intervals do not overlap.
            .sort((a, b) => a.t - b.t || a.d - b.d);
        let now = 0;
        let max = 0;
        for (const e of events) {
            now += e.d;
            max = Math.max(max, now);
        }
        return max;
    }
}
