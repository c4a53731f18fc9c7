# Functions shared by provision.sh (the server's host) and node-setup.sh (a compute node): liveness checks that do
# not trust pid files (PID 1 on these machines does not reap, so a killed daemon's pid still "exists"), and the
# start of the two daemons every compute node runs: libvirtd with the LXC driver, and OAR's node sshd (port 6667).
# Sourced; expects log() and die().

pid_alive() { [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] && ! awk '{exit ($3=="Z")?0:1}' "/proc/$1/stat"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.2; done; "$@"; }
stop_pidfile() {
  local pf=$1 pid
  pid=$(cat "$pf" 2>/dev/null || true)
  if pid_alive "$pid"; then kill -TERM "$pid"; for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done; fi
  rm -f "$pf"
}

# OAR's node side: the dedicated sshd through which the server reaches the node as user oar
start_oar_node_sshd() {
  if ! port_open 6667; then
    stop_pidfile /var/run/oar-node_sshd.pid
    mkdir -p /run/sshd
    /etc/init.d/oar-node start >/dev/null 2>&1 || die "oar-node start failed"
    wait_for 50 port_open 6667 || die "OAR sshd does not listen on 6667"
  fi
}

# libvirtd with the LXC driver, and the two fixes this Debian needs
start_libvirtd() {
  local virsh="virsh -q -c lxc:///" pid c
  # Fix A: libvirtd exits at start unless the QEMU driver's compiled-in user exists
  getent group  libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -M -s /usr/sbin/nologin libvirt-qemu
  # Fix B: on the hybrid cgroup layout, a non-empty cgroup2 controller list makes libvirt_lxc fail every start
  if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
    for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
      mkdir -p /sys/fs/cgroup/$c
      mountpoint -q /sys/fs/cgroup/$c || mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
    done
    [ -z "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ] || die "cgroup2 still lists controllers"
  fi
  if ! $virsh version >/dev/null 2>&1; then
    pid=$(cat /run/libvirtd.pid 2>/dev/null || true)
    pid_alive "$pid" && { kill -TERM "$pid" 2>/dev/null || true; sleep 0.5; }
    rm -f /run/libvirtd.pid
    mkdir -p /var/log/libvirt
    LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" libvirtd -d
    wait_for 50 $virsh version >/dev/null 2>&1 || die "libvirtd does not answer on its socket"
  fi
}

# bridged frames must go through iptables: the isolation rules between accounts live there
enable_bridge_netfilter() {
  modprobe br_netfilter 2>/dev/null || true
  if [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables; echo 1 > /proc/sys/net/bridge/bridge-nf-call-ip6tables
  else
    log "WARNING: br_netfilter is not available: instances of different accounts can reach each other"
  fi
}

# Installs the Debian packages of the list that are missing (apt's output goes to LOG).
install_packages() {
  local log_file=$1 p missing=""; shift
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing="$missing $p"
  done
  [ -n "$missing" ] || return 0
  log "apt-get install$missing"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >"$log_file" 2>&1 || { tail -20 "$log_file"; die "apt-get install failed"; }
}

# OAR 2.5's cpuset manager and OAR Cloud's pids limits use cgroup v1 hierarchies (this machine kind's hybrid layout
# has them); a host booted with only the unified v2 hierarchy (systemd's default since Debian 11) has none.
require_cgroup_v1() {  # WHAT_TO_RUN_AGAIN
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    die "this host uses the unified cgroup v2 hierarchy only; OAR 2.5 and OAR Cloud need cgroup v1. Fix: add
  systemd.unified_cgroup_hierarchy=false systemd.legacy_systemd_cgroup_controller=true to GRUB_CMDLINE_LINUX in
  /etc/default/grub, run update-grub, reboot, then run $1 again."
  fi
}
