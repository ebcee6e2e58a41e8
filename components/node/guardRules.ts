/**
 * The fail-closed guard (failClosed: true): netfilter rules in the node's host network namespace
 * that drop Geneve (UDP 6081) to the other nodes' tunnel addresses when the packet would leave
 * without an IPsec policy (`-m policy --dir out --pol none`). Without it, a node whose IPsec
 * daemons died sends pod traffic in plain text; with it, that traffic is lost instead.
 *
 * The rules live in one chain of our own, replaced atomically (`iptables-restore --noflush`
 * flushes a chain it declares), with exactly one jump from OUTPUT. The addresses are the
 * remote_ip of the node's own Geneve interfaces (set by ovn-controller from the SB Encap table:
 * exactly where this node sends tunnel traffic), each checked to be an IPv4 or IPv6 address
 * before it reaches a rule; anything else is left out and reported.
 */

export const GUARD_CHAIN = "KUBE-OVN-IPSEC-GUARD";
export const GENEVE_PORT = 6081;

/**
 * Shell functions for the guard (need the prelude): `guard_wanted` prints the node's Geneve
 * peers as `4 <addr>` / `6 <addr>` lines (valid addresses only), `guard_install` and
 * `guard_remove` change the rules, `guard_facts` prints what is installed.
 */
export function guardFunctions(): string {
    const jump = `-p udp --dport ${GENEVE_PORT} -j ${GUARD_CHAIN}`;
    return `
GUARD=${GUARD_CHAIN}
ipt() { fam=$1; shift; if [ "$fam" = 6 ]; then bounded 10 ip6tables -w 5 "$@"; else bounded 10 iptables -w 5 "$@"; fi; }
guard_wanted() {
    # JSON (inside CSV) because the bare form cannot tell a key from part of a value: a pair's key
    # opens with [ and a quote, which no value can hold unescaped; a value ends at its first
    # quote (a cut hostile value is still not an address).
    vsctl --no-headings --format=csv --data=json --columns=options find Interface type=geneve 2>/dev/null |
    awk '{ k = index($0, "[\\"\\"remote_ip\\"\\",\\"\\""); if (k == 0) next; v = substr($0, k + 17); e = index(v, "\\"\\""); if (e > 0) v = substr(v, 1, e - 1); print v }' | sort -u |
    awk '
        /^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$/ { n = split($0, o, "."); ok = 1; for (i = 1; i <= n; i++) if (o[i] > 255 || length(o[i]) > 3) ok = 0; if (ok) { print "4 " $0; next } }
        /^[0-9A-Fa-f:]+$/ && /:/ && length($0) <= 39 { print "6 " $0; next }
        { print "x " $0 }
    '
}
guard_install() {
    wanted=$(guard_wanted) || return 1
    for fam in 4 6; do
        addrs=$(printf '%s\\n' "$wanted" | sed -n "s/^$fam //p")
        [ "$fam" = 6 ] && [ -z "$addrs" ] && ! command -v ip6tables >/dev/null 2>&1 && continue
        plen=32; [ "$fam" = 6 ] && plen=128
        rules=$(
            echo '*filter'
            echo ":$GUARD - [0:0]"
            for a in $addrs; do echo "-A $GUARD -d $a/$plen -p udp --dport ${GENEVE_PORT} -m policy --dir out --pol none -j DROP"; done
            echo COMMIT
        )
        if [ "$fam" = 6 ]; then out=$(printf '%s\\n' "$rules" | bounded 10 ip6tables-restore -w 5 --noflush 2>&1); else out=$(printf '%s\\n' "$rules" | bounded 10 iptables-restore -w 5 --noflush 2>&1); fi || fail_cmd install-guard "$out" "loading the $GUARD rules (IPv$fam)"
        if ! ipt "$fam" -C OUTPUT ${jump} 2>/dev/null; then
            out=$(ipt "$fam" -I OUTPUT 1 ${jump} 2>&1) || fail_cmd install-guard "$out" "adding the jump to $GUARD in OUTPUT (IPv$fam)"
        fi
    done
}
guard_remove() {
    for fam in 4 6; do
        if [ "$fam" = 6 ]; then command -v ip6tables >/dev/null 2>&1 || continue; else command -v iptables >/dev/null 2>&1 || continue; fi
        n=0
        while ipt "$fam" -D OUTPUT ${jump} 2>/dev/null; do n=$((n + 1)); [ "$n" -lt 100 ] || break; done
        if ipt "$fam" -S "$GUARD" >/dev/null 2>&1; then
            out=$(ipt "$fam" -F "$GUARD" 2>&1 && ipt "$fam" -X "$GUARD" 2>&1) || fail_cmd remove-guard "$out" "removing the $GUARD chain (IPv$fam)"
        fi
    done
}
guard_facts() {
    if ! command -v iptables >/dev/null 2>&1; then echo guard_tool=0; return 0; fi
    echo guard_tool=1
    jumps=0; chain=0; addrs=''; drops=0
    for fam in 4 6; do
        if [ "$fam" = 6 ]; then command -v ip6tables >/dev/null 2>&1 || continue; fi
        ipt "$fam" -C OUTPUT ${jump} 2>/dev/null && jumps=$((jumps + $(ipt "$fam" -S OUTPUT 2>/dev/null | grep -c -- "-j $GUARD\\$")))
        if listing=$(ipt "$fam" -S "$GUARD" 2>/dev/null); then
            chain=1
            addrs="$addrs $(printf '%s\\n' "$listing" | sed -n "s|^-A $GUARD -d \\([0-9A-Fa-f.:]*\\)/[0-9]* .*|\\1|p" | tr '\\n' ' ')"
            d=$(ipt "$fam" -L "$GUARD" -v -x -n 2>/dev/null | awk 'NR > 2 { s += $1 } END { print s + 0 }')
            drops=$((drops + d))
        fi
    done
    printf 'guard_jumps=%s\\nguard_chain=%s\\nguard_addrs=%s\\nguard_drops=%s\\n' "$jumps" "$chain" "$addrs" "$drops"
    w=$(guard_wanted)
    printf 'guard_wanted=%s\\n' "$(printf '%s\\n' "$w" | sed -n 's/^[46] //p' | tr '\\n' ' ')"
    printf 'guard_invalid=%s\\n' "$(printf '%s\\n' "$w" | sed -n 's/^x //p' | tr -cd '[:print:]\\n' | tr '\\n' '\\t' | head -c 300)"
}
`;
}
