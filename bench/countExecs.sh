#!/bin/bash
# countExecs.sh LOG TARGET ARGV...
#
# Counts exec round trips for the benchmark. It is put in front of the lab's exec prefix
# (access.prefix = [countExecs.sh, LOG, "{target}", ...lab prefix]), so every exec the
# product or the manual replay makes into a pod runs the real command (same stdin, stdout,
# stderr and exit status) and, when it ends, appends one line to LOG:
#
#     <start epoch ms> <target> <duration ms> <exit status> <kind>
#
# kind: what the script is, from its text (the last argument, after `sh -c`): the product's
# scripts are recognised by what they do (product:apply, product:status, ...); anything else
# (the manual replay's commands) is its first 40 characters, blanks as `_`.
# One short write per line with O_APPEND: lines from parallel execs do not interleave.
# bash, not sh: EPOCHREALTIME and ${!#} avoid forking `date` and a loop on every exec.
set -u
log=$1 target=$2
shift 2
script=${!#}
# The product's scripts all start with its prelude (components/transport/scriptKit.ts).
case $script in
"export LC_ALL=C"*"stop_monitor="*) kind=product:remove ;;
"export LC_ALL=C"*"section started"*) kind=product:apply ;;
"export LC_ALL=C"*"our_files="*) kind=product:node-read ;;
"export LC_ALL=C"*"MODE="*"tunnels/show"*) kind=product:status ;;
"export LC_ALL=C"*"set nb_global . ipsec="*) kind=product:switch-set ;;
"export LC_ALL=C"*"command -v ovn-nbctl"*"get nb_global"*) kind=product:preflight ;;
"export LC_ALL=C"*"get nb_global . ipsec"*) kind=product:switch-read ;;
*)
    kind=${script:0:40}
    kind=${kind//[$'\n\t ']/_}
    ;;
esac
# Not `exec`: the wrapper waits, to log how long the round trip took (~1 ms of bash).
start=${EPOCHREALTIME/./}
"$@"
rc=$?
end=${EPOCHREALTIME/./}
printf '%s %s %s %s %s\n' "${start:0:13}" "$target" $(((end - start) / 1000)) "$rc" "$kind" >>"$log"
exit "$rc"
