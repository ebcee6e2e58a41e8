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
 * - natTraversal is `nb_global options:ipsec_forceencaps` (OVN passes it to every tunnel as the
 *   Interface option `ipsec_forceencaps`, which the monitor writes as strongSwan's `forceencaps`),
 *   set in the same transaction, with its own record of the value found first. Not
 *   `ipsec_encapsulation`: OVN turns that one into libreswan's `encapsulation=yes`, a keyword
 *   strongSwan's starter does not know (seen on the lab: no effect on IKE).
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
/** nb_global external_ids key of options:ipsec_forceencaps as found before us (its value, or `unset`). */
export const ENCAPS_RECORD = "kube-ovn-ipsec-before-forceencaps";
/** The nb_global option that forces UDP encapsulation (strongSwan's forceencaps) on every tunnel. */
export const ENCAPS_OPTION = "ipsec_forceencaps";

export interface IpsecSwitchArgsPlain {
    enabled: boolean;
    /** options:ipsec_forceencaps=true (unset in states written before it existed: false). */
    natTraversal?: boolean;
    access: ResolvedAccess;
    exec: ExecPolicy;
}

export interface IpsecSwitchInputs extends IpsecSwitchArgsPlain {
    /** nb_global ipsec as check read it (null: could not be read); set by check, once created. */
    observed?: boolean | null;
    /** options:ipsec_forceencaps is true, as check read it (null: could not be read). */
    observedNatTraversal?: boolean | null;
    /** What destroy will set nb_global ipsec to (the value found before us); set by check, once created. */
    restoreOnDestroy?: boolean;
}

export interface IpsecSwitchOutputs extends IpsecSwitchArgsPlain {
    /** The value before this run changed it. */
    before: boolean;
    /** options:ipsec_forceencaps is true (live, after apply or as refreshed). */
    natTraversalLive?: boolean;
    restoreOnDestroy: boolean;
}

interface NbFacts {
    ipsec: boolean;
    /** The recorded value from before us, if there is a record. */
    recorded: boolean | null;
    /** options:ipsec_forceencaps is true. */
    forceEncaps: boolean;
}

const unquote = (v: string | undefined) => v?.replace(/"/g, "");

/** What a script printed; `before` and `encapsBefore` only the set script prints. */
function nbFacts(stdout: string, boundary: string): NbFacts & { before: boolean; encapsBefore: boolean } {
    const f = parseFacts(parseSections(stdout, boundary).get("facts"));
    const rec = unquote(f.recorded);
    return {
        ipsec: f.after === "true" || f.ipsec === "true",
        before: f.before === "true",
        recorded: rec === "on" ? true : rec === "off" ? false : null,
        forceEncaps: unquote(f.encaps) === "true",
        encapsBefore: unquote(f.encapsBefore) === "true",
    };
}

/** Shell lines that read nb_global into $v (ipsec), $r (our record), $fe (forceencaps, unquoted) and $fer (its record). */
const READ_VALUES = `
v=$(ovn-nbctl --timeout="$(cap "$T")" get nb_global . ipsec 2>&1) || fail_cmd read-nb-global "$v" "ovn-nbctl could not read nb_global ipsec (is the NB database up?)"
r=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . external_ids:${SWITCH_RECORD} 2>&1) || fail_cmd read-nb-global "$r" "ovn-nbctl could not read nb_global external_ids"
fe=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . options:${ENCAPS_OPTION} 2>&1) || fail_cmd read-nb-global "$fe" "ovn-nbctl could not read nb_global options"
fe=$(printf '%s' "$fe" | tr -d '"')
fer=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . external_ids:${ENCAPS_RECORD} 2>&1) || fail_cmd read-nb-global "$fer" "ovn-nbctl could not read nb_global external_ids"
fer=$(printf '%s' "$fer" | tr -d '"')
`;

const READ_LINES = `${READ_VALUES}
section facts
printf 'ipsec=%s\\nrecorded=%s\\nencaps=%s\\n' "$v" "$r" "$fe"
`;

async function readSwitch(access: ResolvedAccess, exec: ExecPolicy): Promise<NbFacts> {
    const boundary = newBoundary();
    const script = `${prelude(boundary, scriptLimits(exec), { name: "read-nb-global", readOnly: true })}
need ovn-nbctl timeout${READ_LINES}`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "read-nb-global", script }, exec);
    return nbFacts(out.stdout, boundary);
}

