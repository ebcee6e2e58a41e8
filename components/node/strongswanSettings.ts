/**
 * Our own strongSwan settings file, next to the monitor's `ovs.conf` in /etc/strongswan.d/
 * (strongswan.conf includes every file there; settings merge). Two reasons:
 * - ovs-monitor-ipsec's ovs.conf sets the misspelt `xfrm_ack_expires`, so strongSwan keeps its
 *   default `xfrm_acq_expires` of 165 s, and a failed negotiation's acquire state blocks new IKE
 *   for that pair for that long;
 * - when the apply starts the monitor with `--no-restart-ike-daemon` (no `ipsec restart`, whose
 *   `sleep 2` is most of a node's enable), the monitor writes no ovs.conf at all: the settings it
 *   would have written (transport SAs restricted to the tunnel's protocol and port, the GCM
 *   plugin) are then ours to write.
 * charon reads the file when it starts: a running charon keeps its values until its next start
 * (an apply restarts nothing for it).
 */
import { shellQuote as q } from "../transport/shellQuote";

export const STRONGSWAN_SETTINGS = "/etc/strongswan.d/kube-ovn-ipsec.conf";

/** Seconds an acquire (larval) state lives: how soon traffic can trigger IKE again after a failure. */
export const XFRM_ACQ_EXPIRES_SECONDS = 10;

export const STRONGSWAN_SETTINGS_TEXT = `# Written by kube-ovn-ipsec; pulumi destroy removes it.
# xfrm_acq_expires: ovs-monitor-ipsec's ovs.conf misspells it (xfrm_ack_expires); without it a
# failed negotiation blocks new IKE attempts for a pair for 165 s.
# The rest is what ovs.conf holds: a monitor started with --no-restart-ike-daemon writes none.
charon {
    plugins {
        kernel-netlink {
            set_proto_port_transport_sa = yes
            xfrm_acq_expires = ${XFRM_ACQ_EXPIRES_SECONDS}
        }
        gcm {
            load = yes
        }
    }
    load_modular = yes
}
`;

/** Shell test, true when the file holds exactly our text: the apply's and the observation's check. */
export const STRONGSWAN_SETTINGS_CURRENT = `[ "$(cat ${q(STRONGSWAN_SETTINGS)} 2>/dev/null)" = "$(printf '%s' ${q(STRONGSWAN_SETTINGS_TEXT)})" ]`;
