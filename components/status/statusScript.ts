/**
 * The status script: optionally waits IN the pod until the node looks ready (so waiting costs
 * one exec round trip, not one per poll), then prints tunnels/show and `ipsec status` raw.
 * The in-pod check is a cheap early exit; the verdict is always made by evaluateNode.
 */
import { parseFacts, parseSections, prelude } from "../transport/scriptKit";
import { shellQuote as q } from "../transport/shellQuote";
import type { RawNodeStatus } from "./nodeStatus";

export type WaitMode = "none" | "configured" | "established" | "disabled";

export interface StatusScriptParams {
    boundary: string;
    ovsdbTimeoutSeconds: number;
    mode: WaitMode;
    /** System-ids of the peers this node should have tunnels to. */
    peerSystemIds: string[];
    /** How long to wait in the pod before reporting anyway. */
    waitSeconds: number;
}

export const NO_TUNNELS = "No tunnels configured with IPsec";

export function statusScript(p: StatusScriptParams): string {
    const peers = p.peerSystemIds.map(q).join(" ");
    return `${prelude(p.boundary, p.ovsdbTimeoutSeconds)}
MODE=${q(p.mode)}
NPEERS=${p.peerSystemIds.length}
show() { ovs-appctl -t ovs-monitor-ipsec --timeout="$T" tunnels/show 2>/dev/null; }
configured() {
    out=$(show) || return 1
    n=$(printf '%s\\n' "$out" | grep -c '^Interface name: .*(CONFIGURED)$')
    [ "$n" -ge "$NPEERS" ] || return 1
    names=$(printf '%s\\n' "$out" | sed -n 's/^ *Remote name: *//p')
    for p in ${peers}; do printf '%s\\n' "$names" | grep -qxF "$p" || return 1; done
    return 0
}
established() {
    configured || return 1
    st=$(ipsec status 2>/dev/null) || return 1
    for p in ${peers}; do printf '%s\\n' "$st" | grep ' ESTABLISHED ' | grep -qF "[$p]" || return 1; done
    [ "$(printf '%s\\n' "$st" | grep -c ' INSTALLED, ')" -ge $((2 * NPEERS)) ]
}
disabled() { [ "$(show)" = ${q(NO_TUNNELS)} ]; }
ready() { case "$MODE" in configured) configured ;; established) established ;; disabled) disabled ;; *) true ;; esac; }
end=$(( $(date +%s) + ${Math.max(0, Math.floor(p.waitSeconds))} ))
while ! ready; do
    [ "$(date +%s)" -lt "$end" ] || break
    sleep 0.2
done
section tunnels
show; tunnels_rc=$?
section ike
ipsec status 2>/dev/null; ike_rc=$?
section facts
echo "tunnels_rc=$tunnels_rc"
echo "ike_rc=$ike_rc"
if monitor_up; then echo monitor_running=1; else echo monitor_running=0; fi
`;
}

export function parseStatusOutput(stdout: string, boundary: string): RawNodeStatus {
    const sections = parseSections(stdout, boundary);
    const facts = parseFacts(sections.get("facts"));
    return {
        tunnelsShow: sections.get("tunnels") ?? "",
        tunnelsShowOk: facts.tunnels_rc === "0",
        ipsecStatus: sections.get("ike") ?? "",
        ipsecStatusOk: facts.ike_rc === "0",
        monitorRunning: facts.monitor_running === "1",
        ikeDaemonRunning: facts.ike_rc === "0",
    };
}
