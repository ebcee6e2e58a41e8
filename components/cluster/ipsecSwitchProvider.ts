/**
 * Dynamic provider of the cluster-wide switch: `nb_global ipsec` in the OVN NB database, set on
 * the NB leader after every node has its certificates.
 *
 * - check reads the live value (someone may have run `ipsec.sh stop`): a switch that drifted is
 *   set again by this `up`, and the preview shows what destroy will restore.
 * - The value found before our first change is recorded IN the NB database
 *   (nb_global external_ids), in the same transaction as that change: retries and interrupted
 *   runs cannot lose it, and destroy restores it (an operator who ran ipsec.sh before us keeps
 *   IPsec on) instead of always setting false.
 * - Delete runs before the nodes' (they are its dependencies): OVN stops asking for IPsec before
 *   any node loses its certificates.
 */
import type * as pulumi from "@pulumi/pulumi";
import { markSwitchChanged } from "../observe/observeNode";
import { ExecPolicy, ResolvedAccess, scriptLimits } from "../transport/access";
import { centralEndpoint } from "../transport/endpoints";
import { runRemote } from "../transport/exec";
import { newBoundary, parseFacts, parseSections, prelude } from "../transport/scriptKit";
import { containsUnknown } from "../util/unknown";
import { kubeOvnVersionGate } from "./clusterChecks";

/** nb_global external_ids key of the value found before our first change (`on` / `off`). */
export const SWITCH_RECORD = "kube-ovn-ipsec-before-ipsec";

export interface IpsecSwitchArgsPlain {
    enabled: boolean;
    access: ResolvedAccess;
    exec: ExecPolicy;
}

export interface IpsecSwitchInputs extends IpsecSwitchArgsPlain {
    /** nb_global ipsec as check read it (null: could not be read); set by check, once created. */
    observed?: boolean | null;
    /** What destroy will set nb_global ipsec to (the value found before us); set by check, once created. */
    restoreOnDestroy?: boolean;
}

export interface IpsecSwitchOutputs extends IpsecSwitchArgsPlain {
    /** The value before this run changed it. */
    before: boolean;
    restoreOnDestroy: boolean;
}

interface NbFacts {
    ipsec: boolean;
    /** The recorded value from before us, if there is a record. */
    recorded: boolean | null;
}

function nbFacts(stdout: string, boundary: string): NbFacts & { before: boolean } {
    const f = parseFacts(parseSections(stdout, boundary).get("facts"));
    const rec = f.recorded?.replace(/"/g, "");
    return { ipsec: f.after === "true" || f.ipsec === "true", before: f.before === "true", recorded: rec === "on" ? true : rec === "off" ? false : null };
}

const READ_LINES = `
v=$(ovn-nbctl --timeout="$(cap "$T")" get nb_global . ipsec 2>&1) || fail_cmd read-nb-global "$v" "ovn-nbctl could not read nb_global ipsec (is the NB database up?)"
r=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . external_ids:${SWITCH_RECORD} 2>&1) || fail_cmd read-nb-global "$r" "ovn-nbctl could not read nb_global external_ids"
section facts
printf 'ipsec=%s\\nrecorded=%s\\n' "$v" "$r"
`;

async function readSwitch(access: ResolvedAccess, exec: ExecPolicy): Promise<NbFacts> {
    const boundary = newBoundary();
    const script = `${prelude(boundary, scriptLimits(exec), { name: "read-nb-global", readOnly: true })}
need ovn-nbctl timeout${READ_LINES}`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "read-nb-global", script }, exec);
    return nbFacts(out.stdout, boundary);
}

/**
 * Sets nb_global ipsec (only if it differs) and reads it back. `record`: also record the value
 * found, in the same transaction, unless a record exists; `dropRecord`: remove the record.
 */
