/**
 * What the harness state of the stack program costs (issue 9 item 4), measured three ways:
 *
 * - without a lab, for N synthetic nodes (measureStateSize): every command fails
 *   (`false {target}`), so the `up` stops at the Preflight and the state holds the tls and
 *   Kubernetes resources; `onCheckpoint` sums what a file backend would write over that `up`
 *   (one full snapshot after each step).
 * - after an enable on the lab (labStateSample): the whole state, per resource type, with and
 *   without the per-tunnel rows of the status.
 * - the whole state at N (wholeStateEstimate): the first plus what two lab sizes show of the
 *   rest. An extrapolation: no lab here has 100 nodes.
 *
 * Used by the bench (bench/stateSize.ts, bench/run.ts) and by test/lifecycle/stateSize.test.ts.
 */
import { FULL_TUNNEL_TABLE_NODES } from "../../components/status/tunnelTable";
import { Harness, HarnessError } from "./engine";
import type { HarnessState } from "./types";

export interface StateSizeSample {
    nodes: number;
    stateBytes: number;
    bytesPerNode: number;
    checkpoints: number;
    bytesWritten: number;
    /** Resource type -> [count, mean bytes]. */
    byType: Record<string, [number, number]>;
    ms: number;
}

/**
 * The CA Secret, counted apart from the node Secrets: it is published after the Preflight (it
 * holds what CaTrust reports), so the no-lab run never has it and it is taken from the lab.
 */
export const CA_SECRET_KEY = "kubernetes:core/v1:Secret (CA)";

/** A resource's type, the CA Secret told apart. */
function typeKey(r: { type: string; urn: string }): string {
    return r.type === "kubernetes:core/v1:Secret" && r.urn.endsWith("-ca-secret") ? CA_SECRET_KEY : r.type;
}

/** Resource type -> [count, mean bytes as JSON]. */
function byTypeOf(state: HarnessState): Record<string, [number, number]> {
    const byType: Record<string, [number, number]> = {};
    for (const r of state.resources) {
        const key = typeKey(r);
        const [count, mean] = byType[key] ?? [0, 0];
        byType[key] = [count + 1, (mean * count + jsonBytes(r)) / (count + 1)];
    }
    return byType;
}

/** A resource type's share of a lab state. */
export interface TypeBytes {
    count: number;
    bytes: number;
    /** The same resources with every `tunnels` list emptied (node reports, the stack's table). */
    bytesWithoutTunnelRows: number;
}

/** The state after an enable on the lab. */
export interface LabStateSample {
    nodes: number;
    stateBytes: number;
    byType: Record<string, [number, number]>;
    types: Record<string, TypeBytes>;
    /** What the harness counted as written over that enable (every checkpoint's bytes). */
    bytesWritten: number;
    checkpoints: number;
    /** The largest dynamic resource's bytes beyond its own data (its `__provider`, twice): issue 9's ≤ 8 KB. */
    providerOverheadMax: number;
}

const jsonBytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));

/** Every `tunnels` array emptied: what the status keeps above FULL_TUNNEL_TABLE_NODES when every tunnel is healthy. */
function withoutTunnelRows(x: unknown): unknown {
    if (Array.isArray(x)) return x.map(withoutTunnelRows);
    if (x === null || typeof x !== "object") return x;
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, k === "tunnels" && Array.isArray(v) ? [] : withoutTunnelRows(v)]));
}

export function labStateSample(state: HarnessState, nodes: number, written: { bytes: number; checkpoints: number }): LabStateSample {
    const strip = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== "__provider"));
    const overheads = state.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => jsonBytes(r) - jsonBytes({ ...r, inputs: strip(r.inputs), outputs: strip(r.outputs) }));
    const types: Record<string, TypeBytes> = {};
    for (const r of state.resources) {
        const t = (types[typeKey(r)] ??= { count: 0, bytes: 0, bytesWithoutTunnelRows: 0 });
        t.count++;
        t.bytes += jsonBytes(r);
        t.bytesWithoutTunnelRows += jsonBytes(withoutTunnelRows(r));
    }
    const byType = Object.fromEntries(Object.entries(types).map(([type, t]): [string, [number, number]] => [type, [t.count, t.bytes / t.count]]));
    return { nodes, stateBytes: jsonBytes(state), byType, types, bytesWritten: written.bytes, checkpoints: written.checkpoints, providerOverheadMax: Math.max(0, ...overheads) };
}

