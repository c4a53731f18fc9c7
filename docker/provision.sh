#!/bin/bash
# Provision a single-host OAR Cloud on Debian 12 as root: packages, PostgreSQL, OAR 2.5 (server, node,
# user tools, resources, job-submitting service user), libvirtd with the LXC driver and its two host fixes,
# the instance network, and the base image root filesystems.
#
# Idempotent: every step checks before it acts, so it also repairs a half-provisioned machine or one whose
# daemons were killed. PID 1 on these machines does not reap orphans (a killed daemon stays a zombie and
# `kill -0` still succeeds), so liveness is always checked by socket or port, never by pid file alone.
#
# Usage: docker/provision.sh [--stop]      (--stop: stop Almighty, the OAR sshd, libvirtd and PostgreSQL)
# Environment (defaults in brackets):
#   OARCLOUD_DATA_DIR [/var/lib/oarcloud]   OARCLOUD_JOB_USER [oarcloud]   OARCLOUD_OAR_CORES [nproc] (read by oarcloud up)
#   OARCLOUD_NETWORK [oarcloud]  OARCLOUD_BRIDGE [virbr-oarcloud]  OARCLOUD_SUBNET_PREFIX [10.77.0]
#   OARCLOUD_IMAGES ["busybox debian debian-cloud"]   OARCLOUD_DB_PASSWORD [generated once, kept in $SECRETS]
#   OARCLOUD_SKIP_CHROMIUM [unset; 1: do not install the browser the dashboard tests use]
set -euo pipefail
export LANG=C LC_ALL=C DEBIAN_FRONTEND=noninteractive
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
cd /
DATA_DIR=${OARCLOUD_DATA_DIR:-/var/lib/oarcloud}
JOB_USER=${OARCLOUD_JOB_USER:-oarcloud}
NET_NAME=${OARCLOUD_NETWORK:-oarcloud}
NET_BRIDGE=${OARCLOUD_BRIDGE:-virbr-oarcloud}
NET_PREFIX=${OARCLOUD_SUBNET_PREFIX:-10.77.0}
IMAGES=${OARCLOUD_IMAGES:-busybox debian debian-cloud}
# database passwords: generated once, kept root-only; the server and CLI read them from here (src/config.ts)
SECRETS=/etc/oarcloud/database.env
PG_VER=15
OAR_CONF=/etc/oar/oar.conf
VIRSH="virsh -q -c lxc:///"
LOG_DIR=/var/log/oarcloud

T0=$(date +%s.%N)
log() { printf '[provision +%5.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{printf "%.1f", a-b}')" "$*"; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
mkdir -p "$LOG_DIR" "$DATA_DIR"

# shellcheck source=host-lib.sh
. "$HERE/host-lib.sh"

if [ "${1:-}" = "--stop" ]; then
  stop_pidfile /var/run/oar-server.pid
  stop_pidfile /var/run/oar-node_sshd.pid
  stop_pidfile /run/libvirtd.pid
  pg_ctlcluster "$PG_VER" main stop 2>/dev/null || true
  log "stopped"; exit 0
fi

require_cgroup_v1 "bin/oarcloud up"

# ------------------------------------------------------------------------------------------------ packages
PKGS="postgresql oar-server oar-server-pgsql oar-node oar-user oar-user-pgsql openssh-server openssh-client
  libvirt-daemon libvirt-daemon-driver-lxc libvirt-clients dnsmasq-base iptables bridge-utils iproute2
  nftables socat haproxy debootstrap busybox-static zstd tar ca-certificates util-linux attr openssl putty-tools"
# the dashboard's browser tests drive Debian's Chromium headless; a server-only image (Dockerfile) goes without
[ "${OARCLOUD_SKIP_CHROMIUM:-}" = 1 ] || PKGS="$PKGS chromium"
install_packages "$LOG_DIR/apt.log" $PKGS
log "packages ok"