async function setSwitch(access: ResolvedAccess, exec: ExecPolicy, enabled: boolean, mode: "record" | "dropRecord"): Promise<{ before: boolean; after: boolean; recorded: boolean | null }> {
    const want = enabled ? "true" : "false";
    const boundary = newBoundary();
    const extra =
        mode === "record"
            ? `[ -n "$rec" ] || { if [ "$before" = true ]; then set -- -- set nb_global . external_ids:${SWITCH_RECORD}=on; else set -- -- set nb_global . external_ids:${SWITCH_RECORD}=off; fi; }`
            : `[ -z "$rec" ] || set -- -- remove nb_global . external_ids ${SWITCH_RECORD}`;
    const script = `${prelude(boundary, scriptLimits(exec), { name: "set-nb-global", readOnly: false })}
need ovn-nbctl timeout
before=$(ovn-nbctl --timeout="$(cap "$T")" get nb_global . ipsec 2>&1) || fail_cmd read-nb-global "$before" "ovn-nbctl could not read nb_global ipsec (is the NB database up?)"
rec=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . external_ids:${SWITCH_RECORD} 2>&1) || fail_cmd read-nb-global "$rec" "ovn-nbctl could not read nb_global external_ids"
set --
${extra}
if [ "$before" != ${want} ] || [ $# -gt 0 ]; then
    out=$(ovn-nbctl --timeout="$(cap "$T")" set nb_global . ipsec=${want} "$@" 2>&1) || fail_cmd set-nb-global "$out" "ovn-nbctl set nb_global ipsec=${want}"
fi
after=$(ovn-nbctl --timeout="$(cap "$T")" get nb_global . ipsec 2>&1) || fail_cmd read-nb-global "$after" "ovn-nbctl could not read nb_global ipsec back"
[ "$after" = ${want} ] || fail $TRANSIENT set-nb-global "nb_global ipsec is $after right after setting it to ${want}: another controller is changing it (Kube-OVN v1.13+ with built-in IPsec?)"
r=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . external_ids:${SWITCH_RECORD} 2>/dev/null)
section facts
printf 'before=%s\\nafter=%s\\nrecorded=%s\\n' "$before" "$after" "$r"
`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "set-nb-global", script }, exec);
    const facts = nbFacts(out.stdout, boundary);
    if (facts.before !== facts.ipsec) markSwitchChanged(access);
    return { before: facts.before, after: facts.ipsec, recorded: facts.recorded };
}

async function turnOn(access: ResolvedAccess, exec: ExecPolicy, enabled: boolean) {
    // The guard runs again here: the switch is the one change a v1.13+ controller would undo.
    // Turning IPsec off is always allowed, so a later upgrade never blocks a destroy.
    if (enabled && access.kind === "kubectl") await kubeOvnVersionGate(access, exec);
    return setSwitch(access, exec, enabled, "record");
}

export const ipsecSwitchProvider: pulumi.dynamic.ResourceProvider = {
    /** Reads the live value, and what destroy will restore, into the inputs (shown by preview). */
    async check(olds: Partial<IpsecSwitchInputs>, news: IpsecSwitchArgsPlain) {
        // A switch not created yet reads nothing: its create reads and records the value, after
        // the preflight has checked the cluster (nothing at all runs on a cluster it refuses).
        if (olds.enabled === undefined) return { inputs: news, failures: [] };
        let observed: boolean | null = null;
        let restoreOnDestroy = olds.restoreOnDestroy ?? false;
        if (!containsUnknown([news.access, news.exec])) {
            try {
                const live = await readSwitch(news.access, news.exec);
                observed = live.ipsec;
                restoreOnDestroy = live.recorded ?? live.ipsec;
            } catch {
                // Left unknown (null): the diff then reports a change, and the update reports
                // the failure with its own message.
            }
        }
        const inputs: IpsecSwitchInputs = { ...news, observed, restoreOnDestroy };
        return { inputs, failures: [] };
    },
    async diff(_id: string, olds: IpsecSwitchOutputs, news: IpsecSwitchInputs) {
        const drifted = news.observed !== undefined && news.observed !== null && news.observed !== news.enabled;
        return { changes: olds.enabled !== news.enabled || drifted || news.observed === null || JSON.stringify([olds.access, olds.exec]) !== JSON.stringify([news.access, news.exec]) };
    },
    async create(inputs: IpsecSwitchInputs) {
        const r = await turnOn(inputs.access, inputs.exec, inputs.enabled);
        return { id: "nb_global", outs: { enabled: r.after, access: inputs.access, exec: inputs.exec, before: r.before, restoreOnDestroy: r.recorded ?? r.before } };
    },
    async update(_id: string, olds: IpsecSwitchOutputs, news: IpsecSwitchInputs) {
        const r = await turnOn(news.access, news.exec, news.enabled);
        return { outs: { enabled: r.after, access: news.access, exec: news.exec, before: r.before, restoreOnDestroy: r.recorded ?? olds.restoreOnDestroy } };
    },
    /** Refresh: the live value. */
    async read(id: string, props: IpsecSwitchOutputs) {
        const live = await readSwitch(props.access, props.exec);
        return { id, props: { ...props, enabled: live.ipsec, restoreOnDestroy: live.recorded ?? props.restoreOnDestroy } };
    },
    /** Restores what was there before us (false when there is no record), and drops the record. */
    async delete(_id: string, props: IpsecSwitchOutputs) {
        const live = await readSwitch(props.access, props.exec);
        await setSwitch(props.access, props.exec, live.recorded ?? false, "dropRecord");
    },
};
