/**
 * The one read-only script that tells what a node is doing about IPsec: its OVSDB keys, our
 * files (checked against the manifest we left), the daemons, the fail-closed guard, kernel
 * policies, `tunnels/show` and `ipsec status`. One exec round trip per node, whoever asks
 * (a node's check before deciding, the status after the switch, a refresh).
 *
 * Optionally it first waits IN the pod until the node looks ready, so that waiting costs one
 * exec, not one per poll. That in-pod check is only an early exit; the verdict is always made
 * by the TypeScript that parses the output. Tools' output is streamed and capped, never held
 * whole in a shell variable.
 */
import { guardFunctions } from "../node/guardRules";
import { IPSEC_DIR, MANIFEST, STARTED_MARKER } from "../node/nodeFiles";
import { BEFORE_RECORD } from "../node/ovsdbRecord";
import { STRONGSWAN_SETTINGS, STRONGSWAN_SETTINGS_CURRENT } from "../node/strongswanSettings";
import { MAX_SECTION_BYTES, ScriptLimits, prelude } from "../transport/scriptKit";
import { shellQuote as q } from "../transport/shellQuote";

export type WaitMode = "none" | "configured" | "established" | "disabled";

export interface ObserveScriptParams {
    boundary: string;
    limits: ScriptLimits;
    mode: WaitMode;
    /** System-ids of the peers this node should have tunnels to (for the in-pod wait). */
    peerSystemIds: readonly string[];
    /** How long to wait in the pod before reporting anyway (0: do not wait). */
    waitSeconds: number;
}

export const NO_TUNNELS = "No tunnels configured with IPsec";

/** Shell lines printing the `facts` section (needs the prelude and guardFunctions). */
export function nodeFactsLines(): string {
    return `
# One call that must answer first: when OVSDB hangs, every further call would wait its timeout.
sid=$(vsctl get Open_vSwitch . external_ids:system-id 2>&1) || fail_cmd read-ovsdb "$sid" "ovs-vsctl could not read the Open_vSwitch table"
section facts
raw() { vsctl --if-exists get Open_vSwitch . "$1" 2>/dev/null; }
printf 'system_id=%s\\n' "$sid"
printf 'encap_ip=%s\\n' "$(raw external_ids:ovn-encap-ip)"
for k in certificate private_key ca_cert; do printf 'oc_%s=%s\\n' "$k" "$(raw "other_config:$k")"; done
printf 'before=%s\\n' "$(raw ${q(`external_ids:${BEFORE_RECORD}`)})"
MF=${q(MANIFEST)}
if [ -f "$MF" ]; then
    echo manifest=1
    while read -r k sum path; do
        case "$k" in certificate|private_key|ca_cert) ;; *) continue ;; esac
        printf 'm_%s=%s\\n' "$k" "$path"
        if [ ! -f "$path" ]; then st=missing
        elif [ "$(sha256sum < "$path" | cut -d' ' -f1)" = "$sum" ]; then st=ok
        else st=changed; fi
        printf 'f_%s=%s\\n' "$k" "$st"
        [ "$k" = private_key ] && [ -f "$path" ] && printf 'key_mode=%s\\n' "$(stat -c %a "$path")"
    done < "$MF"
else
    echo manifest=0
fi
if [ ! -f ${q(STRONGSWAN_SETTINGS)} ]; then echo swconf=missing; elif ${STRONGSWAN_SETTINGS_CURRENT}; then echo swconf=ok; else echo swconf=changed; fi
printf 'trusted_cas=%s\\n' "$(ls -1 ${IPSEC_DIR}/cacerts/ 2>/dev/null | sed -n 's/^kube-ovn-ipsec-ca-\\([0-9a-f]\\{16\\}\\)\\.pem$/\\1/p' | head -n 20 | tr '\\n' ' ')"
printf 'our_files=%s\\n' "$(ls -1 ${IPSEC_DIR}/certs/kube-ovn-ipsec-*.pem ${IPSEC_DIR}/private/kube-ovn-ipsec-*.pem ${IPSEC_DIR}/cacerts/kube-ovn-ipsec-*.pem 2>/dev/null | wc -l)"
printf 'started=%s\\n' "$(tr '\\n' ' ' < ${q(STARTED_MARKER)} 2>/dev/null)"
if monitor_up; then echo monitor=1; else echo monitor=0; fi
if ike_up; then echo ike=1; else echo ike=0; fi
if command -v ip >/dev/null 2>&1; then printf 'xfrm_policies=%s\\n' "$(bounded 5 ip xfrm policy 2>/dev/null | grep -c '^src ')"; fi
guard_facts
`;
}