/**
 * Sets nb_global ipsec and options:ipsec_forceencaps (only what differs, in one transaction)
 * and reads them back. `record`: also record the values found, unless records exist;
 * `dropRecord` (destroy): forceencaps back to its recorded value, and both records removed.
 */
async function setSwitch(
    access: ResolvedAccess,
    exec: ExecPolicy,
    enabled: boolean,
    natTraversal: boolean | "restore",
    mode: "record" | "dropRecord",
): Promise<{ before: boolean; after: boolean; recorded: boolean | null; forceEncaps: boolean }> {
    const want = enabled ? "true" : "false";
    const boundary = newBoundary();
    const records =
        mode === "record"
            ? `[ -n "$r" ] || { if [ "$v" = true ]; then set -- "$@" -- set nb_global . external_ids:${SWITCH_RECORD}=on; else set -- "$@" -- set nb_global . external_ids:${SWITCH_RECORD}=off; fi; }
[ -n "$fer" ] || set -- "$@" -- set nb_global . external_ids:${ENCAPS_RECORD}="\"\${fe:-unset}\""`
            : `[ -z "$r" ] || set -- "$@" -- remove nb_global . external_ids ${SWITCH_RECORD}
[ -z "$fer" ] || set -- "$@" -- remove nb_global . external_ids ${ENCAPS_RECORD}`;
    // What forceencaps must be: true, absent, or (destroy) the recorded value; no record: untouched.
    const encaps =
        natTraversal === "restore"
            ? `case "$fer" in
'') want_fe="$fe" ;;
unset) want_fe='' ;;
*) want_fe="$fer" ;;
esac`
            : `want_fe=${natTraversal ? "true" : "''"}`;
    const script = `${prelude(boundary, scriptLimits(exec), { name: "set-nb-global", readOnly: false })}
need ovn-nbctl timeout
${READ_VALUES}
${encaps}
set --
${records}
if [ "$want_fe" != "$fe" ]; then
    if [ -z "$want_fe" ]; then set -- "$@" -- remove nb_global . options ${ENCAPS_OPTION}; else set -- "$@" -- set nb_global . options:${ENCAPS_OPTION}="\"$want_fe\""; fi
fi
if [ "$v" != ${want} ] || [ $# -gt 0 ]; then
    out=$(ovn-nbctl --timeout="$(cap "$T")" set nb_global . ipsec=${want} "$@" 2>&1) || fail_cmd set-nb-global "$out" "ovn-nbctl set nb_global ipsec=${want}"
fi
after=$(ovn-nbctl --timeout="$(cap "$T")" get nb_global . ipsec 2>&1) || fail_cmd read-nb-global "$after" "ovn-nbctl could not read nb_global ipsec back"
[ "$after" = ${want} ] || fail $TRANSIENT set-nb-global "nb_global ipsec is $after right after setting it to ${want}: another controller is changing it (Kube-OVN v1.13+ with built-in IPsec?)"
fe_after=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . options:${ENCAPS_OPTION} 2>/dev/null | tr -d '"')
[ "$fe_after" = "$want_fe" ] || fail $TRANSIENT set-nb-global "nb_global options:${ENCAPS_OPTION} is '$fe_after' right after setting it to '$want_fe': another controller is changing it"
rec=$(ovn-nbctl --timeout="$(cap "$T")" --if-exists get nb_global . external_ids:${SWITCH_RECORD} 2>/dev/null)
section facts
printf 'before=%s\\nafter=%s\\nrecorded=%s\\nencaps=%s\\nencapsBefore=%s\\n' "$v" "$after" "$rec" "$fe_after" "$fe"
`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "set-nb-global", script }, exec);
    const facts = nbFacts(out.stdout, boundary);
    // The nodes' tunnels change with either value: observations made before are stale.
    if (facts.before !== facts.ipsec || facts.encapsBefore !== facts.forceEncaps) markSwitchChanged(access);
    return { before: facts.before, after: facts.ipsec, recorded: facts.recorded, forceEncaps: facts.forceEncaps };
}

