/**
 * How the apply starts ovs-monitor-ipsec. Its init script (`service openvswitch-ipsec start`)
 * runs the monitor so that it first restarts strongSwan (`ipsec restart`: stop, `sleep 2`,
 * start), most of a node's enable. OVS >= 2.15 can start it with `--no-restart-ike-daemon`
 * through the same ovs-ctl the init script calls; the image is asked, not assumed: Kube-OVN
 * v1.10-v1.12 ship OVS 2.17/3.1, but an older or custom build falls back to the init script.
 */
import { shellQuote as q } from "../transport/shellQuote";
import { STRONGSWAN_SETTINGS_CURRENT } from "./strongswanSettings";

/** Where OVS's packaging (Debian's and Kube-OVN's images) puts ovs-ctl and the monitor. */
export const OVS_SCRIPTS_DIR = "/usr/share/openvswitch/scripts";
export const OVS_CTL = `${OVS_SCRIPTS_DIR}/ovs-ctl`;
export const MONITOR_PROGRAM = `${OVS_SCRIPTS_DIR}/ovs-monitor-ipsec`;

/**
 * Shell test: the monitor can be started without restarting the IKE daemon. Both halves must
 * know the option (ovs-ctl passes it on as RESTART_IKE_DAEMON), and our settings file must be in
 * place: without the restart the monitor writes no ovs.conf, so the settings it carries come
 * from ours alone.
 */
export const QUICK_START_SUPPORTED = `{ ${STRONGSWAN_SETTINGS_CURRENT} && grep -q RESTART_IKE_DAEMON ${q(OVS_CTL)} && grep -q -e --no-restart-ike-daemon ${q(MONITOR_PROGRAM)}; } 2>/dev/null`;
