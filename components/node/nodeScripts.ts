/**
 * The scripts that run in a node's OVS pod, one per operation, each a single exec round trip.
 * Built only from validated values, every one shell-quoted; key material is never in the
 * script, it arrives on stdin (see `applyPayload`).
 */
import { prelude } from "../transport/scriptKit";
import { shellQuote as q } from "../transport/shellQuote";
import { IPSEC_DIR, NodeFilePaths, OUR_FILE_GLOBS } from "./nodeFiles";

export interface ScriptTiming {
    /** ovs-vsctl/ovs-appctl --timeout. */
    ovsdbTimeoutSeconds: number;
    /** Bound on one `service ... start|stop`. */
    serviceTimeoutSeconds: number;
}

export interface ApplyParams extends ScriptTiming {
    boundary: string;
    systemId: string;
    paths: NodeFilePaths;
    sha256: { certificate: string; privateKey: string; caCert: string };
}

/** other_config values found before we first configured the node, restored on delete. */
export interface PreviousConfig {
    certificate: string;
    privateKey: string;
    caCert: string;
}

export interface RemoveParams extends ScriptTiming {
    boundary: string;
    restore: PreviousConfig | null;
    stopMonitor: boolean;
    stopIkeDaemon: boolean;
}

/**
 * Which services we started, kept on the node itself: a run that failed after starting one
 * (and so recorded nothing in Pulumi state) still lets a later delete stop it. It lives with
 * the certificates, so a replaced pod loses both together.
 */
export const STARTED_MARKER = `${IPSEC_DIR}/kube-ovn-ipsec-started`;

const PAYLOAD_MARK = "koi-file ";
const PAYLOAD_END = "koi-end";

/** stdin of the apply script: the three PEMs, framed by lines no PEM can contain. */
export function applyPayload(caCertPem: string, certPem: string, keyPem: string): string {
    const block = (name: string, pem: string) => `${PAYLOAD_MARK}${name}\n${pem.endsWith("\n") ? pem : pem + "\n"}`;
    return block("ca", caCertPem) + block("cert", certPem) + block("key", keyPem) + PAYLOAD_END + "\n";
}

/** Shell lines that report the state of the node's IPsec configuration as facts. */
function reportFacts(): string {
    return `
section facts
printf 'system_id=%s\\n' "$(vsctl get Open_vSwitch . external_ids:system-id 2>/dev/null | unquote)"
for k in certificate private_key ca_cert; do
    v=$(vsctl --if-exists get Open_vSwitch . "other_config:$k" 2>/dev/null | unquote)
    printf 'other_config_%s=%s\\n' "$k" "$v"
    if [ -n "$v" ] && [ -f "$v" ]; then
        printf 'sha256_%s=%s\\n' "$k" "$(sha256sum < "$v" | cut -d' ' -f1)"
        printf 'mode_%s=%s\\n' "$k" "$(stat -c %a "$v")"
    fi
done
if monitor_up; then echo monitor_running=1; else echo monitor_running=0; fi
if ike_up; then echo ike_running=1; else echo ike_running=0; fi
`;
}

/**
 * Create/update: check identity, install the files atomically, point OVS at them, start the
 * IPsec services only if they are not running. Fails before touching anything when the OVS
 * system-id is not the certificate's CN; rolls back files it created if it fails before the
 * OVSDB commit, so a node never holds half a configuration.
 */