async function turnOn(access: ResolvedAccess, exec: ExecPolicy, enabled: boolean, natTraversal: boolean) {
    // The guard runs again here: the switch is the one change a v1.13+ controller would undo.
    // Turning IPsec off is always allowed, so a later upgrade never blocks a destroy.
    if (enabled && access.kind === "kubectl") await kubeOvnVersionGate(access, exec);
    return setSwitch(access, exec, enabled, natTraversal, "record");
}

export const ipsecSwitchProvider: pulumi.dynamic.ResourceProvider = {
    /** Reads the live value, and what destroy will restore, into the inputs (shown by preview). */
    async check(olds: Partial<IpsecSwitchInputs>, news: IpsecSwitchArgsPlain) {
        // A switch not created yet reads nothing: its create reads and records the value, after
        // the preflight has checked the cluster (nothing at all runs on a cluster it refuses).
        if (olds.enabled === undefined) return { inputs: news, failures: [] };
        let observed: boolean | null = null;
        let observedNatTraversal: boolean | null = null;
        let restoreOnDestroy = olds.restoreOnDestroy ?? false;
        if (!containsUnknown([news.access, news.exec])) {
            try {
                const live = await readSwitch(news.access, news.exec);
                observed = live.ipsec;
                observedNatTraversal = live.forceEncaps;
                restoreOnDestroy = live.recorded ?? live.ipsec;
            } catch {
                // Left unknown (null): the diff then reports a change, and the update reports
                // the failure with its own message.
            }
        }
        const inputs: IpsecSwitchInputs = { ...news, observed, observedNatTraversal, restoreOnDestroy };
        return { inputs, failures: [] };
    },
    async diff(_id: string, olds: IpsecSwitchOutputs, news: IpsecSwitchInputs) {
        const want = news.natTraversal ?? false;
        const drifted = (news.observed !== undefined && news.observed !== null && news.observed !== news.enabled) || (news.observedNatTraversal !== undefined && news.observedNatTraversal !== null && news.observedNatTraversal !== want);
        return { changes: olds.enabled !== news.enabled || (olds.natTraversal ?? false) !== want || drifted || news.observed === null || JSON.stringify([olds.access, olds.exec]) !== JSON.stringify([news.access, news.exec]) };
    },
    async create(inputs: IpsecSwitchInputs) {
        const r = await turnOn(inputs.access, inputs.exec, inputs.enabled, inputs.natTraversal ?? false);
        return { id: "nb_global", outs: { enabled: r.after, natTraversal: inputs.natTraversal ?? false, natTraversalLive: r.forceEncaps, access: inputs.access, exec: inputs.exec, before: r.before, restoreOnDestroy: r.recorded ?? r.before } };
    },
    async update(_id: string, olds: IpsecSwitchOutputs, news: IpsecSwitchInputs) {
        const r = await turnOn(news.access, news.exec, news.enabled, news.natTraversal ?? false);
        return { outs: { enabled: r.after, natTraversal: news.natTraversal ?? false, natTraversalLive: r.forceEncaps, access: news.access, exec: news.exec, before: r.before, restoreOnDestroy: r.recorded ?? olds.restoreOnDestroy } };
    },
    /** Refresh: the live value. */
    async read(id: string, props: IpsecSwitchOutputs) {
        const live = await readSwitch(props.access, props.exec);
        return { id, props: { ...props, enabled: live.ipsec, natTraversalLive: live.forceEncaps, restoreOnDestroy: live.recorded ?? props.restoreOnDestroy } };
    },
    /** Restores what was there before us (ipsec false when there is no record; forceencaps untouched), and drops the records. */
    async delete(_id: string, props: IpsecSwitchOutputs) {
        const live = await readSwitch(props.access, props.exec);
        await setSwitch(props.access, props.exec, live.recorded ?? false, "restore", "dropRecord");
    },
};