# ------------------------------------------------------------------------------------------------ secrets
# Database roles get random passwords (not the packages' well-known ones), so that a local user who can reach
# PostgreSQL over TCP cannot log in as OAR Cloud or as OAR and change instances, jobs or resources.
install -d -m 700 /etc/oarcloud
new_password() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
if [ ! -s "$SECRETS" ] || [ -n "${OARCLOUD_DB_PASSWORD:-}" ]; then
  old_oar=$(sed -n 's/^OAR_DB_PASSWORD=//p' "$SECRETS" 2>/dev/null || true)
  old_ro=$(sed -n 's/^OAR_DB_RO_PASSWORD=//p' "$SECRETS" 2>/dev/null || true)
  (umask 077; printf 'OARCLOUD_DB_PASSWORD=%s\nOAR_DB_PASSWORD=%s\nOAR_DB_RO_PASSWORD=%s\n' \
    "${OARCLOUD_DB_PASSWORD:-$(new_password)}" "${old_oar:-$(new_password)}" "${old_ro:-$(new_password)}" > "$SECRETS.tmp")
  mv "$SECRETS.tmp" "$SECRETS"
  log "database passwords written to $SECRETS"
fi
chmod 600 "$SECRETS"
DB_PASSWORD=$(sed -n 's/^OARCLOUD_DB_PASSWORD=//p' "$SECRETS")
OAR_DB_PASS=$(sed -n 's/^OAR_DB_PASSWORD=//p' "$SECRETS")
OAR_DB_RO_PASS=$(sed -n 's/^OAR_DB_RO_PASSWORD=//p' "$SECRETS")
[[ "$DB_PASSWORD$OAR_DB_PASS$OAR_DB_RO_PASS" =~ ^[A-Za-z0-9]+$ ]] || die "$SECRETS: passwords must be letters and digits"

# ------------------------------------------------------------------------------------------------ PostgreSQL
pg_lsclusters -h | awk -v v=$PG_VER '$1==v && $2=="main"' | grep -q . || pg_createcluster $PG_VER main >/dev/null
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pgdata=/var/lib/postgresql/$PG_VER/main
  # a killed postmaster stays a zombie whose pid still "exists": PostgreSQL would refuse to start
  if [ -f "$pgdata/postmaster.pid" ] && ! pid_alive "$(head -1 "$pgdata/postmaster.pid")"; then
    log "removing stale postmaster.pid"; rm -f "$pgdata/postmaster.pid"
  fi
  rm -f /var/run/postgresql/.s.PGSQL.5432.lock
  pg_ctlcluster $PG_VER main start || true
  wait_for 100 pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL does not answer on 127.0.0.1:5432"
fi
psql_admin() { su - postgres -c "psql -qAtX -v ON_ERROR_STOP=1 $*"; }
if [ "$(psql_admin "-c \"select 1 from pg_roles where rolname='oarcloud'\"")" != 1 ]; then
  psql_admin "-c \"create role oarcloud login password '$DB_PASSWORD'\""
else
  psql_admin "-c \"alter role oarcloud password '$DB_PASSWORD'\""   # also replaces an older default
fi
if [ "$(psql_admin "-c \"select 1 from pg_database where datname='oarcloud'\"")" != 1 ]; then
  psql_admin "-c \"create database oarcloud owner oarcloud\""
fi
log "postgresql ok"

