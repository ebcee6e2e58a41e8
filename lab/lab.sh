#!/usr/bin/env bash
# lab.sh - a local Kube-OVN-like cluster for kube-ovn-ipsec: real Open vSwitch, OVN,
# ovs-monitor-ipsec and strongSwan (Debian packages), one "pod" per node.
#
#   npm run lab -- <command>      (or: bash lab/lab.sh <command>; run as root)
#
#   install                     apt-get install the Debian packages (no-op when present)
#   up [--nodes N]              start ovn-central + N node pods (default 3, 1..8)
#   down                        stop everything the lab started and remove its state
#   status [--json]             show the lab (--json: one JSON object on stdout)
#   add-node                    add the next node (kube-ovn-worker<k>), max 8 nodes
#   remove-node NAME            stop a node, delete its chassis, drop its state
#   restart-pod NAME            what a restart of a node's ovs-ovn container does: every
#                               process killed, container-local paths reset, host paths and
#                               the network namespace kept; OVS and OVN start again, IPsec not
#   reboot-node NAME            the same plus a fresh network namespace and an empty /run
#   exec TARGET -- CMD...       run CMD in a pod (TARGET: a node name or ovn-central)
#   kubeconfig                  start the Kubernetes API stand-in for the lab (lab/kubeApi,
#                               stopped by down) and write its kubeconfig and
#                               stacks/Pulumi.lab-kubectl.yaml (kubectl access)
#   help                        this text
#
# Env: KOI_LAB_DIR      state directory (default /run/kube-ovn-ipsec-lab)
#      KOI_LAB_VERBOSE  1 = log the time of each step
#
# Design (details in lab/README.md):
#  * A pod = its own network namespace /run/netns/koi-<target> (eth0 = veth into a Linux
#    bridge living in the netns koi-bridge; 10.213.0.0/24 exists only inside the lab) plus
#    its own mount, UTS and PID namespaces whose PID 1 is lab/pod-init.sh.  Per-pod
#    directories are bind-mounted over /run, /var/log, /etc/openvswitch, ... so the stock
#    tools work with their default paths, as in Kube-OVN's ovs-ovn / ovn-central pods.
#  * Those namespaces are pinned by bind mounts under $KOI_LAB_DIR/ns/<target>/, so one
#    fixed argv prefix (no pids) reaches a pod: it is what `exec` uses and what the lab
#    writes into stacks/Pulumi.lab.yaml for the product's "command" transport.
#  * Only what the lab started is ever stopped (pids verified through /proc/<pid>/cmdline)
#    and only its own koi-* namespaces and mounts are removed.
#  * Hot paths (status, exec, the health check of a repeated `up`) avoid forks: plain
#    bash reads of /proc and of the state dir, results returned in variables.
set -euo pipefail
shopt -s nullglob

# Close every file descriptor inherited beyond stdio (bash keeps the script on 255): the
# pods' daemons would hold them for as long as they live.  One of them is the lock of
# `flock LOCK bash lab/lab.sh up`, which then stayed locked until the lab went down.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if ((fd > 2 && fd != 255)); then exec {fd}>&-; fi
done
unset fd

