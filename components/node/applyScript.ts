/**
 * Create/update (and repair) of one node, in one exec round trip: check identity, install the
 * files atomically, point OVS at them (recording once, in the same OVSDB transaction, what was
 * there before us), install or remove the fail-closed guard, start the IPsec services only if
 * they are not running, and report the node's facts at the end.
 *
 * Built only from validated values, every one shell-quoted; the PEMs and their digests come on
 * stdin (nodePayload.ts). It fails before touching anything when the OVS system-id is not the
 * certificate's CN, and removes files it created if it fails before the OVSDB commit, so a node
 * never holds half a configuration. Every failure names the step, the path, and the failing
 * command's own message.
 */
import { nodeFactsLines } from "../observe/observeScript";
import { ScriptLimits, prelude } from "../transport/scriptKit";
import { shellQuote as q } from "../transport/shellQuote";
import { guardFunctions } from "./guardRules";
import { FILE_PREFIX, IPSEC_DIR, MANIFEST, NodeFilePaths, OUR_FILE_GLOBS, STARTED_MARKER } from "./nodeFiles";
import { payloadReader } from "./nodePayload";
import { OVS_CTL, QUICK_START_SUPPORTED } from "./monitorStart";
import { BEFORE_RECORD, CERT_KEYS, beforeKey } from "./ovsdbRecord";
import { STRONGSWAN_SETTINGS, STRONGSWAN_SETTINGS_CURRENT, STRONGSWAN_SETTINGS_TEXT } from "./strongswanSettings";

export interface ApplyParams {
    boundary: string;
    limits: ScriptLimits;
    systemId: string;
    paths: NodeFilePaths;
    /** The fail-closed guard must be in place (failClosed and IPsec enabled); else it must not. */
    guard: boolean;
    /** The daemons run but the kernel lost their policies: restart them. */
    restartServices: boolean;
}

/** other_config:certificate values that are ours, in OVSDB's printed (quoted) form. */
export const OURS_PATTERN = `'"${IPSEC_DIR}/certs/${FILE_PREFIX}'*`;