# ------------------------------------------------------------------------------------------------ OAR
[ -f $OAR_CONF.orig ] || cp -p $OAR_CONF $OAR_CONF.orig
setconf() {   # KEY VALUE: replaces, uncomments or appends KEY="VALUE"
  local k=$1 v=$2
  if grep -q "^$k=" $OAR_CONF; then sed -i "s|^$k=.*|$k=\"$v\"|" $OAR_CONF
  elif grep -q "^#\s*$k=" $OAR_CONF; then sed -i "0,/^#\s*$k=.*/s||$k=\"$v\"|" $OAR_CONF
  else echo "$k=\"$v\"" >> $OAR_CONF; fi
}
setconf DB_TYPE Pg
setconf DB_HOSTNAME 127.0.0.1
setconf DB_PORT 5432
setconf DB_BASE_NAME oar
setconf DB_BASE_LOGIN oar
setconf DB_BASE_PASSWD "$OAR_DB_PASS"
setconf DB_BASE_LOGIN_RO oar_ro
setconf DB_BASE_PASSWD_RO "$OAR_DB_RO_PASS"
setconf SERVER_HOSTNAME localhost
setconf SERVER_PORT 6666
setconf LOG_LEVEL 2
# the package default (5) makes a submission that follows another scheduling event wait ~10 s more
setconf SCHEDULER_MIN_TIME_BETWEEN_2_CALLS 0
# an oardel that lands while OAR is launching the job can miss oarexec; OAR sends the kill again only after this
# many seconds (default 20, checked every 10 s): a terminate then took ~30 s instead of ~2
setconf JOBDEL_SOFTWALLTIME 2
# a job whose node died cannot be killed there: OAR gives up (the job in Error, the node Suspected) after this many
# seconds instead of the default 300, so that the instances of a dead node end within about two minutes
setconf JOBDEL_WALLTIME 60
# bipbip reaches a job's node over ssh three times per launch (cpuset, ping, oarexec) and once more at its end:
# one shared connection per node saves ~0.5 s each (job submit → Running 4.0 s → 2.3 s with 40 resources)
# (a dead node's shared connection is given up after 10 s of silence, so checks of it fail rather than hang)
setconf OPENSSH_CMD "/usr/bin/ssh -p 6667 -e none -o ControlMaster=auto -o ControlPath=/var/lib/oar/.ssh/cm-%r@%h:%p -o ControlPersist=600 -o ServerAliveInterval=5 -o ServerAliveCountMax=2"
# how often Almighty checks that Alive nodes answer (default 300 s): a dead node is Suspected, its jobs end, and its
# instances are terminated within ~half a minute rather than five
setconf FINAUD_FREQUENCY 15
# ...including nodes that run jobs (by default finaud skips them: a node full of instances would never be suspected)
setconf CHECK_NODES_WITH_RUNNING_JOB yes
chown oar:root $OAR_CONF; chmod 600 $OAR_CONF
touch /var/log/oar.log; chown oar:root /var/log/oar.log; chmod 644 /var/log/oar.log

if [ "$(psql_admin "-c \"select 1 from pg_roles where rolname='oar_ro'\"")" = 1 ]; then
  psql_admin "-c \"alter role oar password '$OAR_DB_PASS'\" -c \"alter role oar_ro password '$OAR_DB_RO_PASS'\""
fi
if ! oar-database --check >/dev/null 2>&1; then
  if [ "$(psql_admin "-c \"select 1 from pg_database where datname='oar'\"")" != 1 ]; then
    log "oar-database --create"
    oar-database --create --db-is-local -y >/dev/null
  fi
  oar-database --check >/dev/null 2>&1 || die "oar-database --check fails"
fi
log "oar database ok"

start_oar_node_sshd
su oar -s /bin/sh -c "ssh -p 6667 -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 localhost true" 2>/dev/null \
  || die "ssh oar@localhost:6667 does not work"
log "oar node sshd ok"

# server: Almighty (port 6666); restarted when oar.conf changed since it started (it reads it only once)
confsum=$(md5sum < $OAR_CONF)
if port_open 6666 && [ "$(cat /var/run/oar-server.confsum 2>/dev/null)" != "$confsum" ]; then
  log "oar.conf changed: restarting Almighty"; stop_pidfile /var/run/oar-server.pid
  wait_for 50 bash -c '! (exec 3<>/dev/tcp/127.0.0.1/6666) 2>/dev/null' || true
fi
if ! port_open 6666; then
  # a stale pid file pointing at any live pid makes the init script silently do nothing
  pid=$(cat /var/run/oar-server.pid 2>/dev/null || true)
  if pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f /var/run/oar-server.pid
  /etc/init.d/oar-server start >/dev/null 2>&1 || die "oar-server start failed (see /var/log/oar.log)"
  wait_for 50 port_open 6666 || { tail -5 /var/log/oar.log; die "Almighty does not listen on 6666"; }
  echo "$confsum" > /var/run/oar-server.confsum
fi
log "Almighty ok"

props=$(oarproperty -l)   # captured, for the same reason
for p in host cpu core mem slot; do
  if ! printf '%s\n' "$props" | grep -qx "$p"; then
    # a listing that came back short (the database busy) must not fail the run: re-check before giving up
    if [ $p = host ]; then add="oarproperty -c -a host"; else add="oarproperty -a $p"; fi
    $add >/dev/null 2>&1 || oarproperty -l | grep -qx "$p" || die "cannot add the OAR property $p"
  fi