export interface WholeStateEstimate {
    nodes: number;
    /** Measured without a lab: the tls and Kubernetes resources. */
    measuredBytes: number;
    /** The dynamic resources, the component and the stack (their outputs hold the status), from the lab. */
    fromLabBytes: number;
    bytesPerNode: number;
}

/** Resource types whose state the no-lab run cannot show (it stops before them): taken from the lab. */
const fromLab = (type: string) => type.startsWith("pulumi-nodejs:dynamic") || type === "pulumi:pulumi:Stack" || type === "kube-ovn-ipsec:index:KubeOvnIpsec" || type === CA_SECRET_KEY;

/**
 * The whole state at the no-lab run's N: its tls and Kubernetes resources as measured, plus, per
 * type taken from the lab, a straight line through the two lab sizes without the tunnel rows,
 * plus the tunnel rows the status keeps at that N (every tunnel up to FULL_TUNNEL_TABLE_NODES
 * nodes, N*(N-1) rows at the bytes per row the larger lab shows; above it none: every tunnel
 * healthy, so only counts per node).
 */
export function wholeStateEstimate(noLab: StateSizeSample, lab: LabStateSample[]): WholeStateEstimate | null {
    const [a, b] = [...lab].filter((x) => x.types).sort((x, y) => x.nodes - y.nodes);
    if (!a || !b || a.nodes === b.nodes) return null;
    const n = noLab.nodes;
    let measuredBytes = 0;
    for (const [type, [count, mean]] of Object.entries(noLab.byType)) if (!fromLab(type)) measuredBytes += count * mean;
    let fromLabBytes = 0;
    for (const [type, tb] of Object.entries(b.types)) {
        if (!fromLab(type)) continue;
        const ta = a.types[type] ?? { count: 0, bytes: 0, bytesWithoutTunnelRows: 0 };
        const slope = (tb.bytesWithoutTunnelRows - ta.bytesWithoutTunnelRows) / (b.nodes - a.nodes);
        const rowBytes = (tb.bytes - tb.bytesWithoutTunnelRows) / (b.nodes * (b.nodes - 1));
        const rows = n <= FULL_TUNNEL_TABLE_NODES ? n * (n - 1) : 0;
        fromLabBytes += ta.bytesWithoutTunnelRows + slope * (n - a.nodes) + rowBytes * rows;
    }
    measuredBytes = Math.round(measuredBytes);
    fromLabBytes = Math.round(fromLabBytes);
    return { nodes: n, measuredBytes, fromLabBytes, bytesPerNode: Math.round((measuredBytes + fromLabBytes) / n) };
}

export async function measureStateSize(n: number): Promise<StateSizeSample> {
    const nodes = Array.from({ length: n }, (_, i) => ({ name: `node-${i}`, systemId: `sid-${i}` }));
    const targets = Object.fromEntries(nodes.map((x) => [x.name, `pod-${x.name}`]));
    const config = {
        "kube-ovn-ipsec:nodes": nodes,
        "kube-ovn-ipsec:access": { command: { prefix: ["false", "{target}"], targets: { central: "central", nodes: targets }, kubeOvnVersion: "v1.12.35" } },
        "kube-ovn-ipsec:retries": 0,
        "kube-ovn-ipsec:waitFor": "none",
    };
    let bytesWritten = 0;
    let checkpoints = 0;
    const h = new Harness({ stack: "state-size", onCheckpoint: (_state, bytes) => ((bytesWritten += bytes), checkpoints++) });
    const t0 = Date.now();
    await h.up({ config, skipPreview: true }).catch((e: unknown) => {
        if (!(e instanceof HarnessError)) throw e;
    });
    await h.close();
    const stateBytes = Buffer.byteLength(JSON.stringify(h.state));
    return { nodes: n, stateBytes, bytesPerNode: Math.round(stateBytes / n), checkpoints, bytesWritten, byType: byTypeOf(h.state), ms: Date.now() - t0 };
}

