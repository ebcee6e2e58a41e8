#!/bin/sh
# A transport proxy for tests: put it in front of the lab's exec prefix to record every command
# the product runs and to inject transport faults per target.
#   execProxy.sh <dir> <target> <real prefix...> sh -c <script>
# Appends to <dir>/log one "start <ms> <pid> <target> <argv...>" line (newlines in argv shown
# as \n) and one "end <ms> <pid> <rc>" line. If <dir>/fault-<target> exists, its first word
# decides: "hang" never answers, "unreachable" fails like an ssh that cannot connect.
dir=$1; target=$2; shift 2
now() { date +%s%3N; }
args=$(printf '%s ' "$@" | awk 'BEGIN { ORS = "\\n" } { print }')
# printf, not echo: dash's echo would turn the \n we wrote back into newlines.
printf 'start %s %s %s %s\n' "$(now)" "$$" "$target" "$args" >> "$dir/log"
fault=$(cat "$dir/fault-$target" 2>/dev/null | awk '{ print $1; exit }')
case "$fault" in
    hang) exec sleep 3600 ;;
    unreachable)
        echo "ssh: connect to host $target port 22: Connection refused" >&2
        echo "end $(now) $$ 255" >> "$dir/log"
        exit 255 ;;
esac
"$@"
rc=$?
echo "end $(now) $$ $rc" >> "$dir/log"
exit "$rc"
