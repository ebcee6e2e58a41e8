#!/bin/sh
# A transport proxy for tests: put it in front of the lab's exec prefix to record every command
# the product runs and to inject transport faults per target.
#   execProxy.sh <dir> <target> <real prefix...> sh -c <script>
# Appends to <dir>/log one "start <ms> <pid> <target> <argv...>" line (newlines in argv shown
# as \n) and one "end <ms> <pid> <rc>" line. If <dir>/fault-<target> exists, its first word
# decides: "hang" never answers, "unreachable" fails like an ssh that cannot connect,
# "cutstdin" passes on only the first 200 bytes of stdin (a transport that cut it short),
# "nodac" runs the command without CAP_DAC_OVERRIDE (root then obeys file modes),
# "dropoutput-once" runs the next command to its end but loses its output and fails like a
# dropped connection (exit 255), then the fault is gone; "unreachable-apply" is "unreachable"
# for the apply script only (a node lost between two stages of one run).
dir=$1; target=$2; shift 2
now() { date +%s%3N; }
args=$(printf '%s ' "$@" | awk 'BEGIN { ORS = "\\n" } { print }')
# printf, not echo: dash's echo would turn the \n we wrote back into newlines.
# One writer at a time: a start line holds the whole script (tens of KB), which the shell writes
# in several chunks, so two commands starting together would interleave them and lose both.
logline() { { flock 8; printf '%s\n' "$1" >> "$dir/log"; } 8>>"$dir/log.lock"; }
logline "start $(now) $$ $target $args"
fault=$(cat "$dir/fault-$target" 2>/dev/null | awk '{ print $1; exit }')
case "$fault" in
    unreachable-apply)
        case "$args" in *"kube-ovn-ipsec script: apply "*) fault=unreachable ;; esac ;;
esac
case "$fault" in
    hang) exec sleep 3600 ;;
    unreachable)
        echo "ssh: connect to host $target port 22: Connection refused" >&2
        logline "end $(now) $$ 255"
        exit 255 ;;
    cutstdin)
        head -c 200 | "$@"
        rc=$? ;;
    nodac)
        setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-dac_override,-dac_read_search -- "$@"
        rc=$? ;;
    dropoutput-once)
        rm -f "$dir/fault-$target"
        "$@" >/dev/null 2>&1
        echo "client_loop: send disconnect: Broken pipe" >&2
        logline "end $(now) $$ 255"
        exit 255 ;;
    *)
        "$@"
        rc=$? ;;
esac
logline "end $(now) $$ $rc"
exit "$rc"
