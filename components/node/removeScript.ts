/**
 * Delete (pulumi destroy) of one node: undo what apply did and nothing else.
 *
 * - other_config: only while it still points at our files, restored exactly to the record apply
 *   left in OVSDB (a key that was absent before us is removed, never set to ""); the record goes
 *   in the same transaction. If someone else's configuration replaced ours, it is left alone.
 * - services: stopped only if our marker says we started them AND the node still ran our
 *   configuration (stopping them under another setup's paths would take its IPsec down).
 * - the fail-closed guard and our files go (nothing references them any more).
 */
import { nodeFactsLines } from "../observe/observeScript";
import { ScriptLimits, prelude } from "../transport/scriptKit";
import { shellQuote as q } from "../transport/shellQuote";
import { OURS_PATTERN } from "./applyScript";
import { guardFunctions } from "./guardRules";
import { IPSEC_DIR, MANIFEST, OUR_FILE_GLOBS, STARTED_MARKER } from "./nodeFiles";
import { BEFORE_RECORD, CERT_KEYS, RECORD_KEYS, beforeKey } from "./ovsdbRecord";
import { STRONGSWAN_SETTINGS } from "./strongswanSettings";

export interface RemoveParams {
    boundary: string;
    limits: ScriptLimits;
}

export function removeScript(p: RemoveParams): string {
    const restore = CERT_KEYS.map((k) => `
        b=$(vsctl --if-exists get Open_vSwitch . external_ids:${beforeKey(k)} 2>&1) || fail_cmd read-record "$b" "ovs-vsctl could not read external_ids:${beforeKey(k)}"
        if [ -n "$b" ]; then set -- "$@" -- set Open_vSwitch . "other_config:${k}=$b"; else set -- "$@" -- remove Open_vSwitch . other_config ${k}; fi`).join("");
    return `${prelude(p.boundary, p.limits, { name: "remove", readOnly: false })}
need ovs-vsctl ovs-appctl sed flock timeout
lock exclusive
${guardFunctions()}
MARK=${q(STARTED_MARKER)}
cur=$(vsctl --if-exists get Open_vSwitch . other_config:certificate 2>&1) || fail_cmd read-other-config "$cur" "ovs-vsctl could not read other_config:certificate"
rec=$(vsctl --if-exists get Open_vSwitch . external_ids:${BEFORE_RECORD} 2>&1) || fail_cmd read-record "$rec" "ovs-vsctl could not read external_ids:${BEFORE_RECORD}"
ours=0
case "$cur" in ${OURS_PATTERN}) ours=1 ;; esac
set --
if [ "$ours" = 1 ]; then
    if [ -n "$rec" ]; then${restore}
    else
        set -- "$@" -- remove Open_vSwitch . other_config ${CERT_KEYS.join(" ")}
    fi
fi
set -- "$@" -- remove Open_vSwitch . external_ids ${RECORD_KEYS.join(" ")}
shift
out=$(vsctl "$@" 2>&1) || fail_cmd restore-other-config "$out" "ovs-vsctl restoring other_config and removing our record"

if [ "$ours" = 1 ]; then
    if grep -qx monitor "$MARK" 2>/dev/null && monitor_up; then
        run_service openvswitch-ipsec stop || fail_cmd stop-ovs-monitor-ipsec "$(service_said)" "service openvswitch-ipsec stop"
    fi
    if grep -qx ike "$MARK" 2>/dev/null && ike_up; then
        run_service ipsec stop || fail_cmd stop-ike-daemon "$(service_said)" "service ipsec stop"
    fi
fi
guard_remove
out=$(rm -f ${q(MANIFEST)} "$MARK" ${q(STRONGSWAN_SETTINGS)} ${OUR_FILE_GLOBS.join(" ")} ${IPSEC_DIR}/certs/*.koi-tmp ${IPSEC_DIR}/private/*.koi-tmp ${IPSEC_DIR}/cacerts/*.koi-tmp ${IPSEC_DIR}/certs/*.koi-sums 2>&1) || fail_cmd remove-files "$out" "removing our files from ${IPSEC_DIR}"
section removed
printf 'ours=%s\\n' "$ours"
${nodeFactsLines()}`;
}
