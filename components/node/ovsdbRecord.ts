/**
 * What was in other_config before kube-ovn-ipsec first configured a node, kept IN that node's
 * OVSDB (external_ids of the Open_vSwitch row). It is written in the same transaction as our
 * first change, so no retry, failed create or interrupted run can lose it or record our own
 * paths instead; conf.db lives on the host (/etc/origin/openvswitch), so a pod restart keeps it.
 * Destroy restores exactly what it says (a key that was absent is removed, not set to "").
 *
 *   external_ids:kube-ovn-ipsec-before=recorded            the record exists
 *   external_ids:kube-ovn-ipsec-before-<key>=<value>       only for keys that were present
 *
 * Values are copied as `ovs-vsctl get` prints them (OVSDB's quoted form) and handed back to
 * `ovs-vsctl set` unchanged: the shell never unquotes them, so any byte survives.
 */

export const BEFORE_RECORD = "kube-ovn-ipsec-before";
export const CERT_KEYS = ["certificate", "private_key", "ca_cert"] as const;
export type CertKey = (typeof CERT_KEYS)[number];

export function beforeKey(key: CertKey): string {
    return `${BEFORE_RECORD}-${key}`;
}

/** Every external_ids key of the record. */
export const RECORD_KEYS: readonly string[] = [BEFORE_RECORD, ...CERT_KEYS.map(beforeKey)];
