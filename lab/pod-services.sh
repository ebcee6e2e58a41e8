#!/bin/bash
# pod-services.sh - starts the OVS/OVN daemons of one lab pod.
#
# Runs INSIDE a pod: lab.sh reads this file and runs it with `bash -c` through the exec
# prefix, so every path below is the pod's own (/run, /etc/openvswitch, ... are per pod).
#
#   central IP              OVN NB + SB ovsdb-server (unix sockets, and TCP 6641/6642 on
#                           IP without SSL) + ovn-northd
#   node NAME IP CENTRAL_IP ovsdb-server + ovs-vswitchd (userspace "netdev" datapath),
#                           configured for OVN (geneve, ovn-remote); prints the system-id.
#                           Like every start of Kube-OVN's ovs-ovn container: the first start
#                           creates conf.db and a random system-id, later ones (restart-pod,
#                           reboot-node) keep both, and everything else in conf.db
#   controller              ovn-controller
#
# The daemons get the same arguments, pidfiles, control sockets, log files and niceness
# that Debian's ovs-ctl / ovn-ctl give them (`ovs-ctl start --system-id=random`,
# `ovn-ctl start_northd`, `ovn-ctl start_controller`), so ovs-ctl, ovn-ctl, the init
# scripts, ovs-appctl and ovn-appctl treat them as their own.  Starting them directly
# costs ~10 processes per pod instead of ~100 through the ctl scripts: with every pod
# starting at once, process creation is what bounds the time `up` takes.
set -euo pipefail

# like ovs-ctl/ovn-ctl: daemons run from / (with --no-chdir) so cores land there
cd /

OVS_RUN=/var/run/openvswitch
OVN_RUN=/var/run/ovn

central() {
    local ip=$1 db port schema table Db
    for db in nb sb; do
        if [[ $db == nb ]]; then
            port=6641 Db=OVN_Northbound table=NB_Global
        else
            port=6642 Db=OVN_Southbound table=SB_Global
        fi
        schema=/usr/share/ovn/ovn-$db.ovsschema
        ovsdb-tool create "/var/lib/ovn/ovn${db}_db.db" "$schema"
        ovsdb-server -vconsole:off -vfile:info --log-file="/var/log/ovn/ovsdb-server-$db.log" \
            --remote="punix:$OVN_RUN/ovn${db}_db.sock" --pidfile="$OVN_RUN/ovn${db}_db.pid" \
            --unixctl="$OVN_RUN/ovn${db}_db.ctl" --detach --monitor \
            --remote="db:$Db,$table,connections" \
            --private-key="db:$Db,SSL,private_key" --certificate="db:$Db,SSL,certificate" \
            --ca-cert="db:$Db,SSL,ca_cert" --ssl-protocols="db:$Db,SSL,ssl_protocols" \
            --ssl-ciphers="db:$Db,SSL,ssl_ciphers" \
            --remote="ptcp:$port:$ip" "/var/lib/ovn/ovn${db}_db.db"
        # creates the NB_Global / SB_Global row (what `ovn-ctl` does after starting a DB)
        "ovn-${db}ctl" --no-leader-only --db="unix:$OVN_RUN/ovn${db}_db.sock" init
    done
    nice -n -10 ovn-northd -vconsole:emer -vsyslog:err -vfile:info \
        --ovnnb-db="unix:$OVN_RUN/ovnnb_db.sock" --ovnsb-db="unix:$OVN_RUN/ovnsb_db.sock" \
        --no-chdir --log-file=/var/log/ovn/ovn-northd.log --pidfile="$OVN_RUN/ovn-northd.pid" \
        --detach --monitor
}

node() {
    local name=$1 ip=$2 central_ip=$3 sid ovs_version db_version ID='' VERSION_ID=''
    local db=/etc/openvswitch/conf.db schema=/usr/share/openvswitch/vswitch.ovsschema
    local id_file=/etc/openvswitch/system-id.conf
    # Kube-OVN's start-ovs.sh runs `ovs-ctl restart --system-id=random` on every container
    # start (dist/images/start-ovs.sh, v1.12): ovs-ctl keeps the UUID in system-id.conf and
    # makes one only when that file is missing, and creates conf.db only when it is missing
    # (set_system_ids / upgrade_db in ovs-ctl); both live in a hostPath volume.
    if [[ -s $id_file ]]; then
        read -r sid <"$id_file"
    else
        read -r sid </proc/sys/kernel/random/uuid
        echo "$sid" >"$id_file"
    fi
    if [[ ! -e $db ]]; then ovsdb-tool create "$db" "$schema"; fi
    nice -n -10 ovsdb-server "$db" -vconsole:emer -vsyslog:err -vfile:info \
        --remote="punix:$OVS_RUN/db.sock" --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
        --private-key=db:Open_vSwitch,SSL,private_key --certificate=db:Open_vSwitch,SSL,certificate \
        --bootstrap-ca-cert=db:Open_vSwitch,SSL,ca_cert --no-chdir \
        --log-file=/var/log/openvswitch/ovsdb-server.log --pidfile="$OVS_RUN/ovsdb-server.pid" \
        --detach --monitor
    ovs_version=$(ovs-vswitchd --version)
    ovs_version=${ovs_version%%$'\n'*}
    ovs_version=${ovs_version##* }
    db_version=$(ovsdb-tool schema-version "$schema")
    # shellcheck source=/dev/null
    . /etc/os-release
    # the settings ovs-ctl and Kube-OVN's start-ovs.sh make at every start, except the
    # datapath type: there is no openvswitch kernel module here, so the bridge uses the
    # userspace datapath.  `init` is a no-op on an existing database; other_config (where
    # the product points OVS at its IPsec files) is never touched.
    ovs-vsctl --no-wait -- init -- set Open_vSwitch . \
        db-version="$db_version" ovs-version="$ovs_version" \
        system-type="$ID" system-version="$VERSION_ID" \
        external-ids:system-id="$sid" external-ids:rundir="$OVS_RUN" \
        external-ids:hostname="$name" \
        external-ids:ovn-remote="tcp:$central_ip:6642" \
        external-ids:ovn-encap-type=geneve \
        external-ids:ovn-encap-ip="$ip" \
        external-ids:ovn-bridge-datapath-type=netdev
    nice -n -10 ovs-vswitchd "unix:$OVS_RUN/db.sock" -vconsole:emer -vsyslog:err -vfile:info \
        --no-chdir --log-file=/var/log/openvswitch/ovs-vswitchd.log \
        --pidfile="$OVS_RUN/ovs-vswitchd.pid" --detach --monitor
    echo "$sid"
}

controller() {
    nice -n -10 ovn-controller "unix:$OVS_RUN/db.sock" -vconsole:emer -vsyslog:err -vfile:info \
        --no-chdir --log-file=/var/log/ovn/ovn-controller.log \
        --pidfile="$OVN_RUN/ovn-controller.pid" --detach --monitor
}

case ${1:-} in
    central) central "$2" ;;
    node) node "$2" "$3" "$4" ;;
    controller) controller ;;
    *) echo "usage: pod-services.sh central IP | node NAME IP CENTRAL_IP | controller" >&2; exit 2 ;;
esac
