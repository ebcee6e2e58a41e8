/**
 * Dynamic providers of the two cluster-wide stages that make a CA change hitless (FACTS.md 8):
 *
 *   CaTrust (before every NodeIpsec): when the CA changed, every node gets the new CA as an
 *     extra file in cacerts/ (`ipsec rereadcacerts`; no SA is touched). A node that joins gets
 *     every CA an existing node trusts, so it can authenticate nodes not re-issued yet.
 *   NodeIpsec (already): each node's certificate under the new CA, at new paths; the other CA
 *     files stay.
 *   CaRetire (after every NodeIpsec): once every node runs a certificate of the current CA
 *     (the engine runs it only if every NodeIpsec succeeded), the other CA files go.
 *
 * A failure at any point leaves every node trusting both CAs, so every pair still authenticates
 * (old certificate or new); the next `up` continues where it stopped: CaRetire still holds the
 * old CA in its state, so it runs again. Nothing here runs on a first enable (the apply installs
 * the CA) or on an `up` that changes no CA.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { NodeSpec } from "../args";
import { limited } from "../host/hostState";
import { markNodeChanged } from "../observe/observeNode";
import { CA_FILE_NAME, caFilePath } from "../node/nodeFiles";
import { isCertificatePem, listTrustedScript, retireScript, trustScript } from "../node/trustScripts";
import { ExecPolicy, ResolvedAccess, scriptLimits } from "../transport/access";
import { nodeEndpoint } from "../transport/endpoints";
import { runRemote } from "../transport/exec";
import { errorMessage } from "../transport/remoteError";
import { newBoundary, parseSections } from "../transport/scriptKit";

export interface CaStageInputs {
    access: ResolvedAccess;
    exec: ExecPolicy;
    parallelism: number;
    nodes: NodeSpec[];
    /** The CA that signs every node certificate of this program. */
    caCertPem: string;
}

/** CaTrust's outputs: its inputs, and the CAs a node may still need (what the CA Secret publishes). */
export interface CaTrustOutputs extends CaStageInputs {
    /**
     * The current CA first, then every other CA a node may still present a certificate of or
     * trust: during a rotation the old one too. Kept until an `up` finds no node trusting it any
     * more (the up that finishes a rotation cannot know beforehand that every node will succeed;
     * a CA too many here is harmless, one too few would make a reader refuse a node).
     */
    trustedCas: string[];
}

/** PEMs without repeats (by the file each would be), in order. */
function uniqueCas(pems: readonly string[]): string[] {
    const seen = new Set<string>();
    return pems.filter((pem) => {
        const file = caFilePath(pem);
        if (seen.has(file)) return false;
        seen.add(file);
        return true;
    });
}

/** Runs `task` on every node (bounded); throws one error naming every node that failed. */
async function onEveryNode(nodes: readonly NodeSpec[], stage: string, meaning: string, task: (node: NodeSpec) => Promise<void>): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
        nodes.map((n) =>
            task(n).catch((e: unknown) => {
                failures.push(errorMessage(e));
            }),
        ),
    );
    if (failures.length > 0) throw new Error(`${stage} failed on ${failures.length} of ${nodes.length} node(s): ${meaning}; run \`pulumi up\` again once they are reachable:\n  ${failures.sort().join("\n  ")}`);
}

/** One script on one node (bounded by the host-wide node limit); its framed output. */
async function runOn(inputs: CaStageInputs, node: string, step: string, script: (boundary: string) => string, changes = true): Promise<{ boundary: string; stdout: string }> {
    const { access, exec, parallelism } = inputs;
    const boundary = newBoundary();
    const out = await limited(parallelism, async () => runRemote(access, await nodeEndpoint(access, node, exec), { step, script: script(boundary) }, exec));
    // The node's observation from earlier in this deployment is stale now.
    if (changes) markNodeChanged(access, node);
    return { boundary, stdout: out.stdout };
}

/** The CA certificates an existing node trusts (ours only), or null when none can be read. */
async function trustedOn(inputs: CaStageInputs, candidates: readonly NodeSpec[]): Promise<string[] | null> {
    for (const n of candidates) {
        try {
            const { boundary, stdout } = await runOn(inputs, n.name, "list-trusted-cas", (b) => listTrustedScript(b, scriptLimits(inputs.exec)), false);
            const pems: string[] = [];
            for (const [name, text] of parseSections(stdout, boundary)) {
                const file = name.startsWith("ca ") ? name.slice(3) : "";
                const pem = `${text.trimEnd()}\n`;
                // Remote text: only a well-formed certificate whose name matches its content is copied.
                if (CA_FILE_NAME.test(file) && isCertificatePem(pem) && caFilePath(pem).endsWith(`/${file}`)) pems.push(pem);
            }
            return pems;
        } catch {
            // Try the next node: any one of them tells.
        }
    }
    return null;
}