done
# the resources themselves (OARCLOUD_OAR_CORES cores of OARCLOUD_SLOTS_PER_CORE slots on localhost) are made by
# `oarcloud up`/`test` right after this script (src/adapters/oar-nodes.ts, ensureSlots)
# repair the effects of a failed hook (suspected node, stopped queues)
oarnodesetting -s Alive -h localhost >/dev/null 2>&1 || true
oarnotify -E >/dev/null 2>&1 || true
alive=$(oarnodes -s 2>/dev/null || true)
log "OAR resources ok ($(grep -c Alive <<<"$alive" || true) Alive)"

# the Unix user that owns the jobs (oarsub refuses root and oar). OAR purges this user's files in /tmp,
# /dev/shm and /var/tmp when its last job ends, so nothing of the service ever lives there as this user.
id "$JOB_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$JOB_USER"
home=$(getent passwd "$JOB_USER" | cut -d: -f6)
[ -d "$home" ] || { mkdir -p "$home"; chown "$JOB_USER:" "$home"; }
install -d -m 755 /usr/lib/oarcloud
# the job command: holds the OAR resources while the instance lives; OAR ends it (oardel, walltime)
cat > /usr/lib/oarcloud/instance-job <<'S'
#!/bin/sh
# OAR job body of an OAR Cloud instance: holds its cores until oardel or walltime.
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
S
chmod 755 /usr/lib/oarcloud/instance-job
# the node agent (docker/node-agent.sh): what the server runs on compute nodes, here for this host's VXLAN port
install -m 755 "$HERE/node-agent.sh" /usr/lib/oarcloud/node-agent
# the key with which the server logs in to compute nodes as root (oarcloud node join installs it there)
[ -f /etc/oarcloud/node_key ] || ssh-keygen -q -t ed25519 -N '' -C "oarcloud-server@$(hostname)" -f /etc/oarcloud/node_key
# every ssh of the server to a node (agent calls, libvirt's lxc+ssh:// transport) goes through this: one shared
# connection per node, given up after 10 s of silence (a dead node fails fast instead of hanging)
cat > /usr/lib/oarcloud/node-ssh <<'S'
#!/bin/sh
mkdir -p /run/oarcloud/ssh
exec ssh -i /etc/oarcloud/node_key -o BatchMode=yes -o ControlMaster=auto -o ControlPath=/run/oarcloud/ssh/%r@%h:%p \
  -o ControlPersist=600 -o ServerAliveInterval=5 -o ServerAliveCountMax=2 -o ConnectTimeout=5 \
  -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/etc/oarcloud/known_hosts "$@"
S
chmod 755 /usr/lib/oarcloud/node-ssh
log "job user $JOB_USER ok"

# ------------------------------------------------------------------------------------------------ libvirt
start_libvirtd
log "libvirtd ok"

# the instance network: NAT, no DHCP (the API server assigns static addresses it knows at once)
if ! $VIRSH net-info "$NET_NAME" >/dev/null 2>&1; then
  netxml=$(mktemp); cat > "$netxml" <<XML
<network>
  <name>$NET_NAME</name>
  <forward mode='nat'/>
  <bridge name='$NET_BRIDGE' stp='off' delay='0'/>
  <domain name='ec2.internal' localOnly='yes'/>
  <ip address='$NET_PREFIX.1' netmask='255.255.255.0'/>
</network>
XML
  $VIRSH net-define "$netxml" >/dev/null; rm -f "$netxml"
fi
netinfo=$($VIRSH net-info "$NET_NAME")   # captured: `cmd | grep -q` fails under pipefail when grep exits early
[[ $netinfo =~ Active:[[:space:]]+yes ]] || $VIRSH net-start "$NET_NAME" >/dev/null
$VIRSH net-autostart "$NET_NAME" >/dev/null 2>&1 || true
enable_bridge_netfilter
log "network $NET_NAME ($NET_PREFIX.0/24 on $NET_BRIDGE) ok"

# ------------------------------------------------------------------------------------------------ images
for img in $IMAGES; do
  if [ -f "$DATA_DIR/layers/base-$img/.complete" ]; then continue; fi
  log "building base image $img"
  "$ROOT/fixtures/images/build.sh" "$img" "$DATA_DIR/layers/base-$img" >"$LOG_DIR/image-$img.log" 2>&1 \
    || { tail -20 "$LOG_DIR/image-$img.log"; die "building image $img failed"; }
done
log "base images ok ($IMAGES)"
log "provisioned"