export function applyScript(p: ApplyParams): string {
    const { paths } = p;
    return `${prelude(p.boundary, p.ovsdbTimeoutSeconds)}
umask 077
SID=${q(p.systemId)}
CERT=${q(paths.certificate)}; KEY=${q(paths.privateKey)}; CA=${q(paths.caCert)}
ST=${Math.floor(p.serviceTimeoutSeconds)}
committed=0; created=""
on_fail() {
    rm -f "$CERT.koi-tmp" "$KEY.koi-tmp" "$CA.koi-tmp"
    if [ "$committed" = 0 ] && [ -n "$created" ]; then rm -f $created; fi
}

command -v ovs-vsctl >/dev/null 2>&1 || fail $PERMANENT preflight "ovs-vsctl not found: the target is not an OVS pod"
command -v ipsec >/dev/null 2>&1 && [ -x /etc/init.d/openvswitch-ipsec ] || fail $PERMANENT preflight "openvswitch-ipsec or strongSwan is not installed in this pod: Kube-OVN before v1.10.11/v1.11.4 has no IPsec; upgrade Kube-OVN"

actual=$(vsctl get Open_vSwitch . external_ids:system-id 2>&1) || fail $TRANSIENT read-system-id "ovs-vsctl could not read the system-id (is ovsdb-server running?): $(printf '%s' "$actual" | oneline)"
actual=$(printf '%s' "$actual" | unquote)
[ "$actual" = "$SID" ] || fail $PERMANENT check-system-id "OVS system-id is '$actual' but the certificate is for '$SID': the node was reinstalled or the node list is stale; set this node's systemId to '$actual' (or use node discovery) and run again"

mkdir -p ${q(IPSEC_DIR + "/certs")} ${q(IPSEC_DIR + "/private")} ${q(IPSEC_DIR + "/cacerts")} || fail $TRANSIENT write-files "cannot create ${IPSEC_DIR} directories"
for f in "$CERT" "$KEY" "$CA"; do [ -e "$f" ] || created="$created $f"; done
# Each file is written next to its destination with mode 0600 (umask), checked, then renamed:
# a reader sees the old file or the new one, never a partial or world-readable one.
awk -v ca="$CA.koi-tmp" -v cert="$CERT.koi-tmp" -v key="$KEY.koi-tmp" '
    $0 == "${PAYLOAD_MARK}ca" { f = ca; next }
    $0 == "${PAYLOAD_MARK}cert" { f = cert; next }
    $0 == "${PAYLOAD_MARK}key" { f = key; next }
    $0 == "${PAYLOAD_END}" { done = 1; exit }
    f != "" { print > f }
    END { if (!done) exit 9 }
' || fail $TRANSIENT write-files "the certificate data did not arrive whole on stdin"
check() { [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ] || fail $TRANSIENT write-files "$3 arrived corrupted (checksum mismatch)"; }
check "$CA.koi-tmp" ${q(p.sha256.caCert)} "the CA certificate"
check "$CERT.koi-tmp" ${q(p.sha256.certificate)} "the certificate"
check "$KEY.koi-tmp" ${q(p.sha256.privateKey)} "the private key"
chmod 0644 "$CA.koi-tmp" "$CERT.koi-tmp" && chmod 0600 "$KEY.koi-tmp" || fail $TRANSIENT write-files "chmod failed"
mv -f "$KEY.koi-tmp" "$KEY" && mv -f "$CERT.koi-tmp" "$CERT" && mv -f "$CA.koi-tmp" "$CA" || fail $TRANSIENT write-files "cannot rename the files into ${IPSEC_DIR}"

section previous
for k in certificate private_key ca_cert; do
    v=$(vsctl --if-exists get Open_vSwitch . "other_config:$k" 2>&1) || fail $TRANSIENT read-other-config "ovs-vsctl: $(printf '%s' "$v" | oneline)"
    printf '%s=%s\\n' "$k" "$(printf '%s' "$v" | unquote)"
done
# One OVSDB transaction: the monitor sees all three paths change together.
out=$(vsctl set Open_vSwitch . other_config:certificate="$CERT" other_config:private_key="$KEY" other_config:ca_cert="$CA" 2>&1) || fail $TRANSIENT set-other-config "ovs-vsctl set failed: $(printf '%s' "$out" | oneline)"
committed=1

# Older versions of our files (rotation, a changed system-id): nothing points at them any more.
for f in ${OUR_FILE_GLOBS.join(" ")}; do
    [ -e "$f" ] || continue
    [ "$f" = "$CERT" ] || [ "$f" = "$KEY" ] || [ "$f" = "$CA" ] || rm -f "$f"
done
rm -f ${IPSEC_DIR}/certs/*.koi-tmp ${IPSEC_DIR}/private/*.koi-tmp ${IPSEC_DIR}/cacerts/*.koi-tmp

# Services: start what is not running, restart nothing. The monitor picks up new paths by
# itself, and starting it (re)starts the IKE daemon: so start the monitor only after the paths
# are in OVSDB, and start the IKE daemon only if the monitor did not.
MARK=${q(STARTED_MARKER)}
mark() { grep -qx "$1" "$MARK" 2>/dev/null || echo "$1" >> "$MARK"; }
if ike_up; then ike_before=1; else ike_before=0; fi
if ! monitor_up; then
    mark monitor
    [ "$ike_before" = 1 ] || mark ike
    run_service "$ST" openvswitch-ipsec start || fail $TRANSIENT start-ovs-monitor-ipsec "service openvswitch-ipsec start failed: $(service_said)"
    wait_until 100 monitor_up || fail $TRANSIENT start-ovs-monitor-ipsec "ovs-monitor-ipsec did not answer within 10 s of starting"
    wait_until 100 ike_up || true
fi
if ! ike_up; then
    mark ike
    run_service "$ST" ipsec start || fail $TRANSIENT start-ike-daemon "service ipsec start failed: $(service_said)"
    wait_until 100 ike_up || fail $TRANSIENT start-ike-daemon "strongSwan did not answer within 10 s of starting"
fi

section started
if grep -qx monitor "$MARK" 2>/dev/null; then echo monitor=1; else echo monitor=0; fi
if grep -qx ike "$MARK" 2>/dev/null; then echo ike=1; else echo ike=0; fi
${reportFacts()}`;
}

