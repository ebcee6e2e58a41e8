/**
 * Dynamic provider of the cluster-wide switch: `nb_global ipsec` in the OVN NB database, set on
 * the NB leader after every node has its certificates. Delete turns IPsec off first (it is
 * deleted before the nodes, being their dependent), so no node is left without certificates
 * while OVN still asks for IPsec.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ExecPolicy, ResolvedAccess, ovsdbTimeoutFor } from "../transport/access";
import { centralEndpoint } from "../transport/endpoints";
import { runRemote } from "../transport/exec";
import { newBoundary, parseFacts, parseSections, prelude } from "../transport/scriptKit";
import { kubeOvnVersionGate } from "./clusterChecks";

export interface IpsecSwitchInputs {
    enabled: boolean;
    access: ResolvedAccess;
    exec: ExecPolicy;
}

export interface IpsecSwitchOutputs extends IpsecSwitchInputs {
    /** The value before this run changed it. */
    before: boolean;
}

/** Sets nb_global ipsec (only if it differs) and reads it back. */
async function setIpsec(access: ResolvedAccess, exec: ExecPolicy, enabled: boolean): Promise<{ before: boolean; after: boolean }> {
    // The guard runs again here: the switch is the one change a v1.13+ controller would undo.
    // Turning IPsec off (delete) is always allowed, so a later upgrade never blocks a destroy.
    if (enabled && access.kind === "kubectl") await kubeOvnVersionGate(access, exec);
    const want = enabled ? "true" : "false";
    const boundary = newBoundary();
    const script = `${prelude(boundary, ovsdbTimeoutFor(exec))}
command -v ovn-nbctl >/dev/null 2>&1 || fail $PERMANENT preflight "ovn-nbctl not found: the target is not an ovn-central pod"
before=$(ovn-nbctl --timeout="$T" get nb_global . ipsec 2>&1) || fail $TRANSIENT read-nb-global "ovn-nbctl cannot read nb_global (is the NB database up?): $(printf '%s' "$before" | oneline)"
if [ "$before" != ${want} ]; then
    out=$(ovn-nbctl --timeout="$T" set nb_global . ipsec=${want} 2>&1) || fail $TRANSIENT set-nb-global "ovn-nbctl set nb_global failed: $(printf '%s' "$out" | oneline)"
fi
after=$(ovn-nbctl --timeout="$T" get nb_global . ipsec 2>&1) || fail $TRANSIENT read-nb-global "ovn-nbctl: $(printf '%s' "$after" | oneline)"
[ "$after" = ${want} ] || fail $TRANSIENT set-nb-global "nb_global ipsec is $after after setting it to ${want}: another controller may be changing it"
section facts
printf 'before=%s\\nafter=%s\\n' "$before" "$after"
`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "set-nb-global", script }, exec);
    const facts = parseFacts(parseSections(out.stdout, boundary).get("facts"));
    return { before: facts.before === "true", after: facts.after === "true" };
}

async function readIpsec(access: ResolvedAccess, exec: ExecPolicy): Promise<boolean> {
    const boundary = newBoundary();
    const script = `${prelude(boundary, ovsdbTimeoutFor(exec))}
v=$(ovn-nbctl --timeout="$T" get nb_global . ipsec 2>&1) || fail $TRANSIENT read-nb-global "ovn-nbctl cannot read nb_global: $(printf '%s' "$v" | oneline)"
section facts
printf 'ipsec=%s\\n' "$v"
`;
    const out = await runRemote(access, await centralEndpoint(access, exec), { step: "read-nb-global", script }, exec);
    return parseFacts(parseSections(out.stdout, boundary).get("facts")).ipsec === "true";
}

export const ipsecSwitchProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: IpsecSwitchOutputs, news: IpsecSwitchInputs) {
        return { changes: olds.enabled !== news.enabled || JSON.stringify([olds.access, olds.exec]) !== JSON.stringify([news.access, news.exec]) };
    },
    async create(inputs: IpsecSwitchInputs) {
        const { before, after } = await setIpsec(inputs.access, inputs.exec, inputs.enabled);
        return { id: "nb_global", outs: { ...inputs, enabled: after, before } };
    },
    async update(_id: string, _olds: IpsecSwitchOutputs, news: IpsecSwitchInputs) {
        const { before, after } = await setIpsec(news.access, news.exec, news.enabled);
        return { outs: { ...news, enabled: after, before } };
    },
    /** Refresh: the live value (someone may have run `ipsec.sh stop`). */
    async read(id: string, props: IpsecSwitchOutputs) {
        return { id, props: { ...props, enabled: await readIpsec(props.access, props.exec) } };
    },
    async delete(_id: string, props: IpsecSwitchOutputs) {
        await setIpsec(props.access, props.exec, false);
    },
};
