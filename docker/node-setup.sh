#!/bin/bash
# Makes this host an OAR Cloud compute node; run as root by `oarcloud node join` (over ssh, from the server) after
# it copied its payload to $PAYLOAD: this script, host-lib.sh, node-agent.sh, instance-job, the server's oar.conf
# and OAR's ssh keys (oar-ssh/). Idempotent: every step checks before it acts.
#
# Usage: node-setup.sh JOB_USER JOB_UID JOB_GID SERVER_NAME SERVER_ADDRESS
set -euo pipefail
export LANG=C LC_ALL=C DEBIAN_FRONTEND=noninteractive
PAYLOAD=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JOB_USER=$1 JOB_UID=$2 JOB_GID=$3 SERVER_NAME=$4 SERVER_ADDRESS=$5
log() { echo "[node $(uname -n)] $*"; }
die() { echo "[node $(uname -n)] ERROR: $*" >&2; exit 1; }
# shellcheck source=host-lib.sh
. "$PAYLOAD/host-lib.sh"
[ "$(id -u)" = 0 ] || die "must run as root"

require_cgroup_v1 "oarcloud node join"

PKGS="oar-node libvirt-daemon libvirt-daemon-driver-lxc libvirt-clients iproute2 iptables nftables socat dnsmasq-base openssh-server tar coreutils util-linux"
install_packages /var/log/oarcloud-node-apt.log $PKGS

# files from the server: replaced only when they differ (a simulated node shares them with the server)
put() {  # SOURCE TARGET MODE OWNER
  cmp -s "$1" "$2" 2>/dev/null && return 0
  install -D -m "$3" -o "${4%%:*}" -g "${4##*:}" "$1" "$2.new" && mv -f "$2.new" "$2"
}
put "$PAYLOAD/node-agent.sh" /usr/lib/oarcloud/node-agent 755 root:root
put "$PAYLOAD/instance-job" /usr/lib/oarcloud/instance-job 755 root:root
put "$PAYLOAD/oar.conf" /etc/oar/oar.conf 600 oar:root
for f in "$PAYLOAD"/oar-ssh/*; do put "$f" "/var/lib/oar/.ssh/$(basename "$f")" 600 oar:oar; done
chmod 700 /var/lib/oar/.ssh 2>/dev/null || true

# the job user: same uid everywhere (the job body runs as it on the node)
if ! getent passwd "$JOB_USER" >/dev/null; then
  getent group "$JOB_USER" >/dev/null || groupadd -g "$JOB_GID" "$JOB_USER"
  useradd -m -u "$JOB_UID" -g "$JOB_GID" -s /bin/bash "$JOB_USER"
fi
[ "$(id -u "$JOB_USER")" = "$JOB_UID" ] || die "user $JOB_USER has uid $(id -u "$JOB_USER") here and $JOB_UID on the server"

# oarexec reports the end of a job to the server by its host name
getent ahostsv4 "$SERVER_NAME" >/dev/null || echo "$SERVER_ADDRESS $SERVER_NAME" >> /etc/hosts

start_libvirtd
start_oar_node_sshd
enable_bridge_netfilter
mkdir -p /var/lib/oarcloud-node
/usr/lib/oarcloud/node-agent check
