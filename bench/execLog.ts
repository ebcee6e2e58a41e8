/**
 * Exec round-trip counting: the lab's exec prefix wrapped by countExecs.sh, which appends one
 * line per exec (`<start epoch ms> <target> <duration ms> <exit status> <kind>`) to a log
 * file. The product gets the wrapped prefix as its command-access prefix and the manual
 * replay uses the same one, so both are counted by the same mechanism, at the pod boundary,
 * whoever makes the exec.
 */
import * as fs from "fs";
import * as path from "path";
import { Stat, stat } from "./stats";

const WRAPPER = path.join(__dirname, "countExecs.sh");

export interface ExecRecord {
    /** When the exec started (epoch ms). */
    atMs: number;
    target: string;
    durationMs: number;
    exitCode: number;
    kind: string;
}

function parse(text: string): ExecRecord[] {
    return text
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const [at, target, duration, exitCode, ...kind] = line.split(" ");
            return { atMs: Number(at), target, durationMs: Number(duration), exitCode: Number(exitCode), kind: kind.join(" ") };
        })
        // Lines are written when an exec ends: put them back in start order.
        .sort((a, b) => a.atMs - b.atMs);
}

export class ExecLog {
    constructor(readonly file: string) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, "");
    }

    /** The lab prefix (with `{target}`) behind the counting wrapper. */
    wrap(labPrefix: readonly string[]): string[] {
        return [WRAPPER, this.file, "{target}", ...labPrefix];
    }

    records(): ExecRecord[] {
        return parse(fs.readFileSync(this.file, "utf8"));
    }

    /**
     * A position in the log (its size): `since(mark)` is what was logged after it. An exec is
     * logged when it ends, so take marks between operations, when none is in flight.
     */
    mark(): number {
        return fs.statSync(this.file).size;
    }

    since(mark: number): ExecRecord[] {
        return parse(fs.readFileSync(this.file).subarray(mark).toString("utf8"));
    }
}

export interface ExecCounts {
    total: number;
    /** Execs into the ovn-central pod. */
    central: number;
    /** Execs into node pods, per target. */
    perNode: Record<string, number>;
    /** Execs into node pods / number of nodes. */
    perNodeMean: number;
    perNodeMax: number;
    /** Time spent in each node pod's execs, summed (ms); an exec that waits on the pod counts. */
    inPodMsPerNode: Record<string, number>;
    byKind: Record<string, number>;
    /** How long the execs of each kind took (ms). */
    durationByKind: Record<string, Stat>;
    /** Execs that exited non-zero (retried or failed steps). */
    failed: number;
}

export function countExecs(records: readonly ExecRecord[], centralTarget: string, nodeTargets: readonly string[]): ExecCounts {
    const perNode: Record<string, number> = Object.fromEntries(nodeTargets.map((t) => [t, 0]));
    const inPodMsPerNode: Record<string, number> = Object.fromEntries(nodeTargets.map((t) => [t, 0]));
    const byKind: Record<string, number> = {};
    const durations: Record<string, number[]> = {};
    let central = 0;
    for (const r of records) {
        if (r.target === centralTarget) central++;
        else {
            perNode[r.target] = (perNode[r.target] ?? 0) + 1;
            inPodMsPerNode[r.target] = (inPodMsPerNode[r.target] ?? 0) + r.durationMs;
        }
        byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
        (durations[r.kind] ??= []).push(r.durationMs);
    }
    const nodeValues = Object.values(perNode);
    const nodeTotal = nodeValues.reduce((a, b) => a + b, 0);
    return {
        total: records.length,
        central,
        perNode,
        perNodeMean: nodeTargets.length === 0 ? 0 : nodeTotal / nodeTargets.length,
        perNodeMax: nodeValues.length === 0 ? 0 : Math.max(...nodeValues),
        inPodMsPerNode,
        byKind,
        durationByKind: Object.fromEntries(Object.entries(durations).map(([k, v]) => [k, stat(v)])),
        failed: records.filter((r) => r.exitCode !== 0).length,
    };
}