async function trust(inputs: CaStageInputs, olds: CaTrustOutputs | null): Promise<string[]> {
    const limits = scriptLimits(inputs.exec);
    if (olds === null) return [inputs.caCertPem]; // first enable: the apply installs the CA
    // State written before trustedCas existed: the CA of that time alone.
    const prior = olds.trustedCas ?? [olds.caCertPem];
    const known = new Set(olds.nodes.map((n) => n.name));
    const existing = inputs.nodes.filter((n) => known.has(n.name));
    const joining = inputs.nodes.filter((n) => !known.has(n.name));
    const caChanged = olds.caCertPem !== inputs.caCertPem;
    if (caChanged) {
        // Phase 1 of a rotation: every node trusts the new CA before any node uses it.
        await onEveryNode(existing, "trusting the new CA", "no node changed its certificate, so every node still authenticates every other", async (n) => {
            await runOn(inputs, n.name, "trust-ca", (b) => trustScript(b, limits, [inputs.caCertPem]));
        });
    }
    // What the nodes trust, read when it can change the answer: for a joining node, or to learn
    // that a rotation has finished (its old CA gone from the nodes).
    const trusted = joining.length > 0 || (!caChanged && prior.length > 1) ? await trustedOn(inputs, existing) : null;
    const inUse = uniqueCas([inputs.caCertPem, ...prior]);
    const bundle = !caChanged && trusted !== null ? inUse.filter((pem, i) => i === 0 || trusted.some((t) => caFilePath(t) === caFilePath(pem))) : inUse;
    if (joining.length === 0) return bundle;
    // A node that joins during a rotation (this up's, or one an earlier up stopped in) trusts
    // what the others trust, and the CA they were signed by: their certificates stay in use until
    // each is re-issued. Without a rotation that is the current CA alone, which the apply installs.
    const extra = uniqueCas([...(caChanged ? [olds.caCertPem] : []), ...(trusted ?? [])]).filter((pem) => caFilePath(pem) !== caFilePath(inputs.caCertPem));
    if (extra.length > 0) {
        await onEveryNode(joining, "trusting the CAs of a rotation under way", "the joining node(s) were not configured", async (n) => {
            await runOn(inputs, n.name, "trust-ca", (b) => trustScript(b, limits, [inputs.caCertPem, ...extra]));
        });
    }
    return bundle;
}

async function retire(inputs: CaStageInputs): Promise<void> {
    const limits = scriptLimits(inputs.exec);
    await onEveryNode(inputs.nodes, "retiring the old CA", "every node runs a certificate of the new CA; the old CA is still trusted where it was not removed", async (n) => {
        await runOn(inputs, n.name, "retire-ca", (b) => retireScript(b, limits, caFilePath(inputs.caCertPem)));
    });
}

/** Both stages keep their inputs current; whether one does any I/O is its update's decision. */
async function stageDiff(_id: string, olds: CaStageInputs, news: CaStageInputs) {
    return { changes: JSON.stringify([olds.caCertPem, olds.nodes, olds.access, olds.exec, olds.parallelism]) !== JSON.stringify([news.caCertPem, news.nodes, news.access, news.exec, news.parallelism]) };
}

/** Stage 1. */
export const caTrustProvider: pulumi.dynamic.ResourceProvider = {
    // Also while it lists a CA besides the current one: whether the rotation has finished is
    // learnt from the nodes.
    async diff(id: string, olds: CaTrustOutputs, news: CaStageInputs) {
        const { changes } = await stageDiff(id, olds, news);
        return { changes: changes || (olds.trustedCas ?? []).length > 1 };
    },
    async create(inputs: CaStageInputs) {
        const outs: CaTrustOutputs = { ...inputs, trustedCas: await trust(inputs, null) };
        return { id: "ca-trust", outs };
    },
    async update(_id: string, olds: CaTrustOutputs, news: CaStageInputs) {
        const outs: CaTrustOutputs = { ...news, trustedCas: await trust(news, olds) };
        return { outs };
    },
    // The node's own delete removes every file of ours, CA files included.
    async delete() {},
};

/** Stage 3. */
export const caRetireProvider: pulumi.dynamic.ResourceProvider = {
    diff: stageDiff,
    async create(inputs: CaStageInputs) {
        return { id: "ca-retire", outs: inputs };
    },
    async update(_id: string, olds: CaStageInputs, news: CaStageInputs) {
        // Only a CA change is work here. A node that joins while a rotation is unfinished (the
        // only time CaTrust gives it more than one CA) is covered too: an unfinished rotation
        // means this stage has not run for the current CA yet, so it runs now, on every node.
        if (olds.caCertPem !== news.caCertPem) await retire(news);
        return { outs: news };
    },
    async delete() {},
};
