/**
 * What the nodes report about IPsec, as parsed from `ovs-appctl -t ovs-monitor-ipsec
 * tunnels/show` and strongSwan's `ipsec status`. Plain data: these objects become stack
 * outputs, so every field is JSON (absent values are null, never undefined).
 */

/** ovs-monitor-ipsec's tunnel states; UNKNOWN is ours, for a header we cannot read. */
export type TunnelState = "INIT" | "CONFIGURED" | "INVALID" | "REMOVED" | "UNKNOWN";

/**
 * One block of `tunnels/show`. Paths only: the monitor prints a pre-shared key in its `PSK:`
 * field (PSK mode, never ours); the parser drops that field.
 */
export interface TunnelReport {
    /** OVS interface name, e.g. `ovn-8ecc6b-0`. */
    interface: string;
    /** The `vN` in the header: bumped each time the monitor re-reads the tunnel's config. */
    version: number | null;
    state: TunnelState;
    /** The reason after `INVALID:`, else null. */
    stateDetail: string | null;
    tunnelType: string | null;
    localIp: string | null;
    remoteIp: string | null;
    addressFamily: string | null;
    localCert: string | null;
    localName: string | null;
    localKey: string | null;
    remoteCert: string | null;
    remoteName: string | null;
    caCert: string | null;
    ofport: number | null;
    /** Lines under `Kernel policies installed:`. */
    policies: number;
    /** Lines under `Kernel security associations installed:`. */
    securityAssociations: number;
    /** Lines under `IPsec connections that are active:` (empty with strongSwan). */
    activeConnections: number;
}

/** One IKE SA line of `ipsec status`: `name[id]: STATE ..., local[localId]...remote[remoteId]`. */
export interface IkeSaReport {
    name: string;
    id: number;
    /** ESTABLISHED, CONNECTING, REKEYING, DELETING, ... as strongSwan prints it. */
    state: string;
    localIp: string | null;
    localId: string | null;
    remoteIp: string | null;
    remoteId: string | null;
}

/** One CHILD SA line of `ipsec status`: `name{id}:  STATE, MODE, ...`. */
export interface ChildSaReport {
    name: string;
    id: number;
    /** INSTALLED, ROUTED, REKEYING, ... as strongSwan prints it. */
    state: string;
    /** TRANSPORT or TUNNEL, when printed. */
    mode: string | null;
}

/** The whole of `ipsec status` (or `ipsec statusall`). */
export interface IkeDaemonReport {
    /** From `Security Associations (N up, M connecting):`. */
    ikeUp: number;
    ikeConnecting: number;
    ikeSas: IkeSaReport[];
    /** CHILD SAs listed under Security Associations (not the ROUTED trap policies). */
    childSas: ChildSaReport[];
    /** Entries under `Routed Connections:` (trap policies, one per direction per tunnel). */
    routed: number;
}
