#!/bin/bash
# Simulated compute nodes on this machine, for tests and demos (the "nodes as containers" pattern of kind/k3d):
# node N is a network namespace ocnN at 172.30.99.(N+1) on the underlay bridge ocnodes0 (172.30.99.1), plus a
# mount, pid and uts namespace whose PID 1 is `sim-node.sh init N`, with its own sshd (port 22, root by key only),
# and later (`oarcloud node join`) its own libvirtd and OAR node sshd. What a node keeps private: /run,
# /etc/libvirt, /var/lib/libvirt, /etc/hosts, /root/.ssh and /var/lib/oarcloud-node; everything else (packages,
# OAR's files, the cgroup v1 hierarchies) is the host's. See ../shared/reference/multinode-network.md.
#
#   sim-node.sh prepare N SERVER_NAME PUBKEY_FILE   underlay, namespace, state directory (idempotent)
#   sim-node.sh init N                               PID 1 of the node (run inside nsenter + unshare; see node-join.ts)
#   sim-node.sh pid N                                the host pid of the node's PID 1, if it runs
#   sim-node.sh destroy N                            stops its containers and processes, removes what prepare made
set -euo pipefail
export LANG=C LC_ALL=C
UNDERLAY=ocnodes0
PREFIX=172.30.99
STATE=/var/lib/oarcloud-nodes
op=${1:?operation}; n=${2:?node number}
[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] || { echo "bad node number $n" >&2; exit 2; }
ns=ocn$n; addr=$PREFIX.$((n + 1)); D=$STATE/node$n; name=oc-node$n

# the node's PID 1, seen from here: the process of its network namespace that is pid 1 in its own pid namespace
init_pid() {
  local p
  [ -e /run/netns/$ns ] || return 0
  for p in $(ip netns pids $ns 2>/dev/null); do
    if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) } /^State:.*Z/ { exit 1 }' /proc/$p/status 2>/dev/null; then echo "$p"; return 0; fi
  done
}

case "$op" in
  prepare)
    server_name=${3:?server host name}; pubkey=${4:?public key file}
    if ! ip link show $UNDERLAY >/dev/null 2>&1; then
      ip link add $UNDERLAY type bridge; ip addr add $PREFIX.1/24 dev $UNDERLAY
    fi
    ip link set $UNDERLAY up
    [ -e /run/netns/$ns ] || ip netns add $ns
    if ! ip link show ocu$n >/dev/null 2>&1; then
      ip link add ocu$n type veth peer name eth0 netns $ns
    fi
    ip link set ocu$n master $UNDERLAY up
    ip -n $ns addr replace $addr/24 dev eth0; ip -n $ns link set eth0 up; ip -n $ns link set lo up
    ip -n $ns route replace default via $PREFIX.1
    mkdir -p $D/etclibvirt $D/varlib $D/log $D/cache $D/cg $D/rootssh $D/data
    if [ ! -f $D/etclibvirt/.copied ]; then
      cp -a /etc/libvirt/. $D/etclibvirt/
      # the host's networks and domains are not the node's
      rm -rf $D/etclibvirt/qemu/networks/* $D/etclibvirt/lxc/*
      touch $D/etclibvirt/.copied
    fi
    [ -f $D/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f $D/ssh_host_ed25519_key
    # what an admin's ssh-copy-id does on a real host: the server's node key may log in as root
    install -m 600 "$pubkey" $D/rootssh/authorized_keys
    chmod 700 $D/rootssh
    # the node resolves itself, every other simulated node and the OAR server (oarexec reports to it by name)
    { echo "127.0.0.1 localhost"; echo "$addr $name"; echo "$PREFIX.1 $server_name"
      for i in $(seq 1 50); do [ $i = "$n" ] || echo "$PREFIX.$((i + 1)) oc-node$i"; done; } > $D/hosts
    cat > $D/sshd_config <<EOF
Port 22
ListenAddress $addr
HostKey $D/ssh_host_ed25519_key
PermitRootLogin prohibit-password
AuthorizedKeysFile /root/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
MaxStartups 200
MaxSessions 100
PidFile /run/sshd-node.pid
Subsystem sftp internal-sftp
EOF
    echo "$addr" ;;
  init)
    hostname $name
    # sysfs must be this netns's (libvirt reads /sys/class/net); the cgroup v1 mounts under it are the host's
    mount --rbind /sys/fs/cgroup $D/cg
    mount -t sysfs sysfs /sys
    mount --rbind $D/cg /sys/fs/cgroup
    umount -R $D/cg
    mount -t tmpfs -o mode=755 tmpfs /run
    mkdir -p /run/libvirt /run/sshd /run/lock /run/netns
    mount --bind $D/etclibvirt /etc/libvirt
    mount --bind $D/varlib /var/lib/libvirt
    mount --bind $D/log /var/log/libvirt
    mount --bind $D/cache /var/cache/libvirt
    mount --bind $D/hosts /etc/hosts
    mkdir -p /var/lib/oarcloud-node /root/.ssh
    mount --bind $D/rootssh /root/.ssh
    mount --bind $D/data /var/lib/oarcloud-node
    # sshd runs commands through root's shell, and bash reads ~/.bashrc then: this machine's (pyenv set-up) costs
    # over a second per command; a node has its own, empty one
    : > $D/bashrc; [ -f /root/.bashrc ] && mount --bind $D/bashrc /root/.bashrc
    /usr/sbin/sshd -f $D/sshd_config
    # bash waits on any child, so this PID 1 reaps the node's orphans
    trap 'exit 0' TERM
    while :; do sleep 3600 & wait $! || true; done ;;
  pid)
    init_pid ;;
  destroy)
    pid=$(init_pid)
    if [ -n "$pid" ] && [ -d /proc/$pid ] && [ -S /proc/$pid/root/run/libvirt/libvirt-sock ]; then
      uri="lxc+unix:///?socket=/proc/$pid/root/run/libvirt/libvirt-sock"
      for d in $(virsh -q -c "$uri" list --all --name 2>/dev/null); do
        virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true
        virsh -q -c "$uri" undefine "$d" >/dev/null 2>&1 || true
        rmdir /sys/fs/cgroup/pids/oarcloud/"$d" 2>/dev/null || true
      done
    fi
    # ending PID 1 ends every process of the node's pid namespace, and with them its mounts
    if [ -n "$pid" ] && [ -d /proc/$pid ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null || break; sleep 0.1; done
    fi
    # what a container killed with its node leaves in the (shared) cgroup hierarchies; live ones are not empty
    for d in /sys/fs/cgroup/*/machine/lxc-*.libvirt-lxc /sys/fs/cgroup/*/machine.slice/machine-lxc*.scope; do
      [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
    done
    # and the cpusets of its OAR jobs (OAR cleans them on the node at the job's end; a dead node cannot)
    for d in /sys/fs/cgroup/cpuset/oar/*_*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
    for d in /sys/fs/cgroup/pids/oarcloud/i-*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
    ip link del ocu$n 2>/dev/null || true
    ip netns del $ns 2>/dev/null || true
    rm -rf $D
    if [ -z "$(ls -A $STATE 2>/dev/null)" ] && ip link show $UNDERLAY >/dev/null 2>&1; then ip link del $UNDERLAY; fi
    true ;;
  *) echo "unknown operation $op" >&2; exit 2 ;;
esac