/** How long an IKE SA must stay CONNECTING to count as unanswered (IKE on a LAN takes milliseconds). */
export const IKE_STUCK_SECONDS = 2;
/** At most this many stuck IKE SAs are listed. */
export const MAX_STUCK_IKE_SAS = 1000;

/**
 * The `ike_stuck` section: the IKE SAs (`name[id]`) that were CONNECTING in the status just read
 * and still are IKE_STUCK_SECONDS later: their peer does not answer. Costs nothing on a node
 * with no CONNECTING SA; otherwise it waits for them to leave CONNECTING, at most that long.
 */
function stuckIkeLines(): string {
    return `section ike_stuck
if [ "$irc" = 0 ]; then
    connecting() { bounded 5 ipsec status 2>/dev/null | sed -n 's/^ *\\([^ ]*\\[[0-9]*\\]\\): CONNECTING, .*/\\1/p' | head -n ${MAX_STUCK_IKE_SAS}; }
    c0=$(connecting)
    if [ -n "$c0" ]; then
        still() { connecting | grep -xF -e "$c0"; }
        none_left() { ! still >/dev/null; }
        wait_until ${IKE_STUCK_SECONDS} none_left || still
    fi
fi`;
}

export function observeScript(p: ObserveScriptParams): string {
    const peers = p.peerSystemIds.map(q).join(" ");
    const cap = MAX_SECTION_BYTES + 1; // one byte more than we keep: the parser then knows it was cut
    return `${prelude(p.boundary, p.limits, { name: "observe", readOnly: true })}
need ovs-vsctl ovs-appctl sha256sum awk sed flock timeout
lock shared
${guardFunctions()}
MODE=${q(p.mode)}
NPEERS=${p.peerSystemIds.length}
show() { ovs-appctl -t ovs-monitor-ipsec --timeout="$(cap "$T")" tunnels/show 2>/dev/null; }
configured() {
    [ "$(show | grep -c '^Interface name: .*(CONFIGURED)$')" -ge "$NPEERS" ] || return 1
    for p in ${peers}; do show | sed -n 's/^ *Remote name: *//p' | grep -qxF "$p" || return 1; done
}
established() {
    configured || return 1
    for p in ${peers}; do bounded 5 ipsec status 2>/dev/null | grep ' ESTABLISHED ' | grep -qF "[$p]" || return 1; done
    [ "$(bounded 5 ipsec status 2>/dev/null | grep -c ' INSTALLED, ')" -ge $((2 * NPEERS)) ]
}
disabled() { [ "$(show | head -c 100)" = ${q(NO_TUNNELS)} ]; }
ready() { case "$MODE" in configured) configured ;; established) established ;; disabled) disabled ;; *) true ;; esac; }
WAIT_END=$(( $(date +%s) + ${Math.max(0, Math.floor(p.waitSeconds))} ))
while ! ready; do
    [ "$(date +%s)" -lt "$WAIT_END" ] && [ "$(left)" -gt 3 ] || break
    sleep 0.2
done
${nodeFactsLines()}
section tunnels
exec 3>&1
trc=$( { { show; echo $? >&4; } | head -c ${cap} >&3; } 4>&1 )
# A cut output may end mid-line: the next section header must start a line of its own.
echo
section ike
irc=$( { { bounded 5 ipsec status 2>/dev/null; echo $? >&4; } | head -c ${cap} >&3; } 4>&1 )
echo
${stuckIkeLines()}
section codes
printf 'tunnels_rc=%s\\nike_rc=%s\\n' "$trc" "$irc"
`;
}