# A fixed, minimal environment: the lab must not pick up pyenv shims, npm's PATH, etc.
# (The caller's PATH is kept only to find node for the API stand-in.)
CALLER_PATH=$PATH
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
CLEAN_PATH=$PATH
T0=${EPOCHREALTIME/./}

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=${LAB_DIR%/*}
STACK_FILE=$REPO_DIR/stacks/Pulumi.lab.yaml
KUBECTL_STACK_FILE=$REPO_DIR/stacks/Pulumi.lab-kubectl.yaml
KUBE_API_MAIN=$LAB_DIR/kubeApi/main.ts
POD_INIT=$LAB_DIR/pod-init.sh
POD_SERVICES=$LAB_DIR/pod-services.sh

STATE=${KOI_LAB_DIR:-/run/kube-ovn-ipsec-lab}
STATE=${STATE%/}
NS_DIR=$STATE/ns     # private tmpfs holding the namespace handles
PODS_DIR=$STATE/pods # one directory per pod: pid files, logs, root/ (the bind sources)
MARKER=$STATE/.kube-ovn-ipsec-lab
KUBE_API_DIR=$STATE/kube-api # the API stand-in: pid, kubeconfig, requests.log, log
KUBE_CONTEXT=kube-ovn-ipsec-lab
# Network namespace names are global, so there is one lab per machine: one global lock.
LOCK_FILE=/run/lock/kube-ovn-ipsec-lab.lock

BRIDGE_NS=koi-bridge
BRIDGE_DEV=br0 # the lab's Linux bridge, in $BRIDGE_NS: where tests watch the wire
SUBNET=10.213.0 # a /24 that exists only inside the lab's namespaces
CENTRAL=ovn-central
MAX_NODES=8
DEFAULT_NODES=3
# The Kube-OVN release the lab stands in for (test/support/lab.ts says the same).
KUBE_OVN_VERSION=v1.12.35

# iptables (the ovs-ovn image ships it) for the fail-closed guard; tcpdump to see on the
# lab bridge whether a datagram left a node (in plain text)
PKGS=(openvswitch-switch openvswitch-common openvswitch-pki openvswitch-ipsec
    ovn-central ovn-host strongswan libstrongswan-standard-plugins iptables tcpdump)

# Nodes are named like a kind cluster's.  Slot k (1..8; central is 0) fixes a pod's name,
# address (10.213.0.1<k>), eth0's MAC (02:00 + the address in hex: a rebooted node keeps
# its NIC, so its peers' ARP entries stay right) and bridge-side veth (koi-p<k>: IFNAMSIZ
# is 15, names are not).
NODE_NAMES=(kube-ovn-control-plane kube-ovn-worker)
for ((k = 2; k < MAX_NODES; k++)); do NODE_NAMES+=("kube-ovn-worker$k"); done
declare -A SLOT=([$CENTRAL]=0) IP VETH MAC
for ((k = 1; k <= MAX_NODES; k++)); do SLOT[${NODE_NAMES[k - 1]}]=$k; done
for t in "${!SLOT[@]}"; do
    IP[$t]=$SUBNET.$((10 + SLOT[$t]))
    VETH[$t]=koi-p${SLOT[$t]}
    printf -v 'MAC[$t]' '02:00:0a:d5:00:%02x' $((10 + SLOT[$t]))
done

# What a node pod keeps when Kube-OVN restarts its ovs-ovn container or the node reboots,
# from the DaemonSet's hostPath volumes (Kube-OVN v1.12 charts/kube-ovn/templates/
# ovsovn-ds.yaml; table and reasons in lab/README.md).  Paths relative to the pod root.
#   host disk (/etc/origin/openvswitch, /etc/origin/ovn, the log dirs): kept by both
HOST_DISK_PATHS=(etc/openvswitch etc/ovn var/log/openvswitch var/log/ovn)
#   host /run (/run/openvswitch, /run/ovn): kept by a restart; /run is a tmpfs, so a reboot
#   empties them
HOST_RUN_PATHS=(run/openvswitch run/ovn)
# Everything else under the pod root is container-local: back to the image's content on
# every container start (prep_pod_dir makes that content).
CENTRAL_IP=${IP[$CENTRAL]}

# The argv prefix that runs a command inside pod {target} (the product substitutes the
# placeholder textually and appends `sh -c <script>`).  nsenter opens every namespace file
# before entering any of them, so all paths are host paths.  Entering a PID namespace
# makes nsenter fork: the command is a real member of the pod (ps shows the pod's
# processes, daemons it starts are adopted by the pod's PID 1) and nsenter passes its
# exit status back.  `env -i` drops the caller's environment; `-C /root` starts in the
# pod's private home, because setns() into a mount namespace leaves the cwd at "/",
# which is the host's, and tools like `ovs-pki req` write into the cwd.
PREFIX=(nsenter "--net=/run/netns/koi-{target}" "--mount=$NS_DIR/{target}/mnt"
    "--uts=$NS_DIR/{target}/uts" "--pid=$NS_DIR/{target}/pid" --
    env -i -C /root "PATH=$CLEAN_PATH" HOME=/root LANG=C.UTF-8)

# ------------------------------------------------------------------------------ helpers
log() { printf '[lab %(%T)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
elapsed() { # elapsed T0_US -> ELAPSED="1.23"
    local d=$((${EPOCHREALTIME/./} - $1))
    printf -v ELAPSED '%d.%02d' $((d / 1000000)) $((d % 1000000 / 10000))
}
step() { if [[ ${KOI_LAB_VERBOSE:-} == 1 ]]; then elapsed "$T0"; log "+${ELAPSED}s $*"; fi; }
need_root() { [[ $EUID -eq 0 ]] || die "the lab needs root (namespaces, mounts, veths)"; }

# The state dir ends up in argv prefixes, JSON, YAML and mount tables: keep it to a safe
# character set so that none of them needs escaping, and never a system directory.
[[ $STATE =~ ^/[A-Za-z0-9._/-]+$ && $STATE != *..* && $STATE != */./* ]] ||
    die "KOI_LAB_DIR must be an absolute path of [A-Za-z0-9._/-] characters (got '$STATE')"
case $STATE in / | /run | /tmp | /var | /var/run | /var/lib | /etc | /root | /usr | /home)
    die "KOI_LAB_DIR=$STATE is not a dedicated directory" ;;
esac

# the prefix as a JSON array / YAML flow sequence (every element is in a safe charset)
PREFIX_JSON=
for e in "${PREFIX[@]}"; do PREFIX_JSON+=${PREFIX_JSON:+, }\"$e\"; done
PREFIX_JSON="[$PREFIX_JSON]"

# wait_until SECONDS DESCRIPTION CMD... : poll CMD every 50 ms until it succeeds
wait_until() {
    local secs=$1 what=$2 deadline
    deadline=$((${EPOCHREALTIME/./} + secs * 1000000))
    shift 2
    until "$@"; do
        if ((${EPOCHREALTIME/./} >= deadline)); then
            log "timed out after ${secs}s waiting for $what"
            return 1
        fi
        sleep 0.05
    done
}

# Serialise commands that change the lab.  The lock is fd 9: every command that starts a
# long-lived process closes it (`9>&-`), or a daemon would hold the lock forever.
take_lock() {
    mkdir -p "${LOCK_FILE%/*}"
    exec 9>"$LOCK_FILE"
    flock -w 120 9 || die "another lab command holds $LOCK_FILE"
}

# NODES=(node names present in the state dir, in slot order)
load_nodes() {
    local n
    NODES=()
    for n in "${NODE_NAMES[@]}"; do
        if [[ -d $PODS_DIR/$n ]]; then NODES+=("$n"); fi
    done
}

# ------------------------------------------------------------------------------ processes
# is_pod_proc PID TARGET: PID is this lab's pod-init.sh for TARGET, or the unshare that
# runs it, judged by its command line (".../pod-init.sh <state>/pods/<target> ...").
is_pod_proc() {
    local dir=$PODS_DIR/$2 i
    local -a argv
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    mapfile -d '' argv 2>/dev/null <"/proc/$1/cmdline" || return 1
    for ((i = 0; i + 1 < ${#argv[@]}; i++)); do
        if [[ ${argv[i]} == */pod-init.sh && ${argv[i + 1]} == "$dir" ]]; then return 0; fi
    done
    return 1
}
# alive PID: exists and is not a zombie (an exited unshare of the lab stays a zombie until
# its parent, by then the host's init, reaps it)
alive() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}
none_alive() {
    local p
    for p; do if alive "$p"; then return 1; fi; done
}
# pod_pid1 TARGET: PID1=host pid of the pod's PID 1, if it is alive and really ours
pod_pid1() {
    local p
    PID1=
    read -r p 2>/dev/null <"$PODS_DIR/$1/pid1" || return 1
    if alive "$p" && is_pod_proc "$p" "$1"; then PID1=$p; else return 1; fi
}
# pod_ok TARGET: PID 1 alive and the namespace handles pin *its* namespaces
pod_ok() {
    local n
    pod_pid1 "$1" || return 1
    for n in mnt uts pid; do
        [[ /proc/$PID1/ns/$n -ef $NS_DIR/$1/$n ]] || return 1
    done
    [[ /proc/$PID1/ns/net -ef /run/netns/koi-$1 ]]
}

# mount points at or below DIR in the host mount namespace, deepest first
mounts_under() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# ------------------------------------------------------------------------------ run in a pod
# pod_argv TARGET: POD_ARGV=the exec prefix with {target} replaced
pod_argv() { POD_ARGV=("${PREFIX[@]//"{target}"/$1}"); }
# px TARGET CMD... : run CMD in the pod through the very prefix the product uses
px() {
    local -a POD_ARGV
    pod_argv "$1"
    shift
    "${POD_ARGV[@]}" "$@" 9>&-
}

