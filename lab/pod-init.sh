#!/bin/bash
# pod-init.sh - PID 1 of one kube-ovn-ipsec lab "pod".
#
# lab.sh starts it as
#   nsenter --net=/run/netns/koi-<target> -- unshare --mount --uts --pid --fork \
#       --kill-child --mount-proc --propagation private -- \
#       pod-init.sh <pod-dir> <hostname> <address/prefix> <ns-handle-dir> [<last-pid>] \
#       3><ready-fifo>
# so it already runs in the pod's network namespace and in fresh, private mount, UTS and
# PID namespaces (with a /proc that shows only the pod's processes).  It
#   1. drops mounts inherited from the host that would pin other pods' namespaces,
#   2. makes the pod look like a container: its own /sys, hostname, address, and per-pod
#      directories bind-mounted over the paths OVS, OVN and strongSwan write to,
#   3. reports "ready" on fd 3, then stays as PID 1: it reaps orphaned daemons and, on
#      SIGTERM, stops everything in the pod before exiting.
# Nothing here changes the host: every mount happens in the pod's own mount namespace.
# Every pod starts at once, so this runs few processes (one umount, one mount, one ip).
set -euo pipefail

pod_dir=$1 host=$2 addr=$3 ns_dir=$4 last_pid=${5:-0}
root=$pod_dir/root

log() { printf '[pod-init %s %(%T)T] %s\n' "$host" -1 "$*" >&2; }

# --- 0. A restarted pod continues the pid numbers of the one it replaces.
# Kube-OVN's ovs-ovn pod has hostPID: a restarted container's daemons never get the pids
# of the dead ones, whose pidfiles stay behind in the host-mounted /var/run/openvswitch.
# A fresh PID namespace would count from 1 again and hand those very numbers to other
# processes, so `kill -0 $(cat ovs-monitor-ipsec.pid)` would see a dead daemon "running".
if ((last_pid > 0)); then echo "$last_pid" >/proc/sys/kernel/ns_last_pid; fi

# --- 1. Forget what must not be shared.
# Our mount namespace started as a copy of the host's, including the bind mounts that keep
# the other pods' namespaces alive (/run/netns/koi-*, the lab's ns handles).  A copy here
# would keep a removed pod's network namespace (and its veth on the lab bridge) alive for
# as long as this pod lives, so detach them; propagation is private, so the host keeps
# its own.  /sys goes too: sysfs shows the network namespace of whoever mounted it.
# A lazy unmount detaches a whole subtree, so only the topmost mount points are needed.
drop=(/sys)
while read -r _ _ _ _ mp _; do
    case $mp in /run/netns | /run/netns/* | "$ns_dir" | "$ns_dir"/*) ;; *) continue ;; esac
    for d in "${drop[@]}"; do [[ $mp == "$d"/* ]] && continue 2; done
    drop+=("$mp")
done < <(sort /proc/self/mountinfo -k5,5)
umount -l "${drop[@]}"

# --- 2. Look like a container.
echo "$host" >/proc/sys/kernel/hostname
# Kube-OVN pods here are IPv4 only; no IPv6 also means no DAD and no router solicitations.
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
# (replace: a restarted pod finds its network namespace, address included, as it was)
ip -batch - <<EOF
link set lo up
addr replace $addr dev eth0
link set eth0 up
EOF

# A fresh sysfs (now showing this netns: the netdev datapath reads /sys/class/net), and
# per-pod copies of every path the daemons write to, so that the stock tools work with
# their default paths, as in a Kube-OVN container, without seeing the other pods.  One
# `mount -a` over a generated fstab.  The one target that contains the pod directory
# (e.g. /run for the default state dir /run/kube-ovn-ipsec-lab) comes last: once it is
# covered, the later sources would no longer be reachable.  Targets never nest.
fstab=$pod_dir/fstab
targets=(/var/log /etc/openvswitch /etc/ovn /var/lib/openvswitch /var/lib/ovn
    /var/lib/strongswan /etc/ipsec.d /etc/strongswan.d /etc/ipsec.conf /etc/ipsec.secrets
    /root /tmp /run)
last=
{
    echo "sysfs /sys sysfs nosuid,nodev,noexec 0 0"
    for t in "${targets[@]}"; do
        [[ -e $root$t ]] || continue
        if [[ $root == "$t"/* ]]; then last=$t; continue; fi
        echo "$root$t $t none bind 0 0"
    done
    if [[ -n $last ]]; then echo "$root$last $last none bind 0 0"; fi
} >"$fstab"
mount -a -T "$fstab"
cd /

# --- 3. Ready; stay as PID 1.
stop() {
    trap - TERM INT
    # As PID 1, "kill -1" reaches every other process of this pod and nothing else.
    kill -TERM -1 2>/dev/null || true
    # Give the daemons a moment to exit cleanly (bash reaps them as they go); whatever is
    # left is SIGKILLed by the kernel when PID 1 exits.
    local deadline=$((${EPOCHREALTIME/./} + 3000000))
    while kill -0 -1 2>/dev/null && ((${EPOCHREALTIME/./} < deadline)); do
        sleep 0.05
    done
    exit 0
}
trap stop TERM INT

log "ready"
echo ready >&3
exec 3>&-

# bash as PID 1 reaps every orphan (daemons double-fork and end up as our children)
while :; do
    sleep infinity &
    wait $! || true
done
