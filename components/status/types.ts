/**
 * What the nodes report about IPsec, as parsed from `ovs-appctl -t ovs-monitor-ipsec
 * tunnels/show` and strongSwan's `ipsec status`. Plain data: these objects become stack
 * outputs, so every field is JSON; what a node does not print is left out (an optional field:
 * Pulumi's schema has no `null` type).
 */

/** ovs-monitor-ipsec's tunnel states; UNKNOWN is ours, for a header we cannot read. */
export const TunnelState = {
    /** The monitor has seen the tunnel but not configured it yet. */
    Init: "INIT",
    /** The configuration is valid and handed to the IKE daemon (not proof of encryption). */
    Configured: "CONFIGURED",
    /** The configuration cannot be used; `stateDetail` says why. */
    Invalid: "INVALID",
    /** The tunnel is being removed. */
    Removed: "REMOVED",
    /** A header this tool cannot read. */
    Unknown: "UNKNOWN",
} as const;
export type TunnelState = (typeof TunnelState)[keyof typeof TunnelState];

/**
 * One block of `tunnels/show`. Paths only: the monitor prints a pre-shared key in its `PSK:`
 * field (PSK mode, never ours); the parser drops that field.
 */
export interface TunnelReport {
    /** OVS interface name, e.g. `ovn-8ecc6b-0`. */
    interface: string;
    /** The `vN` in the header: bumped each time the monitor re-reads the tunnel's config. */
    version?: number;
    /** INIT, CONFIGURED, INVALID, REMOVED (the monitor's), or UNKNOWN. */
    state: TunnelState;
    /** The reason after `INVALID:`. */
    stateDetail?: string;
    /** `Tunnel Type`: geneve for Kube-OVN. */
    tunnelType?: string;
    /** `Local IP`: this node's tunnel endpoint. */
    localIp?: string;
    /** `Remote IP`: the peer's tunnel endpoint. */
    remoteIp?: string;
    /** `Address Family`: IPv4 or IPv6. */
    addressFamily?: string;
    /** `Local cert`: path of this node's certificate. */
    localCert?: string;
    /** `Local name`: the CN of this node's certificate (its OVS system-id). */
    localName?: string;
    /** `Local key`: path of this node's private key (a path, never key material). */
    localKey?: string;
    /** `Remote cert`: path of the peer's certificate (unset in CA mode, which is ours). */
    remoteCert?: string;
    /** `Remote name`: the identity expected of the peer (its OVS system-id). */
    remoteName?: string;
    /** `CA cert`: path of the CA certificate the tunnel trusts. */
    caCert?: string;
    /**
     * UDP encapsulation is forced (`forceencaps` among the tunnel's Custom Options: OVN passed
     * `nb_global options:ipsec_forceencaps` on). Unset: not forced.
     */
    forceEncapsulation?: boolean;
    /** `Ofport`: the OpenFlow port (unset while OVS has none). */
    ofport?: number;
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