# svc TARGET ARGS...: run pod-services.sh ARGS inside the pod (passed as text: the pod may
# not see the repository, e.g. when it lives under /root, which is per pod)
svc() {
    local t=$1
    shift
    if [[ -z ${SERVICES_SH:-} ]]; then
        IFS= read -r -d '' SERVICES_SH <"$POD_SERVICES" || true
    fi
    px "$t" bash -c "$SERVICES_SH" pod-services.sh "$@"
}

# ------------------------------------------------------------------------------ checks
check_tools() {
    local t missing=()
    for t in nsenter unshare setsid ip pgrep flock awk ovs-vsctl ovs-appctl ovs-vswitchd \
        ovsdb-server ovsdb-tool ovn-nbctl ovn-sbctl ovn-controller ovn-northd ovs-pki ipsec \
        service python3 iptables; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    for t in /usr/share/openvswitch/scripts/ovs-ctl /usr/share/ovn/scripts/ovn-ctl \
        /usr/share/openvswitch/scripts/ovs-monitor-ipsec \
        /etc/init.d/openvswitch-ipsec /etc/init.d/ipsec; do
        [[ -x $t ]] || missing+=("$t")
    done
    for t in /etc/ipsec.d /etc/strongswan.d /etc/ipsec.conf /etc/ipsec.secrets /var/lib/strongswan; do
        [[ -e $t ]] || missing+=("$t")
    done
    ((${#missing[@]} == 0)) || die "missing: ${missing[*]} -- run: npm run lab -- install"
}

# ------------------------------------------------------------------------------ network
# plug_pods [--with-bridge] TARGETS...: a network namespace per pod, with eth0 = a veth
# into the lab bridge (and the bridge's own namespace first, with --with-bridge).  One
# `ip -batch` per side; pod-init.sh configures the pod end (address, IPv6 off, up).
plug_pods() {
    local t adds='' links=''
    if [[ $1 == --with-bridge ]]; then
        shift
        adds="netns add $BRIDGE_NS"$'\n'
        # no STP on the bridge: a port forwards as soon as it is up
        links="link set lo up"$'\n'"link add $BRIDGE_DEV type bridge stp_state 0"$'\n'"link set $BRIDGE_DEV up"$'\n'
    fi
    for t; do
        adds+="netns add koi-$t"$'\n'
        links+="link add ${VETH[$t]} type veth peer name eth0 address ${MAC[$t]} netns koi-$t"$'\n'
        links+="link set ${VETH[$t]} master $BRIDGE_DEV up"$'\n'
    done
    ip -batch - <<<"$adds"
    if [[ $adds == "netns add $BRIDGE_NS"* ]]; then
        # no IPv6 anywhere in the lab (no router solicitations, no DAD)
        nsenter --net="/run/netns/$BRIDGE_NS" sh -c \
            'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
    fi
    ip -n "$BRIDGE_NS" -batch - <<<"$links"
}

# ------------------------------------------------------------------------------ pods
prep_pod_dir() { # prep_pod_dir TARGET
    local t=$1 r=$PODS_DIR/$1/root
    # the sources of the bind mounts pod-init.sh makes (see its list of targets)
    mkdir -p "$r"/run/lock "$r"/run/openvswitch "$r"/run/ovn "$r"/var/log/openvswitch \
        "$r"/var/log/ovn "$r"/etc/openvswitch "$r"/etc/ovn "$r"/var/lib/openvswitch \
        "$r"/var/lib/ovn "$r"/root "$r"/tmp
    chmod 1777 "$r/tmp"
    chmod 700 "$r/root"
    [[ $t != "$CENTRAL" ]] || return 0
    # strongSwan and ovs-monitor-ipsec write these: pristine per-pod copies of the host's
    mkdir -p "$r/var/lib/strongswan"
    cp -a /etc/ipsec.d /etc/strongswan.d /etc/ipsec.conf /etc/ipsec.secrets "$r/etc/"
    # charon logs only to syslog by default, and there is no syslog in a pod
    cat >"$r/etc/strongswan.d/zz-koi-lab-filelog.conf" <<'EOF'
# added by the kube-ovn-ipsec lab: charon logs only to syslog by default
charon {
    filelog {
        lab {
            path = /var/log/charon.log
            time_format = %F %T
            default = 1
            ike = 2
            knl = 2
            cfg = 1
            flush_line = yes
        }
    }
}
EOF
}

# start_pod TARGET [LAST_PID]: namespaces + PID 1, then pin mnt/uts/pid under
# $NS_DIR/TARGET.  LAST_PID: the pod's pids start above it (see pod-init.sh).
start_pod() {
    local t=$1 dir=$PODS_DIR/$1 last=${2:-0} fifo line u p1 n
    fifo=$dir/ready.fifo
    rm -f "$fifo"
    mkfifo -m 600 "$fifo"
    # setsid: the pod must not share the caller's session and process group (a terminal
    # or a test runner signalling "its" group would kill the lab).  In a non-interactive
    # script a background job is never a group leader, so setsid does not fork and $! is
    # the unshare process, which waits for the pod's PID 1.
    setsid nsenter --net="/run/netns/koi-$t" -- \
        unshare --mount --uts --pid --fork --kill-child --mount-proc --propagation private -- \
        "$POD_INIT" "$dir" "$t" "${IP[$t]}/24" "$NS_DIR" "$last" \
        </dev/null >>"$dir/pod-init.log" 2>&1 3>"$fifo" 9>&- &
    u=$!
    # pod-init.sh writes "ready" into the FIFO; EOF (it died) or a timeout is a failure
    if ! read -r -t 15 line <"$fifo" || [[ $line != ready ]]; then
        die "pod $t did not start: $(tail -n 5 "$dir/pod-init.log")"
    fi
    rm -f "$fifo"
    p1=$(pgrep -P "$u") || true
    if ! is_pod_proc "$u" "$t" || ! is_pod_proc "$p1" "$t"; then
        die "pod $t: cannot identify its PID 1 (unshare pid $u)"
    fi
    echo "$u" >"$dir/unshare.pid"
    echo "$p1" >"$dir/pid1"
    mkdir -p "$NS_DIR/$t"
    for n in mnt uts pid; do
        : >"$NS_DIR/$t/$n"
        mount --bind "/proc/$p1/ns/$n" "$NS_DIR/$t/$n"
    done
}

central_ready() { # NB and SB answer on their TCP remotes
    px "$CENTRAL" sh -c "ovn-nbctl --db=tcp:$CENTRAL_IP:6641 --timeout=2 get NB_Global . ipsec &&
        ovn-sbctl --db=tcp:$CENTRAL_IP:6642 --timeout=2 list SB_Global" >/dev/null 2>&1
}
start_central() {
    local dir=$PODS_DIR/$CENTRAL
    start_pod "$CENTRAL"
    step "$CENTRAL: pod ready"
    svc "$CENTRAL" central "$CENTRAL_IP" >>"$dir/start.log" 2>&1 ||
        die "ovn-central failed to start: $(tail -n 5 "$dir/start.log")"
    wait_until 20 "OVN NB/SB on $CENTRAL_IP" central_ready || die "ovn-central does not answer"
    : >"$STATE/central.ready"
    step "$CENTRAL: NB/SB/northd ready"
}

# start_node NAME [LAST_PID]: OVS + ovn-controller.  The IPsec services (openvswitch-ipsec
# and strongSwan) are installed but NOT started, as in a Kube-OVN ovs-ovn pod (its
# start-ovs.sh never starts them): starting them is the product's job.  A node that
# already has a conf.db (restart-pod, reboot-node) keeps it and its system-id.
start_node() {
    local t=$1 dir=$PODS_DIR/$1 sid old=''
    read -r old 2>/dev/null <"$dir/system-id" || true
    start_pod "$t" "${2:-0}"
    step "$t: pod ready"
    sid=$(svc "$t" node "$t" "${IP[$t]}" "$CENTRAL_IP" 2>>"$dir/start.log") ||
        die "$t: OVS failed to start: $(tail -n 5 "$dir/start.log")"
    [[ $sid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
        die "$t: unexpected system-id '$sid'"
    [[ -z $old || $sid == "$old" ]] || die "$t: system-id changed from $old to $sid"
    echo "$sid" >"$dir/system-id"
    step "$t: OVS ready"
    # ovn-controller backs off (1 s, 2 s, 4 s...) while the SB is unreachable: start it
    # once ovn-central answers, so that the mesh forms at once
    wait_until 30 "ovn-central" test -e "$STATE/central.ready" || die "$t: ovn-central never became ready"
    svc "$t" controller >>"$dir/start.log" 2>&1 ||
        die "$t: ovn-controller failed to start: $(tail -n 5 "$dir/start.log")"
    step "$t: ovn-controller started"
}

# node_tunnels NODE: TUNNELS=(remote_ip of each geneve interface of the node)
node_tunnels() {
    local out re='remote_ip="?([0-9.]+)'
    TUNNELS=()
    out=$(px "$1" ovs-vsctl --timeout=2 --bare --columns=options find Interface type=geneve 2>/dev/null) || return 1
    while [[ $out =~ $re ]]; do
        TUNNELS+=("${BASH_REMATCH[1]}")
        out=${out#*"${BASH_REMATCH[0]}"}
    done
}
# node_mesh_ok NODE PEER_IP...: the node has exactly one tunnel to each peer, no other
node_mesh_ok() {
    local ip
    node_tunnels "$1" || return 1
    shift
    ((${#TUNNELS[@]} == $#)) || return 1
    for ip; do [[ " ${TUNNELS[*]} " == *" $ip "* ]] || return 1; done
}
# mesh_ok NODES...: every listed node has a geneve tunnel to each other one and no other
# (nodes are checked in parallel)
mesh_ok() {
    local t o p rc=0 pids=()
    local -a peers
    for t; do
        peers=()
        for o; do if [[ $o != "$t" ]]; then peers+=("${IP[$o]}"); fi; done
        node_mesh_ok "$t" "${peers[@]}" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return "$rc"
}
# node_live NODE PEER_IP...: the node's ovn-controller is connected to the SB and its
# ovs-vswitchd runs a geneve port to each peer.  Both are live state: after a restart the
# tunnel rows are already in conf.db, so mesh_ok alone would pass at once.
node_live() {
    local out ip
    out=$(px "$1" sh -c 'ovn-appctl --timeout=2 -t ovn-controller connection-status &&
        ovs-appctl --timeout=2 ofproto/list-tunnels' 2>/dev/null) || return 1
    [[ $out == connected$'\n'* ]] || return 1
    shift
    for ip; do [[ $out == *"->$ip,"* ]] || return 1; done
}
# sb_chassis_are SYSTEM-ID...: the SB holds exactly these chassis
sb_chassis_are() {
    local out n=0 sid
    out=$(px "$CENTRAL" ovn-sbctl --timeout=2 --bare --columns=name list Chassis 2>/dev/null) || return 1
    for sid in $out; do
        [[ " $* " == *" $sid "* ]] || return 1
        n=$((n + 1))
    done
    ((n == $#))
}
# wait_mesh NODES...: first until the SB lists exactly their chassis (one process per
# poll), then until their tunnels are exactly right (one per node and poll)
wait_mesh() {
    local t sid sids=()
    for t; do
        read -r sid <"$PODS_DIR/$t/system-id"
        sids+=("$sid")
    done
    if ! wait_until 60 "the chassis of $* in the OVN SB" sb_chassis_are "${sids[@]}" ||
        ! wait_until 30 "the geneve mesh between $*" mesh_ok "$@"; then
        die "geneve mesh incomplete; logs under $PODS_DIR/<node>/root/var/log"
    fi
    step "geneve mesh complete ($# nodes)"
}

# stop_pods TARGETS...: SIGTERM each pod's PID 1 (pod-init.sh stops the pod's processes;
# the kernel kills whatever is left when it exits); SIGKILL after a grace period.  A pod
# whose PID 1 is not on record (a lab command killed while starting it) is found by its
# command line instead.
stop_pods() {
    local t p pids=() strays=()
    for t; do
        if pod_pid1 "$t"; then
            kill -TERM "$PID1" 2>/dev/null || true
            pids+=("$PID1")
        else
            for p in /proc/[0-9]*; do
                p=${p#/proc/}
                if is_pod_proc "$p" "$t" && alive "$p"; then strays+=("$p"); fi
            done
        fi
    done
    if ((${#strays[@]})); then
        log "killing unrecorded processes of the lab: ${strays[*]}"
        kill -KILL "${strays[@]}" 2>/dev/null || true
        pids+=("${strays[@]}")
    fi
    if ((${#pids[@]})) && ! wait_until 6 "pods to stop" none_alive "${pids[@]}"; then
        for t; do if pod_pid1 "$t"; then kill -KILL "$PID1" 2>/dev/null || true; fi; done
        wait_until 5 "pods to die" none_alive "${pids[@]}" || die "pods did not exit: ${pids[*]}"
    fi
    # unshare, the parent of PID 1, exits with its child; a stuck one is ours to end
    for t; do
        read -r p 2>/dev/null <"$PODS_DIR/$t/unshare.pid" || continue
        if alive "$p" && is_pod_proc "$p" "$t"; then kill -KILL "$p" 2>/dev/null || true; fi
    done
    step "stopped: $*"
}

# release_pod TARGET: after stop_pods, drop its namespace handles and network namespace
release_pod() {
    local t=$1 m
    while read -r m; do umount "$m"; done < <(mounts_under "$NS_DIR/$t")
    rm -rf "${NS_DIR:?}/$t"
    if [[ -e /run/netns/koi-$t ]]; then
        # delete the veth explicitly: a netns is destroyed asynchronously, and the
        # bridge-side name must be free at once for a node re-added in the same slot
        ip -n "$BRIDGE_NS" link del "${VETH[$t]}" 2>/dev/null || true
        ip netns del "koi-$t"
    fi
}

# prune_except DIR REL KEEP: delete every entry of DIR (REL: DIR below the pod root) that
# is neither listed in KEEP (" a b/c ") nor a directory above a listed path; descend into
# the latter.  Only the lab's own pod directories are ever passed here.
prune_except() {
    local dir=$1 rel=$2 keep=$3 e name gone=()
    for e in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
        name=${rel:+$rel/}${e##*/}
        if [[ $keep == *" $name "* ]]; then continue; fi
        if [[ $keep == *" $name/"* && -d $e && ! -L $e ]]; then
            prune_except "$e" "$name" "$keep"
        else
            gone+=("$e")
        fi
    done
    if ((${#gone[@]})); then rm -rf --one-file-system "${gone[@]}"; fi
}

# reset_pod_fs NODE restart|reboot: the pod's files as a new ovs-ovn container finds them
# (its PID 1 must be dead): container-local paths back to the image's content, host paths
# kept, and for a reboot the host's /run dirs emptied (a tmpfs)
reset_pod_fs() {
    local r=$PODS_DIR/$1/root d
    prune_except "$r" "" " ${HOST_DISK_PATHS[*]} ${HOST_RUN_PATHS[*]} "
    if [[ $2 == reboot ]]; then
        for d in "${HOST_RUN_PATHS[@]}"; do prune_except "$r/$d" "$d" " "; done
    fi
    prep_pod_dir "$1"
}

# ------------------------------------------------------------------------------ API stand-in
# is_kube_api_proc PID: PID is this lab's API stand-in (node ... .../kubeApi/main.ts <state>)
is_kube_api_proc() {
    local i
    local -a argv
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    mapfile -d '' argv 2>/dev/null <"/proc/$1/cmdline" || return 1
    for ((i = 0; i + 1 < ${#argv[@]}; i++)); do
        if [[ ${argv[i]} == "$KUBE_API_MAIN" && ${argv[i + 1]} == "$STATE" ]]; then return 0; fi
    done
    return 1
}
# kube_api_pid: KUBE_API_PID=pid of the running stand-in, if any
kube_api_pid() {
    local p
    KUBE_API_PID=
    read -r p 2>/dev/null <"$KUBE_API_DIR/pid" || return 1
    if alive "$p" && is_kube_api_proc "$p"; then KUBE_API_PID=$p; else return 1; fi
}
# stop_kube_api: SIGTERM the stand-in (it closes its connections and exits), SIGKILL if it lingers
stop_kube_api() {
    kube_api_pid || return 0
    kill -TERM "$KUBE_API_PID" 2>/dev/null || true
    if ! wait_until 5 "the API stand-in to stop" none_alive "$KUBE_API_PID"; then
        kill -KILL "$KUBE_API_PID" 2>/dev/null || true
    fi
    rm -f "$KUBE_API_DIR/pid"
    step "API stand-in stopped"
}
# start_kube_api: the stand-in as a background process of the lab (setsid: a caller's signal
# to its process group does not stop it); it says "ready <url>" on fd 3 once it serves
start_kube_api() {
    local node fifo line p
    node=$(PATH=$CALLER_PATH command -v node) || die "the API stand-in needs node (Node.js 20+) on PATH"
    [[ -e $REPO_DIR/node_modules/@swc-node/register && -e $REPO_DIR/node_modules/ws ]] ||
        die "the API stand-in needs the project's npm packages: run npm ci in $REPO_DIR"
    mkdir -p "$KUBE_API_DIR"
    chmod 700 "$KUBE_API_DIR"
    fifo=$KUBE_API_DIR/ready.fifo
    rm -f "$fifo"
    mkfifo -m 600 "$fifo"
    # cwd = the repository: @swc-node/register reads its tsconfig.json
    cd "$REPO_DIR"
    setsid "$node" -r @swc-node/register "$KUBE_API_MAIN" "$STATE" \
        </dev/null >>"$KUBE_API_DIR/log" 2>&1 3>"$fifo" 9>&- &
    p=$!
    cd - >/dev/null
    if ! read -r -t 30 line <"$fifo" || [[ $line != "ready "* ]]; then
        rm -f "$fifo"
        die "the API stand-in did not start: $(tail -n 5 "$KUBE_API_DIR/log")"
    fi
    rm -f "$fifo"
    # (as for pods: setsid does not fork in a background job, so $! is the stand-in)
    is_kube_api_proc "$p" || die "the API stand-in started but cannot be identified (pid $p)"
    echo "$p" >"$KUBE_API_DIR/pid"
    KUBE_API_URL=${line#ready }
}

write_kubectl_stack_config() {
    local tmp=$KUBECTL_STACK_FILE.tmp.$$
    mkdir -p "${KUBECTL_STACK_FILE%/*}"
    printf '%s\n' \
        "# Generated by the kube-ovn-ipsec lab (\`npm run lab -- kubeconfig\`, lab/lab.sh): kubectl access" \
        "# to the running lab through its Kubernetes API stand-in (lab/kubeApi). Valid while the lab" \
        "# and the stand-in run; regenerated by \`kubeconfig\`; do not edit. Nodes are discovered." \
        "config:" \
        "  kube-ovn-ipsec:publishSecrets: false" \
        "  kube-ovn-ipsec:access:" \
        "    kubectl:" \
        "      kubeconfig: \"$KUBE_API_DIR/kubeconfig\"" \
        "      context: \"$KUBE_CONTEXT\"" \
        "      namespace: \"kube-system\"" >"$tmp"
    mv -f "$tmp" "$KUBECTL_STACK_FILE"
}

# ------------------------------------------------------------------------------ state
# lab_is_up: the lab was completely started and every pod is alive (no forks)
lab_is_up() {
    local t
    [[ -e $MARKER && -e $STATE/up ]] || return 1
    load_nodes
    ((${#NODES[@]})) || return 1
    for t in "$CENTRAL" "${NODES[@]}"; do pod_ok "$t" || return 1; done
}

# health_check: lab_is_up + ovn-central answers + the mesh is exactly right.
# HEALTH=reason on failure.
health_check() {
    local cp rc=0
    if ! lab_is_up; then HEALTH="a pod is not running"; return 1; fi
    central_ready &
    cp=$!
    if ! mesh_ok "${NODES[@]}"; then HEALTH="the geneve mesh is incomplete"; rc=1; fi
    if ! wait "$cp"; then HEALTH="ovn-central does not answer"; rc=1; fi
    return "$rc"
}

# clean_leftover_netns: koi-* network namespaces of the lab's naming scheme that this
# state dir does not own (left by a lab whose state dir was lost).  They are deleted
# only if no process lives in any of them; otherwise another lab is running (with
# another KOI_LAB_DIR) and we refuse to touch it.
clean_leftover_netns() {
    local f name p owned=" " left=() argv=()
    if [[ -e $MARKER ]]; then
        owned+="$BRIDGE_NS "
        for f in "$PODS_DIR"/*; do owned+="koi-${f##*/} "; done
    fi
    for f in /run/netns/koi-*; do
        name=${f##*/}
        case $name in "$BRIDGE_NS" | "koi-$CENTRAL" | koi-kube-ovn-*) ;; *) continue ;; esac
        [[ $owned == *" $name "* ]] || left+=("$name")
    done
    ((${#left[@]})) || return 0
    for name in "${left[@]}"; do
        for p in /proc/[0-9]*; do
            if [[ $p/ns/net -ef /run/netns/$name ]]; then
                mapfile -d '' argv 2>/dev/null <"$p/cmdline" || argv=()
                argv=("${argv[*]}")
                die "network namespace $name is used by pid ${p#/proc/} (${argv[0]:0:200}) but not owned by the lab in $STATE: another lab is running (run 'down' with its KOI_LAB_DIR), or its state dir was deleted (stop that process)"
            fi
        done
    done
    for name in "${left[@]}"; do
        log "removing leftover network namespace $name (no processes)"
        ip netns del "$name" 2>/dev/null || rm -f "/run/netns/$name"
    done
}

# teardown: stop and remove everything this state dir owns
teardown() {
    local t m netns mounts=()
    if [[ -e $STATE && ! -e $MARKER ]]; then
        die "$STATE exists but was not created by the lab: refusing to touch it"
    fi
    if [[ -e $MARKER ]]; then
        stop_kube_api
        load_nodes
        local -a pods=("${NODES[@]}")
        if [[ -d $PODS_DIR/$CENTRAL ]]; then pods+=("$CENTRAL"); fi
        if ((${#pods[@]})); then stop_pods "${pods[@]}"; fi
        # every handle and the tmpfs under them in one umount (deepest first), every
        # namespace in one `ip -batch` (the veths go with the bridge's namespace)
        mapfile -t mounts < <(mounts_under "$STATE")
        if ((${#mounts[@]})); then umount "${mounts[@]}"; fi
        netns=''
        for t in "${pods[@]/#/koi-}" "$BRIDGE_NS"; do
            if [[ -e /run/netns/$t ]]; then netns+="netns del $t"$'\n'; fi
        done
        if [[ -n $netns ]]; then ip -batch - <<<"$netns"; fi
        m=$(mounts_under "$STATE")
        [[ -z $m ]] || die "still mounted under $STATE: ${m//$'\n'/ }"
        rm -rf --one-file-system "$STATE"
        step "state removed"
    fi
    clean_leftover_netns
}

# ------------------------------------------------------------------------------ outputs
write_stack_config() {
    local t sid tmp=$STACK_FILE.tmp.$$ out
    load_nodes
    out="# Generated by the kube-ovn-ipsec lab (\`npm run lab -- up\`, lab/lab.sh) from the running lab.
# Regenerated on up/add-node/remove-node; do not edit (changes are overwritten).
config:
  kube-ovn-ipsec:publishSecrets: false
  kube-ovn-ipsec:access:
    command:
      # the lab plays a Kube-OVN v1.12 cluster; command access cannot read the version itself
      kubeOvnVersion: \"$KUBE_OVN_VERSION\"
      prefix: $PREFIX_JSON
      targets:
        central: \"$CENTRAL\"
        nodes:
"
    for t in "${NODES[@]}"; do out+="          \"$t\": \"$t\""$'\n'; done
    out+="  kube-ovn-ipsec:nodes:"$'\n'
    for t in "${NODES[@]}"; do
        read -r sid <"$PODS_DIR/$t/system-id"
        out+="    - name: \"$t\""$'\n'"      systemId: \"$sid\""$'\n'
    done
    mkdir -p "${STACK_FILE%/*}"
    printf '%s' "$out" >"$tmp"
    mv -f "$tmp" "$STACK_FILE"
}

# ------------------------------------------------------------------------------ commands
cmd_install() {
    local p st made='' missing=()
    need_root
    for p in "${PKGS[@]}"; do
        st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || st=
        [[ $st == installed ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        elapsed "$T0"
        log "all lab packages are installed: nothing to do (${ELAPSED}s)"
        return 0
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # the packages' postinst scripts try to start their services: there is no init
    # system to run them, and the lab starts its daemons inside pods anyway
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# temporary: kube-ovn-ipsec lab install\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${PKGS[@]}"
    if [[ -n $made ]]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
    elapsed "$T0"
    log "installed in ${ELAPSED}s"
}

cmd_up() {
    local want='' k t p failed=0 pids=() nodes=()
    while (($#)); do
        case $1 in
            --nodes) (($# >= 2)) || die "--nodes needs a value"; want=$2; shift 2 ;;
            --nodes=*) want=${1#--nodes=}; shift ;;
            *) die "up: unknown argument '$1'" ;;
        esac
    done
    [[ -z $want || $want =~ ^[1-8]$ ]] || die "--nodes must be 1..$MAX_NODES"
    need_root
    check_tools
    take_lock

    if [[ -e $MARKER ]]; then
        if health_check; then
            # a bare `up` accepts the running lab; an explicit --nodes must match it
            if [[ -n $want && $want != "${#NODES[@]}" ]]; then
                die "the lab is up with ${#NODES[@]} node(s), not $want: run 'npm run lab -- down' first (or use add-node/remove-node)"
            fi
            write_stack_config
            elapsed "$T0"
            log "lab already up (${#NODES[@]} nodes, $STATE): nothing to do (${ELAPSED}s)"
            return 0
        fi
        log "found a stale lab in $STATE (${HEALTH}): cleaning it first"
        load_nodes
        if [[ -z $want && ${#NODES[@]} -gt 0 ]]; then want=${#NODES[@]}; fi
    fi
    teardown # also refuses a foreign dir and removes leftovers of a lost state dir
    want=${want:-$DEFAULT_NODES}
    for ((k = 0; k < want; k++)); do nodes+=("${NODE_NAMES[k]}"); done

    # marker first: from here on, a crash leaves a state that the next up/down cleans
    mkdir -p "$STATE"
    [[ -z $(ls -A "$STATE") ]] || die "$STATE is not empty and not a lab state dir"
    chmod 700 "$STATE"
    : >"$MARKER"
    mkdir -p "$NS_DIR" "$PODS_DIR"
    # the namespace handles live on a tmpfs of their own: a mount-namespace file can only
    # be bind-mounted on a non-shared mount, and pod-init.sh detaches all the handles it
    # inherited with one lazy unmount
    mount -t tmpfs -o mode=700,size=1m koi-lab-ns "$NS_DIR"
    mount --make-private "$NS_DIR"
    for t in "$CENTRAL" "${nodes[@]}"; do
        mkdir -p "$PODS_DIR/$t"
        prep_pod_dir "$t"
    done
    plug_pods --with-bridge "$CENTRAL" "${nodes[@]}"
    step "network ready"

    # everything starts in parallel: each node brings OVS up on its own and waits for
    # ovn-central only before starting ovn-controller
    start_central &
    pids+=($!)
    for t in "${nodes[@]}"; do
        start_node "$t" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    ((failed == 0)) || die "up failed (logs: $PODS_DIR/*/{pod-init,start}.log); 'up' again cleans and retries"
    wait_mesh "${nodes[@]}"
    : >"$STATE/up"
    write_stack_config
    elapsed "$T0"
    log "lab up: $CENTRAL + ${#nodes[@]} node(s) in ${ELAPSED}s (config: ${STACK_FILE#"$REPO_DIR"/})"
}

cmd_down() {
    need_root
    take_lock
    if [[ -e $STATE ]]; then
        teardown
        elapsed "$T0"
        log "lab down in ${ELAPSED}s"
    else
        clean_leftover_netns
        elapsed "$T0"
        log "lab is down: nothing to do (${ELAPSED}s)"
    fi
}

require_up() { lab_is_up || die "the lab is not up (run: npm run lab -- up)"; }

# forget_node NAME: stop the pod, delete its chassis from the SB, drop its state
forget_node() {
    local t=$1 sid=''
    read -r sid 2>/dev/null <"$PODS_DIR/$t/system-id" || true
    stop_pods "$t"
    if [[ -n $sid ]]; then
        # what Kube-OVN does for a deleted node: the other chassis drop their tunnels to it
        px "$CENTRAL" ovn-sbctl --timeout=5 --if-exists chassis-del "$sid" >/dev/null
    fi
    release_pod "$t"
    rm -rf "${PODS_DIR:?}/$t"
}

cmd_add_node() {
    local n t='' before=()
    (($# == 0)) || die "usage: add-node"
    need_root
    take_lock
    require_up
    before=("${NODES[@]}")
    ((${#before[@]} < MAX_NODES)) || die "the lab already has $MAX_NODES nodes"
    # the first free name of the sequence (a removed node's name is reused)
    for n in "${NODE_NAMES[@]}"; do
        if [[ ! -d $PODS_DIR/$n ]]; then t=$n; break; fi
    done
    log "adding node $t (${IP[$t]})"
    mkdir -p "$PODS_DIR/$t"
    prep_pod_dir "$t"
    plug_pods "$t"
    # in background jobs so that errexit stays active inside them (a function run in a
    # tested context, like `if ! f`, would ignore failing commands)
    start_node "$t" &
    if ! wait $! || ! { wait_mesh "${before[@]}" "$t" & wait $!; }; then
        cat "$PODS_DIR/$t"/*.log >"/tmp/koi-lab-$t-failed.log" 2>/dev/null || true
        forget_node "$t"
        die "adding $t failed and was rolled back (its logs: /tmp/koi-lab-$t-failed.log)"
    fi
    write_stack_config
    elapsed "$T0"
    log "node $t added in ${ELAPSED}s ($((${#before[@]} + 1)) nodes)"
}

cmd_remove_node() {
    local t=${1:-} o rest=()
    (($# == 1)) || die "usage: remove-node NAME"
    need_root
    take_lock
    require_up
    [[ " ${NODES[*]} " == *" $t "* ]] || die "no node '$t' (nodes: ${NODES[*]})"
    ((${#NODES[@]} > 1)) || die "$t is the last node: use 'down' instead"
    for o in "${NODES[@]}"; do if [[ $o != "$t" ]]; then rest+=("$o"); fi; done
    forget_node "$t"
    wait_mesh "${rest[@]}"
    write_stack_config
    elapsed "$T0"
    log "node $t removed in ${ELAPSED}s (${#rest[@]} nodes left)"
}

# restart_node restart|reboot NAME: what Kube-OVN v1.12 does to a node when its ovs-ovn
# container restarts (a crash, OOM kill, liveness failure: no clean shutdown) or the node
# reboots.  The pod's processes all die at once (SIGKILL of PID 1: the kernel kills the
# rest of its PID namespace), so a charon leaves its xfrm policies and SAs in the network
# namespace; the files are reset as reset_pod_fs says; a reboot also gives the node a new
# network namespace (no xfrm state, no netfilter rules; same address, MAC and veth slot).
# Then a new pod starts like start-ovs.sh: OVS on the existing conf.db, ovn-controller, no
# IPsec service.  The namespace handles are re-pinned, so the exec prefix is unchanged.
restart_node() {
    local mode=$1 t=$2 last=0 u="" o what=restarted peers=()
    need_root
    take_lock
    require_up
    [[ " ${NODES[*]} " == *" $t "* ]] || die "no node '$t' (nodes: ${NODES[*]})"
    for o in "${NODES[@]}"; do if [[ $o != "$t" ]]; then peers+=("${IP[$o]}"); fi; done
    pod_pid1 "$t"
    if [[ $mode == restart ]]; then
        # with hostPID a restarted container never reuses the dead daemons' pids; a reboot
        # starts counting again (and /run, holding the pidfiles, is empty)
        last=$(px "$t" cat /proc/sys/kernel/ns_last_pid) || die "$t: cannot read its last pid"
        [[ $last =~ ^[0-9]+$ ]] || die "$t: unexpected ns_last_pid '$last'"
        last=$((last + 1000)) # room for whatever the pod forked after that read
        (( last < $(</proc/sys/kernel/pid_max) )) || last=0
    fi
    read -r u 2>/dev/null <"$PODS_DIR/$t/unshare.pid" || true
    kill -KILL "$PID1"
    wait_until 5 "$t to die" none_alive "$PID1" ${u:+"$u"} || die "$t: pod did not die (pid $PID1)"
    step "$t: killed"
    while read -r o; do umount "$o"; done < <(mounts_under "$NS_DIR/$t")
    if [[ $mode == reboot ]]; then
        ip -n "$BRIDGE_NS" link del "${VETH[$t]}" 2>/dev/null || true
        ip netns del "koi-$t"
        plug_pods "$t"
        step "$t: new network namespace"
    fi
    reset_pod_fs "$t" "$mode"
    step "$t: files reset"
    # in background jobs so that errexit stays active inside them (see cmd_add_node)
    start_node "$t" "$last" &
    wait $! || die "$t: restart failed (logs: $PODS_DIR/$t/{pod-init,start}.log); 'up' rebuilds the lab"
    wait_until 30 "ovn-controller and the tunnels of $t" node_live "$t" "${peers[@]}" ||
        die "$t: ovn-controller did not reconnect (logs: $PODS_DIR/$t/root/var/log/ovn)"
    wait_mesh "${NODES[@]}"
    elapsed "$T0"
    if [[ $mode == reboot ]]; then what=rebooted; fi
    log "node $t $what in ${ELAPSED}s (IPsec services not started)"
}

cmd_restart_pod() {
    (($# == 1)) || die "usage: restart-pod NAME"
    restart_node restart "$1"
}

cmd_reboot_node() {
    (($# == 1)) || die "usage: reboot-node NAME"
    restart_node reboot "$1"
}

cmd_status() {
    local json='' up=false t sid sep='' nodes_json=''
    case ${1:-} in --json) json=1 ;; "") ;; *) die "status: unknown argument '$1'" ;; esac
    (($# <= 1)) || die "usage: status [--json]"
    if lab_is_up; then up=true; fi
    if [[ -n $json ]]; then
        if [[ $up == true ]]; then
            for t in "${NODES[@]}"; do
                pod_pid1 "$t" || PID1=0
                read -r sid <"$PODS_DIR/$t/system-id"
                nodes_json+="$sep{\"name\": \"$t\", \"systemId\": \"$sid\", \"ip\": \"${IP[$t]}\", \"target\": \"$t\", \"pid1\": $PID1}"
                sep=", "
            done
        fi
        printf '{"up": %s, "stateDir": "%s", "prefix": %s, "bridge": {"netns": "/run/netns/%s", "device": "%s"}, "central": {"target": "%s", "ip": "%s"}, "nodes": [%s]}\n' \
            "$up" "$STATE" "$PREFIX_JSON" "$BRIDGE_NS" "$BRIDGE_DEV" "$CENTRAL" "$CENTRAL_IP" "$nodes_json"
        return 0
    fi
    if [[ $up != true ]]; then
        if [[ -e $MARKER ]]; then
            echo "lab: DOWN - a stale or partial lab is left in $STATE ('up' or 'down' cleans it)"
        else
            echo "lab: DOWN ($STATE)"
        fi
        return 0
    fi
    echo "lab: UP (${#NODES[@]} nodes, state $STATE, config ${STACK_FILE#"$REPO_DIR"/})"
    printf '  %-23s %-12s %-37s %-7s %s\n' TARGET IP SYSTEM-ID PID1 GENEVE-TUNNELS
    pod_pid1 "$CENTRAL" || true
    printf '  %-23s %-12s %-37s %-7s %s\n' "$CENTRAL" "$CENTRAL_IP" - "$PID1" -
    for t in "${NODES[@]}"; do
        read -r sid <"$PODS_DIR/$t/system-id"
        pod_pid1 "$t" || true
        node_tunnels "$t" || TUNNELS=('?')
        printf '  %-23s %-12s %-37s %-7s %s\n' "$t" "${IP[$t]}" "$sid" "$PID1" "${TUNNELS[*]:--}"
    done
    echo "exec prefix ({target} = a name above): $PREFIX_JSON"
    if kube_api_pid; then echo "API stand-in: running (pid $KUBE_API_PID), kubeconfig $KUBE_API_DIR/kubeconfig"; fi
}

cmd_exec() {
    local t=${1:-}
    local -a POD_ARGV
    [[ -n $t && ${2:-} == -- && $# -ge 3 ]] || die "usage: exec TARGET -- CMD [ARGS...]"
    shift 2
    [[ -n ${SLOT[$t]:-} ]] || die "unknown target '$t' (ovn-central or a node name)"
    pod_ok "$t" || die "pod $t is not running (see: npm run lab -- status)"
    pod_argv "$t"
    exec "${POD_ARGV[@]}" "$@"
}

cmd_kubeconfig() {
    (($# == 0)) || die "usage: kubeconfig"
    need_root
    take_lock
    require_up
    if kube_api_pid; then
        log "the API stand-in is already running (pid $KUBE_API_PID)"
    else
        start_kube_api
        log "API stand-in serving the lab at $KUBE_API_URL (pid $(<"$KUBE_API_DIR/pid"); 'down' stops it)"
    fi
    write_kubectl_stack_config
    elapsed "$T0"
    log "kubeconfig $KUBE_API_DIR/kubeconfig (context $KUBE_CONTEXT), stack config ${KUBECTL_STACK_FILE#"$REPO_DIR"/} (${ELAPSED}s)"
    log "try: kubectl --kubeconfig=$KUBE_API_DIR/kubeconfig -n kube-system get pods -l app=ovs"
    echo "$KUBE_API_DIR/kubeconfig"
}

usage() { sed -n '2,/^# Design/{/^# Design/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

main() {
    local cmd=${1:-help}
    (($# == 0)) || shift
    case $cmd in
        install) cmd_install "$@" ;;
        up) cmd_up "$@" ;;
        down) (($# == 0)) || die "usage: down"; cmd_down ;;
        status) cmd_status "$@" ;;
        add-node) cmd_add_node "$@" ;;
        remove-node) cmd_remove_node "$@" ;;
        restart-pod) cmd_restart_pod "$@" ;;
        reboot-node) cmd_reboot_node "$@" ;;
        exec) cmd_exec "$@" ;;
        kubeconfig) cmd_kubeconfig "$@" ;;
        help | -h | --help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}
main "$@"
