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
# scripts by their label line (product:apply, product:observe:ro, ...); anything else
# (the manual replay's commands) is its first 40 characters, blanks as `_`.
# One short write per line with O_APPEND: lines from parallel execs do not interleave.
# bash, not sh: EPOCHREALTIME and ${!#} avoid forking `date` and a loop on every exec.
set -u
log=$1 target=$2
shift 2
script=${!#}
# The product's scripts all open with a label line (components/transport/scriptKit.ts):
# "# kube-ovn-ipsec script: NAME (read-only|changes the node)". kind: product:NAME, with ":ro"
# for the read-only ones.
case $script in
"# kube-ovn-ipsec script: "*)
    first=${script%%$'\n'*}
    name=${first#"# kube-ovn-ipsec script: "}
    name=${name%% *}
    kind=product:$name
    case $first in *"(read-only)") kind=$kind:ro ;; esac
    ;;
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