export function applyScript(p: ApplyParams): string {
    const { paths } = p;
    const tools = ["ovs-vsctl", "ovs-appctl", "sha256sum", "awk", "sed", "stat", "mv", "chmod", "mkdir", "flock", "timeout", "ipsec"];
    if (p.guard) tools.push("iptables", "iptables-restore");
    const record = CERT_KEYS.map((k) => `
        v=$(vsctl --if-exists get Open_vSwitch . other_config:${k} 2>&1) || fail_cmd read-other-config "$v" "ovs-vsctl could not read other_config:${k}"
        [ -z "$v" ] || set -- "$@" -- set Open_vSwitch . "external_ids:${beforeKey(k)}=$v"`).join("");
    return `${prelude(p.boundary, p.limits, { name: "apply", readOnly: false })}
umask 077
need ${tools.join(" ")}
[ -x /etc/init.d/openvswitch-ipsec ] || fail $PERMANENT check-tools "/etc/init.d/openvswitch-ipsec is not in this pod: Kube-OVN before v1.10.11/v1.11.4 ships no IPsec; upgrade Kube-OVN"
lock exclusive
${guardFunctions()}
SID=${q(p.systemId)}
CERT=${q(paths.certificate)}; KEY=${q(paths.privateKey)}; CA=${q(paths.caCert)}
MF=${q(MANIFEST)}; MARK=${q(STARTED_MARKER)}; SUMS="$CERT.koi-sums"
committed=0; created=""
on_fail() {
    rm -f "$CERT.koi-tmp" "$KEY.koi-tmp" "$CA.koi-tmp" "$MF.koi-tmp" "$SUMS"
    if [ "$committed" = 0 ] && [ -n "$created" ]; then rm -f $created; fi
}

actual=$(vsctl get Open_vSwitch . external_ids:system-id 2>&1) || fail_cmd read-system-id "$actual" "ovs-vsctl could not read external_ids:system-id"
[ "$actual" = "\\"$SID\\"" ] || [ "$actual" = "$SID" ] || fail $PERMANENT check-system-id "OVS system-id is '$(printf '%s' "$actual" | tr -d '"' | head -c 80)' but the certificate is for '$SID': the node was reinstalled or the node list is stale; set this node's systemId to '$(printf '%s' "$actual" | tr -d '"' | head -c 80)' (or use node discovery) and run again"

for d in certs private cacerts; do
    out=$(mkdir -p "${IPSEC_DIR}/$d" 2>&1) || fail_cmd write-files "$out" "creating ${IPSEC_DIR}/$d"
done
for f in "$CERT" "$KEY" "$CA"; do [ -e "$f" ] || created="$created $f"; done
# Each file is written next to its destination with mode 0600 (umask), checked, then renamed:
# a reader sees the old file or the new one, never a partial or world-readable one.
out=$(bounded 60 ${payloadReader({ caCert: '"$CA.koi-tmp"', certificate: '"$CERT.koi-tmp"', privateKey: '"$KEY.koi-tmp"', sums: '"$SUMS"' })} 2>&1); rc=$?
case $rc in
    0) ;;
    9) fail $TRANSIENT read-payload "the certificate data on stdin ended before its end marker: the transport cut it short" ;;
    124|137) fail $TRANSIENT read-payload "the certificate data did not arrive on stdin within the time limit" ;;
    *) fail_cmd write-files "$out" "writing the new files into ${IPSEC_DIR} (next to $CERT, $KEY, $CA)" ;;
esac
want() { sed -n "s/^$1 //p" "$SUMS"; }
check() {
    got=$(sha256sum < "$2" 2>&1) || fail_cmd write-files "$got" "reading back $2"
    [ "\${got%% *}" = "$(want "$1")" ] || fail $TRANSIENT read-payload "$3 arrived corrupted (its sha256 differs from the one sent with it)"
}
check ca_cert "$CA.koi-tmp" "the CA certificate"
check certificate "$CERT.koi-tmp" "the certificate"
check private_key "$KEY.koi-tmp" "the private key"
out=$(chmod 0644 "$CA.koi-tmp" "$CERT.koi-tmp" 2>&1) || fail_cmd write-files "$out" "chmod 0644 on the new certificate files"
out=$(chmod 0600 "$KEY.koi-tmp" 2>&1) || fail_cmd write-files "$out" "chmod 0600 on the new private key file"
out=$(mv -f "$KEY.koi-tmp" "$KEY" 2>&1) || fail_cmd write-files "$out" "renaming the private key into $KEY"
out=$(mv -f "$CERT.koi-tmp" "$CERT" 2>&1) || fail_cmd write-files "$out" "renaming the certificate into $CERT"
out=$(mv -f "$CA.koi-tmp" "$CA" 2>&1) || fail_cmd write-files "$out" "renaming the CA certificate into $CA"

# One OVSDB transaction: the monitor sees all three paths change together, and what was there
# before us is recorded in the same commit (once: later runs find the record, or our paths).
rec=$(vsctl --if-exists get Open_vSwitch . external_ids:${BEFORE_RECORD} 2>&1) || fail_cmd read-other-config "$rec" "ovs-vsctl could not read external_ids:${BEFORE_RECORD}"
cur=$(vsctl --if-exists get Open_vSwitch . other_config:certificate 2>&1) || fail_cmd read-other-config "$cur" "ovs-vsctl could not read other_config:certificate"
set --
if [ -z "$rec" ]; then
    case "$cur" in
        ${OURS_PATTERN}) ;;
        *)
        set -- -- set Open_vSwitch . external_ids:${BEFORE_RECORD}=recorded${record} ;;
    esac
fi
out=$(vsctl set Open_vSwitch . other_config:certificate="$CERT" other_config:private_key="$KEY" other_config:ca_cert="$CA" "$@" 2>&1) || fail_cmd set-other-config "$out" "ovs-vsctl set other_config:certificate/private_key/ca_cert"
committed=1

out=$( { printf 'certificate %s %s\\n' "$(want certificate)" "$CERT"; printf 'private_key %s %s\\n' "$(want private_key)" "$KEY"; printf 'ca_cert %s %s\\n' "$(want ca_cert)" "$CA"; } 2>&1 >"$MF.koi-tmp") || fail_cmd write-manifest "$out" "writing $MF"
out=$(mv -f "$MF.koi-tmp" "$MF" 2>&1) || fail_cmd write-manifest "$out" "renaming the manifest into $MF"
rm -f "$SUMS"

# Older versions of our certificate and key (renewal, rotation, a changed system-id): nothing
# points at them any more. Other CA files stay: during a CA rotation the peers not re-issued yet
# still present certificates of the old CA (the rotation's last stage removes it, CaRetire).
for f in ${OUR_FILE_GLOBS.filter((g) => !g.includes("/cacerts/")).join(" ")}; do
    [ -e "$f" ] || continue
    [ "$f" = "$CERT" ] || [ "$f" = "$KEY" ] || rm -f "$f"
done
rm -f ${IPSEC_DIR}/certs/*.koi-tmp ${IPSEC_DIR}/private/*.koi-tmp ${IPSEC_DIR}/cacerts/*.koi-tmp ${IPSEC_DIR}/certs/*.koi-sums

# Our strongSwan settings (xfrm_acq_expires), before the IKE daemon starts: it reads them then.
SWC=${q(STRONGSWAN_SETTINGS)}
if [ -d "\${SWC%/*}" ] && ! ${STRONGSWAN_SETTINGS_CURRENT}; then
    out=$( { printf '%s' ${q(STRONGSWAN_SETTINGS_TEXT)} > "$SWC.koi-tmp" && chmod 0644 "$SWC.koi-tmp" && mv -f "$SWC.koi-tmp" "$SWC"; } 2>&1) || { rm -f "$SWC.koi-tmp"; fail_cmd write-files "$out" "writing $SWC"; }
fi

# The guard goes in before the services start: from here on, Geneve to a peer without an
# IPsec policy is dropped, never sent in plain text.
${p.guard ? "guard_install" : "guard_remove"}

# Services: start what is not running, restart nothing (unless the kernel lost the daemons'
# policies). The monitor picks up new paths by itself: start it only after the paths are in
# OVSDB. Where the image allows (monitorStart.ts) the IKE daemon starts first and the monitor
# leaves it running; else the monitor's init script restarts the IKE daemon itself, and the
# IKE daemon is started here only if that did not.
# (A restart below changes nothing about who started a daemon: no mark then.)
restarting=0
mark() { [ "$restarting" = 1 ] && return 0; grep -qx "$1" "$MARK" 2>/dev/null && return 0; out=$(echo "$1" 2>&1 >>"$MARK") || fail_cmd write-marker "$out" "writing $MARK"; }
pid_alive() { p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
charon_gone() { ! pid_alive /var/run/charon.pid; }
# A charon whose starter died (killed, or its pod restarted under it) answers \`ipsec status\`
# but can never be given connections: \`ipsec update\` goes through the starter. Stop it, so that
# the start below brings up a pair that works.
if pid_alive /var/run/charon.pid && ! pid_alive /var/run/starter.charon.pid; then
    kill -TERM "$(cat /var/run/charon.pid)" 2>/dev/null
    wait_until 10 charon_gone || kill -KILL "$(cat /var/run/charon.pid)" 2>/dev/null
    wait_until 5 charon_gone || fail $TRANSIENT start-ike-daemon "a strongSwan charon without its starter (pid $(cat /var/run/charon.pid)) did not stop"
fi
if ike_up; then ike_before=1; else ike_before=0; fi
${p.restartServices ? `if monitor_up; then
    if ${QUICK_START_SUPPORTED}; then
        # Both stopped here and started below without the init script's restart and its sleeps.
        restarting=1
        run_service openvswitch-ipsec stop || fail_cmd restart-ipsec "$(service_said)" "service openvswitch-ipsec stop (the kernel had lost the IPsec policies)"
        run_service ipsec stop || fail_cmd restart-ipsec "$(service_said)" "service ipsec stop (the kernel had lost the IPsec policies)"
        wait_until 10 charon_gone || fail $TRANSIENT restart-ipsec "strongSwan's charon did not stop within $waited s"
    else
        run_service openvswitch-ipsec restart || fail_cmd restart-ipsec "$(service_said)" "service openvswitch-ipsec restart (the kernel had lost the IPsec policies)"
        wait_until 30 monitor_up || fail $TRANSIENT restart-ipsec "ovs-monitor-ipsec did not answer within $waited s of its restart"
    fi
fi` : ""}
start_ike() {
    mark ike
    run_service ipsec start || fail_cmd start-ike-daemon "$(service_said)" "service ipsec start"
    wait_until 15 ike_up || fail $TRANSIENT start-ike-daemon "strongSwan did not answer within $waited s of starting"
}
# A monitor that runs but does not answer (hung, stopped) cannot be started again (its pidfile
# is held): say so rather than what a second start would say. The pid must be a monitor's: a
# stale pidfile's pid may belong to another process by now (the pods share the host's pids).
MON_PID=/var/run/openvswitch/ovs-monitor-ipsec.pid
monitor_pid_alive() { p=$(cat "$MON_PID" 2>/dev/null) && [ -n "$p" ] && grep -q ovs-monitor-ipsec "/proc/$p/cmdline" 2>/dev/null; }
if ! monitor_up && monitor_pid_alive; then
    wait_until 5 monitor_up || fail $TRANSIENT start-ovs-monitor-ipsec "ovs-monitor-ipsec is running (pid $(cat "$MON_PID")) but did not answer ovs-appctl for $waited s; if it stays so, restart it in the pod: service openvswitch-ipsec restart"
fi
if ! monitor_up; then
    mark monitor
    [ "$ike_before" = 1 ] || mark ike
    if ${QUICK_START_SUPPORTED}; then
        # The IKE daemon first (it reads our settings file), then the monitor, told not to
        # restart it: no \`ipsec restart\` and its \`sleep 2\`; the monitor configures the running
        # daemon with \`ipsec update\` as it does on any change.
        ike_up || start_ike
        run_daemon ${q(OVS_CTL)} --ike-daemon=strongswan --no-restart-ike-daemon start-ovs-ipsec || fail_cmd start-ovs-monitor-ipsec "$(service_said)" "ovs-ctl --no-restart-ike-daemon start-ovs-ipsec"
    else
        run_service openvswitch-ipsec start || fail_cmd start-ovs-monitor-ipsec "$(service_said)" "service openvswitch-ipsec start"
    fi
    wait_until 30 monitor_up || fail $TRANSIENT start-ovs-monitor-ipsec "ovs-monitor-ipsec did not answer within $waited s of starting"
    wait_until 15 ike_up || true
fi
ike_up || start_ike
${nodeFactsLines()}`;
}
