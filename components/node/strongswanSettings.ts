/**
 * Our own strongSwan settings file, next to the monitor's `ovs.conf` in /etc/strongswan.d/
 * (strongswan.conf includes every file there; settings merge). It exists for one key:
 * ovs-monitor-ipsec's ovs.conf sets the misspelt `xfrm_ack_expires`, so strongSwan keeps its
 * default `xfrm_acq_expires` of 165 s, and a failed negotiation's acquire state blocks new IKE
 * for that pair for that long. charon reads it when it starts: a running charon keeps its value
 * until its next start (an apply restarts nothing for it).
 */
import { shellQuote as q } from "../transport/shellQuote";

export const STRONGSWAN_SETTINGS = "/etc/strongswan.d/kube-ovn-ipsec.conf";

/** Seconds an acquire (larval) state lives: how soon traffic can trigger IKE again after a failure. */
export const XFRM_ACQ_EXPIRES_SECONDS = 10;

export const STRONGSWAN_SETTINGS_TEXT = `# Written by kube-ovn-ipsec; pulumi destroy removes it.
# ovs-monitor-ipsec's ovs.conf sets xfrm_ack_expires, a key strongSwan does not know: without
# this, a failed negotiation blocks new IKE attempts for a pair for 165 s.
charon {
    plugins {
        kernel-netlink {
            xfrm_acq_expires = ${XFRM_ACQ_EXPIRES_SECONDS}
        }
    }
}
`;

/** Shell test, true when the file holds exactly our text: the apply's and the observation's check. */
export const STRONGSWAN_SETTINGS_CURRENT = `[ "$(cat ${q(STRONGSWAN_SETTINGS)} 2>/dev/null)" = "$(printf '%s' ${q(STRONGSWAN_SETTINGS_TEXT)})" ]`;