/**
 * Delete: undo what apply did. other_config is restored (or its keys removed) only while it
 * still points at our files, services are stopped only if we started them, our files go.
 */
export function removeScript(p: RemoveParams): string {
    const restore = p.restore
        ? `vsctl set Open_vSwitch . other_config:certificate=${q(p.restore.certificate)} other_config:private_key=${q(p.restore.privateKey)} other_config:ca_cert=${q(p.restore.caCert)}`
        : "vsctl remove Open_vSwitch . other_config certificate private_key ca_cert";
    return `${prelude(p.boundary, p.ovsdbTimeoutSeconds)}
ST=${Math.floor(p.serviceTimeoutSeconds)}
command -v ovs-vsctl >/dev/null 2>&1 || fail $PERMANENT preflight "ovs-vsctl not found: the target is not an OVS pod"
cur=$(vsctl --if-exists get Open_vSwitch . other_config:certificate 2>&1) || fail $TRANSIENT read-other-config "ovs-vsctl: $(printf '%s' "$cur" | oneline)"
cur=$(printf '%s' "$cur" | unquote)
case "$cur" in
    ${q(IPSEC_DIR + "/certs/kube-ovn-ipsec-")}*)
        out=$(${restore} 2>&1) || fail $TRANSIENT unset-other-config "ovs-vsctl failed: $(printf '%s' "$out" | oneline)" ;;
esac
MARK=${q(STARTED_MARKER)}
stop_monitor=${p.stopMonitor ? 1 : 0}; stop_ike=${p.stopIkeDaemon ? 1 : 0}
grep -qx monitor "$MARK" 2>/dev/null && stop_monitor=1
grep -qx ike "$MARK" 2>/dev/null && stop_ike=1
if [ "$stop_monitor" = 1 ] && monitor_up; then
    run_service "$ST" openvswitch-ipsec stop || fail $TRANSIENT stop-ovs-monitor-ipsec "service openvswitch-ipsec stop failed: $(service_said)"
fi
if [ "$stop_ike" = 1 ] && ike_up; then
    run_service "$ST" ipsec stop || fail $TRANSIENT stop-ike-daemon "service ipsec stop failed: $(service_said)"
fi
rm -f "$MARK" ${OUR_FILE_GLOBS.join(" ")} ${IPSEC_DIR}/certs/*.koi-tmp ${IPSEC_DIR}/private/*.koi-tmp ${IPSEC_DIR}/cacerts/*.koi-tmp || fail $TRANSIENT remove-files "cannot remove our files from ${IPSEC_DIR}"
${reportFacts()}`;
}

/** Read (refresh): the node's configuration as it is now; read-only. */
export function readScript(p: ScriptTiming & { boundary: string }): string {
    return `${prelude(p.boundary, p.ovsdbTimeoutSeconds)}
command -v ovs-vsctl >/dev/null 2>&1 || fail $PERMANENT preflight "ovs-vsctl not found: the target is not an OVS pod"
vsctl get Open_vSwitch . external_ids >/dev/null 2>&1 || fail $TRANSIENT read-config "ovs-vsctl cannot reach ovsdb-server"
${reportFacts()}`;
}
