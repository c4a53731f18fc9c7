#!/bin/bash
# OAR Cloud's node agent: what the API server does on a compute node that only the node itself can do (its
# mounts, its /proc, its cgroups, its bridges). The server runs it as root over ssh, one operation per call:
#
#   check                              prints "ok <hostname> <cgroup layout>"; fails if libvirtd does not answer
#   layers                             the complete cached layers, one "<id> <sha256>" per line
#   receive-layer ID                   stores a tar stream (stdin) as ID.tar, unverified
#   commit-layer ID SHA256             checks ID.tar against the server's hash, unpacks it, marks the layer complete
#   mount ID OWNER LAYER...            mounts the instance's overlay (layers top first); prints the root directory
#   write-files ID OWNER               stdin: one "<octal mode> <path> <base64 content>" per line, into the rootfs
#   unmount ID | remove ID             unmount (the upper layer stays) | unmount and delete the instance's disk
#   mounts                             instance ids with a mounted overlay
#   send-upper ID | receive-upper ID   the instance's upper layer as a tar stream on stdout | from stdin
#   limit-pids NAME MAX                moves the container's processes into a pids cgroup capped at MAX
#   exec NAME COMMAND                  runs a shell command in the container, as its root (tests, diagnosis)
#   set-mtu NAME MTU                   the MTU of the container's eth0 (libvirt's LXC driver ignores <mtu>)
#   set-limits NAME MIB CPUSET VCPUS   a running container's memory limit, host CPUs and CPU time (live resize)
#   memory-used NAME                   the MiB it uses now and cannot give back (its working set)
#   net-setup BRIDGE VXLAN VNI LOCAL MTU PEER...   the instance bridge and its VXLAN port, flooding to the peers
#   vpc-up VNI MTU GWMAC LOCAL UPLINK_NODE UPLINK_ROUTER
#                                      one VPC on this node: bridge ocv<VNI>, VXLAN port ocx<VNI> (LOCAL "-": none),
#                                      router namespace ocr<VNI> (gateway leg on the bridge with MAC GWMAC, uplink
#                                      veth ocu<VNI> with UPLINK_NODE/30 here and UPLINK_ROUTER/30 in the router);
#                                      stdin: "peer IP", "gateway IP/LEN", "nat CIDR" (may leave through the
#                                      uplink, masqueraded), "eip PUBLIC PRIVATE", "neighbor IP MAC" (the VPC's
#                                      instances, so that the router never asks by ARP), "metadata HOST:PORT" (the
#                                      metadata service the router's relay at 169.254.169.254:80 forwards to),
#                                      "hops IP N" (the TTL of the relay's answers to that instance: its hop limit),
#                                      "dns on" (a resolver at 169.254.169.253 in the router) and "host IP NAME..."
#                                      (the names it answers) lines; what is not given goes
#   metadata-relay VNI HOST PORT       (run by the relay per connection) one HTTP request from $SOCAT_PEERADDR to
#                                      HOST:PORT, with "X-Oarcloud-Source: VNI ADDRESS" as its first header
#   vpc-down VNI                       removes the VPC's bridge, VXLAN port and router
#   vpcs                               the VNIs of the VPCs on this node, one per line
#   usage                              what each running container used so far, from its cgroups: "instance NAME
#                                      CPU_NS RSS_BYTES LIMIT_BYTES READ_BYTES WRITE_BYTES READ_OPS WRITE_OPS"; and
#                                      each instance port's counters: "port IFACE RX_BYTES RX_PACKETS TX_BYTES TX_PACKETS"
#
# Instance data lives under $OARCLOUD_NODE_DATA (/var/lib/oarcloud-node). Installed by `oarcloud node join`.
set -euo pipefail
export LANG=C LC_ALL=C
DATA=${OARCLOUD_NODE_DATA:-/var/lib/oarcloud-node}
LAYERS=$DATA/layers
INSTANCES=$DATA/instances
PIDS_ROOT=/sys/fs/cgroup/pids/oarcloud
VIRSH="virsh -q -c lxc:///"
TAR_OPTS=(--numeric-owner --xattrs --xattrs-include='*')

die() { echo "node-agent: $*" >&2; exit 2; }
instance_id() { [[ ${1:-} =~ ^i-[0-9a-f]+$ ]] || die "bad instance id '${1:-}'"; }
layer_id() { [[ ${1:-} =~ ^[A-Za-z0-9_-][A-Za-z0-9_.-]*$ && ${1:-} != *..* ]] || die "bad layer id '${1:-}'"; }
owner() { [[ ${1:-} =~ ^[0-9]+$ ]] || die "bad owner '${1:-}'"; }
mounted() { awk -v m="$INSTANCES/$1/rootfs" '$2 == m && $3 == "overlay" { found = 1 } END { exit !found }' /proc/mounts; }
# the container's init: the child of its libvirt_lxc controller, whose pid libvirt gives (in this node's pid namespace)
init_pid() {
  local controller children
  controller=$($VIRSH domid "$1" | tr -d ' \n')
  read -r children < "/proc/$controller/task/$controller/children" || true
  [ -n "${children:-}" ] || die "container $1 has no init process"
  echo "${children%% *}"
}
cgroup_dir() {
  local pid line
  pid=$(init_pid "$1")
  line=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup" | head -1)
  [ -n "$line" ] || die "no $2 cgroup for $1"
  echo "/sys/fs/cgroup/$2$line"
}

op=${1:-}; shift || true
case "$op" in
  usage)
    # bash builtins only once `virsh list` has run: no process per container, so a pass stays cheap with many
    $VIRSH list | while read -r controller name _; do
      [[ $name =~ ^i-[0-9a-f]+$ ]] || continue
      init=""; { read -r init _ || true; } < "/proc/$controller/task/$controller/children" 2>/dev/null || true
      [ -n "$init" ] || continue
      cpu="" mem="" blk=""
      while IFS=: read -r _ controllers path; do
        case ",$controllers," in *,cpuacct,*) cpu=/sys/fs/cgroup/$controllers$path ;; esac
        case ",$controllers," in *,memory,*) mem=/sys/fs/cgroup/$controllers$path ;; esac
        case ",$controllers," in *,blkio,*) blk=/sys/fs/cgroup/$controllers$path ;; esac
      done < "/proc/$init/cgroup"
      [ -n "$cpu" ] && [ -n "$mem" ] || continue
      usage=0 rss=0 limit=0; read -r usage < "$cpu/cpuacct.usage" || true
      read -r limit < "$mem/memory.limit_in_bytes" || true
      while read -r key value; do [ "$key" = total_rss ] && { rss=$value; break; }; done < "$mem/memory.stat"
      rb=0 wb=0 ro=0 wo=0
      if [ -n "$blk" ]; then
        while read -r _ op n; do case $op in Read) rb=$((rb + n)) ;; Write) wb=$((wb + n)) ;; esac; done < "$blk/blkio.throttle.io_service_bytes" 2>/dev/null || true
        while read -r _ op n; do case $op in Read) ro=$((ro + n)) ;; Write) wo=$((wo + n)) ;; esac; done < "$blk/blkio.throttle.io_serviced" 2>/dev/null || true
      fi
      echo "instance $name $usage $rss $limit $rb $wb $ro $wo"
    done
    for dir in /sys/class/net/oc*/statistics; do
      [ -d "$dir" ] || continue
      iface=${dir#/sys/class/net/}; iface=${iface%/statistics}
      rxb=0 rxp=0 txb=0 txp=0
      read -r rxb < "$dir/rx_bytes"; read -r rxp < "$dir/rx_packets"; read -r txb < "$dir/tx_bytes"; read -r txp < "$dir/tx_packets"
      echo "port $iface $rxb $rxp $txb $txp"
    done ;;
  check)
    $VIRSH version >/dev/null || die "libvirtd does not answer on this node"
    echo "ok $(uname -n) $(stat -fc %T /sys/fs/cgroup)" ;;
  layers)
    mkdir -p "$LAYERS"
    for d in "$LAYERS"/*/; do
      [ -f "$d.complete" ] && echo "$(basename "$d") $(cat "$d.digest" 2>/dev/null || echo -)"
    done; true ;;
  receive-layer)
    layer_id "${1:-}"; mkdir -p "$LAYERS"
    cat > "$LAYERS/$1.tar" ;;
  commit-layer)
    layer_id "${1:-}"; [[ ${2:-} =~ ^[0-9a-f]{64}$ ]] || die "bad digest '${2:-}'"
    tarfile=$LAYERS/$1.tar; building=$LAYERS/$1.building
    got=$(sha256sum < "$tarfile" | cut -d' ' -f1)
    if [ "$got" != "$2" ]; then rm -f "$tarfile"; die "layer $1: content hash $got differs from the server's $2"; fi
    rm -rf "$building"; mkdir -p "$building"
    tar -C "$building" "${TAR_OPTS[@]}" -xpf "$tarfile"
    rm -f "$tarfile"; rm -rf "${LAYERS:?}/$1"
    mv "$building" "$LAYERS/$1"
    echo "$2" > "$LAYERS/$1/.digest"; : > "$LAYERS/$1/.complete" ;;
  mount)
    instance_id "${1:-}"; owner "${2:-}"; id=$1 uid=$2; shift 2
    dir=$INSTANCES/$id
    if ! mounted "$id"; then
      mkdir -p "$dir/upper" "$dir/work" "$dir/rootfs"
      chown "$uid:$uid" "$dir/upper"
      lower=""
      for l in "$@"; do
        layer_id "$l"; [ -f "$LAYERS/$l/.complete" ] || die "layer $l is missing from $LAYERS"
        lower="${lower:+$lower:}$LAYERS/$l"
      done
      [ -n "$lower" ] || die "no layers"
      mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/rootfs"
    fi
    echo "$dir/rootfs" ;;
  write-files)
    instance_id "${1:-}"; owner "${2:-}"; rootfs=$INSTANCES/$1/rootfs; uid=$2
    mounted "$1" || die "$1 is not mounted"
    while read -r mode file content; do
      [[ $mode =~ ^[0-7]{3,4}$ ]] || die "bad mode '$mode'"
      case "/$file/" in */../*) die "refusing to write outside the rootfs: $file" ;; esac
      target=$rootfs/$file
      # directories we create belong to the container's root too
      missing=(); d=$(dirname "$target")
      while [ ! -d "$d" ]; do missing+=("$d"); d=$(dirname "$d"); done
      mkdir -p -m 700 "$(dirname "$target")"
      for d in "${missing[@]}"; do chown "$uid:$uid" "$d"; done
      # the image is the user's: a link in it must not lead out of it
      dir=$(realpath "$(dirname "$target")")
      [[ $dir == "$(realpath "$rootfs")" || $dir == "$(realpath "$rootfs")"/* ]] || die "refusing to write through a link out of the rootfs: $file"
      [ -L "$target" ] && rm -f "$target"
      printf '%s' "$content" | base64 -d > "$target"
      chmod "$mode" "$target"; chown "$uid:$uid" "$target"
    done ;;
  unmount)
    instance_id "${1:-}"; if mounted "$1"; then umount "$INSTANCES/$1/rootfs"; fi ;;
  remove)
    instance_id "${1:-}"; if mounted "$1"; then umount "$INSTANCES/$1/rootfs"; fi
    rm -rf "${INSTANCES:?}/$1" ;;
  mounts)
    awk -v p="$INSTANCES/" '$3 == "overlay" && index($2, p) == 1 { n = split($2, a, "/"); print a[n - 1] }' /proc/mounts ;;
  send-upper)
    instance_id "${1:-}"; [ -d "$INSTANCES/$1/upper" ] || die "$1 has no disk on this node"
    tar -C "$INSTANCES/$1/upper" "${TAR_OPTS[@]}" -cf - . ;;
  receive-upper)
    instance_id "${1:-}"; mounted "$1" && die "$1 is mounted"
    rm -rf "${INSTANCES:?}/$1"; mkdir -p "$INSTANCES/$1/upper.new"
    tar -C "$INSTANCES/$1/upper.new" "${TAR_OPTS[@]}" -xpf -
    mv "$INSTANCES/$1/upper.new" "$INSTANCES/$1/upper" ;;
  limit-pids)
    [[ ${2:-} =~ ^[0-9]+$ ]] || die "bad limit"; instance_id "${1:-}"
    dir=$PIDS_ROOT/$1; mkdir -p "$dir"; echo "$2" > "$dir/pids.max"
    source=$(cgroup_dir "$1" memory)/cgroup.procs
    # processes may fork while they are moved: repeat until every one is inside
    for _ in 1 2 3 4 5; do
      moved=0
      while read -r p; do
        grep -qx "$p" "$dir/cgroup.procs" && continue
        echo "$p" > "$dir/cgroup.procs" 2>/dev/null || true; moved=1
      done < "$source"
      [ $moved = 0 ] && break
    done ;;
  unlimit-pids)
    instance_id "${1:-}"; rmdir "$PIDS_ROOT/$1" 2>/dev/null || true ;;
  set-limits)
    # the cgroups as the domain's XML sets them at start (libvirt's setmem cannot exceed the defined memory)
    instance_id "${1:-}"; [[ ${2:-} =~ ^[0-9]+$ ]] || die "bad memory"; [[ ${3:-} =~ ^[0-9,-]+$ ]] || die "bad cpuset"
    [[ ${4:-} =~ ^[0-9]+$ ]] || die "bad vcpus"
    echo $(( $2 * 1048576 )) > "$(cgroup_dir "$1" memory)/memory.limit_in_bytes"
    echo "$3" > "$(cgroup_dir "$1" cpuset)/cpuset.cpus"
    cpu=$(cgroup_dir "$1" cpu); echo $(( $4 * 1024 )) > "$cpu/cpu.shares"; echo $(( $4 * 100000 )) > "$cpu/cpu.cfs_quota_us" ;;
  memory-used)
    # the working set: usage less the inactive file cache the kernel would reclaim
    instance_id "${1:-}"; dir=$(cgroup_dir "$1" memory)
    inactive=$(awk '$1 == "total_inactive_file" { print $2 }' "$dir/memory.stat")
    used=$(( $(cat "$dir/memory.usage_in_bytes") - ${inactive:-0} ))
    echo $(( (used > 0 ? used : 0) / 1048576 + 1 )) ;;
  exec)
    instance_id "${1:-}"; pid=$(init_pid "$1")
    # in the container's cgroups first, so that what runs is held to its limits like its own processes
    while IFS=: read -r _ controllers path; do
      c=${controllers%%,*}; [ -n "$c" ] || continue
      for dir in "/sys/fs/cgroup/$controllers" "/sys/fs/cgroup/$c"; do
        [ -w "$dir$path/cgroup.procs" ] && { echo $$ > "$dir$path/cgroup.procs" 2>/dev/null || true; break; }
      done
    done < "/proc/$pid/cgroup"
    exec nsenter -t "$pid" -a /bin/sh -c "${2:?command}" ;;
  set-mtu)
    instance_id "${1:-}"; [[ ${2:-} =~ ^[0-9]+$ ]] || die "bad MTU"
    nsenter -t "$(init_pid "$1")" -n ip link set eth0 mtu "$2" ;;
  net-setup)
    bridge=${1:?bridge} vxlan=${2:?vxlan} vni=${3:?vni} local=${4:?local address} mtu=${5:?mtu}; shift 5
    if ! ip link show "$bridge" >/dev/null 2>&1; then
      ip link add "$bridge" type bridge stp_state 0 forward_delay 0
    fi
    if ! ip link show "$vxlan" >/dev/null 2>&1; then
      ip link add "$vxlan" type vxlan id "$vni" local "$local" dstport 4789 nolearning
    fi
    ip link set "$vxlan" mtu "$mtu" master "$bridge" up
    ip link set "$bridge" up
    # the flood list is exactly the peers given
    want=" $* "
    for dst in $(bridge fdb show dev "$vxlan" | awk '$1 == "00:00:00:00:00:00" { for (i = 1; i < NF; i++) if ($i == "dst") print $(i + 1) }'); do
      [[ $want == *" $dst "* ]] || bridge fdb del 00:00:00:00:00:00 dev "$vxlan" dst "$dst"
    done
    for peer in "$@"; do bridge fdb append 00:00:00:00:00:00 dev "$vxlan" dst "$peer" 2>/dev/null || true; done
    # bridged frames go through this node's iptables, where the isolation rules live
    [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
    true ;;
  vpc-up)
    vni=${1:?vni} mtu=${2:?mtu} gwmac=${3:?gateway mac} local=${4:?local address} up_node=${5:?uplink address} up_router=${6:?router uplink address}
    [[ $vni =~ ^[0-9]+$ ]] || die "bad VNI"
    br=ocv$vni vx=ocx$vni ns=ocr$vni gleg=ocg$vni uleg=ocu$vni
    peers=() gateways=() nat=() eips=() neighbors=() metadata="" dns=off hosts="" hops=()
    while read -r kind a b; do
      case "$kind" in
        peer) peers+=("$a") ;; gateway) gateways+=("$a") ;; nat) nat+=("$a") ;; eip) eips+=("$a $b") ;; neighbor) neighbors+=("$a $b") ;;
        metadata) [[ $a =~ ^[0-9.]+:[0-9]+$ ]] || die "bad metadata target '$a'"; metadata=$a ;;
        dns) dns=$a ;;
        hops) [[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9]+$ ]] || die "bad hops line"; hops+=("$b $a") ;;
        host) [[ "$a $b" =~ ^[0-9.]+\ [A-Za-z0-9.\ -]+$ ]] || die "bad host line"; hosts+="$a $b"$'\n' ;; '') ;;
        *) die "vpc-up: unknown line '$kind'" ;;
      esac
    done
    ip link show "$br" >/dev/null 2>&1 || ip link add "$br" type bridge stp_state 0 forward_delay 0
    ip link set "$br" up
    # bridged frames go through this node's netfilter, where the packet filter lives
    [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
    if [ "$local" != - ]; then
      ip link show "$vx" >/dev/null 2>&1 || ip link add "$vx" type vxlan id "$vni" local "$local" dstport 4789 nolearning
      ip link set "$vx" mtu "$mtu" master "$br" up
      want=" ${peers[*]:-} "
      for dst in $(bridge fdb show dev "$vx" | awk '$1 == "00:00:00:00:00:00" { for (i = 1; i < NF; i++) if ($i == "dst") print $(i + 1) }'); do
        [[ $want == *" $dst "* ]] || bridge fdb del 00:00:00:00:00:00 dev "$vx" dst "$dst"
      done
      for peer in "${peers[@]}"; do bridge fdb append 00:00:00:00:00:00 dev "$vx" dst "$peer" 2>/dev/null || true; done
    fi
    [ -e "/run/netns/$ns" ] || ip netns add "$ns"
    if ! ip link show "$gleg" >/dev/null 2>&1; then
      ip link add "$gleg" type veth peer name gw netns "$ns"
      ip link add "$uleg" type veth peer name upl netns "$ns"
    fi
    ip link set "$gleg" mtu "$mtu" master "$br" up
    ip -n "$ns" link set gw address "$gwmac" mtu "$mtu" up
    ip -n "$ns" link set lo up
    ip addr replace "$up_node/30" dev "$uleg"; ip link set "$uleg" up
    ip -n "$ns" addr replace "$up_router/30" dev upl; ip -n "$ns" link set upl up
    ip -n "$ns" route replace default via "$up_node"
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    sysctl -qw net.ipv4.ip_forward=1
    # the gateway addresses are exactly those given
    want=" ${gateways[*]:-} "
    for have in $(ip -n "$ns" -o -4 addr show dev gw | awk '{ print $4 }'); do
      [[ $want == *" $have "* ]] || ip -n "$ns" addr del "$have" dev gw
    done
    for g in "${gateways[@]}"; do ip -n "$ns" addr replace "$g" dev gw; done
    # the instances' MACs are known: the router's neighbor table is exactly them
    want=" "; for n in "${neighbors[@]}"; do want+="${n%% *} "; done
    for have in $(ip -n "$ns" neigh show dev gw nud permanent | awk '{ print $1 }'); do
      [[ $want == *" $have "* ]] || ip -n "$ns" neigh del "$have" dev gw
    done
    for n in "${neighbors[@]}"; do ip -n "$ns" neigh replace "${n%% *}" lladdr "${n#* }" dev gw nud permanent; done
    # public addresses reach the router through the uplink; routes of ours carry protocol 78
    want=" "; for e in "${eips[@]}"; do want+="${e%% *} "; done
    for have in $(ip -o route show dev "$uleg" proto 78 | awk '{ print $1 }'); do
      [[ $want == *" $have "* ]] || ip route del "$have" dev "$uleg" proto 78
    done
    for e in "${eips[@]}"; do ip route replace "${e%% *}/32" via "$up_router" dev "$uleg" proto 78; done
    # the router's own rules, replaced in one transaction: out through the uplink only from subnets with a route
    # to an internet gateway (masqueraded, or as their elastic IP), in only to an elastic IP's instance
    # the metadata relay: 169.254.169.254:80 in the router, one socat forking a relay per connection
    relay_pids() { for p in $(ip netns pids "$ns"); do grep -qa "^socat" "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done; true; }
    if [ -n "$metadata" ]; then
      ip -n "$ns" addr replace 169.254.169.254/32 dev lo
      current=$(for p in $(relay_pids); do tr '\0' ' ' < "/proc/$p/cmdline"; echo; done)
      if [[ $current != *"metadata-relay $vni ${metadata%:*} ${metadata##*:}"* ]]; then
        for p in $(relay_pids); do kill "$p" 2>/dev/null || true; done
        ip netns exec "$ns" setsid socat TCP-LISTEN:80,bind=169.254.169.254,reuseaddr,fork \
          SYSTEM:"exec $0 metadata-relay $vni ${metadata%:*} ${metadata##*:}" </dev/null >/dev/null 2>&1 &
      fi
    fi
    # the resolver: dnsmasq on 169.254.169.253 answering the VPC's instance names (and nothing else), reloaded
    # (SIGHUP) when they change
    state=/run/oarcloud-vpc; mkdir -p "$state"
    dns_pid() { [ -f "$state/$vni.dns.pid" ] && kill -0 "$(cat "$state/$vni.dns.pid")" 2>/dev/null && cat "$state/$vni.dns.pid"; true; }
    if [ "$dns" = on ]; then
      ip -n "$ns" addr replace 169.254.169.253/32 dev lo
      if ! printf '%s' "$hosts" | cmp -s - "$state/$vni.hosts"; then
        printf '%s' "$hosts" > "$state/$vni.hosts.new" && mv -f "$state/$vni.hosts.new" "$state/$vni.hosts"
        pid=$(dns_pid); [ -n "$pid" ] && kill -HUP "$pid"
      fi
      if [ -z "$(dns_pid)" ]; then
        ip netns exec "$ns" dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$state/$vni.hosts" \
          --listen-address=169.254.169.253 --bind-interfaces --local=/ec2.internal/ --domain-needed --user=root \
          --pid-file="$state/$vni.dns.pid"
      fi
    else
      pid=$(dns_pid); [ -n "$pid" ] && kill "$pid"
      rm -f "$state/$vni.hosts" "$state/$vni.dns.pid"
    fi
    pairs_in=() pairs_out=()
    for e in "${eips[@]}"; do pairs_in+=("${e% *} : ${e#* }"); pairs_out+=("${e#* } : ${e% *}"); done
    elements() { [ $# -gt 0 ] && (IFS=,; echo "elements = { $* }") || true; }
    {
      echo "table ip vpc { }"; echo "delete table ip vpc"
      echo "table ip vpc {"
      echo "  set nat_src { type ipv4_addr; flags interval; $(elements "${nat[@]}") }"
      echo "  map eip_in { type ipv4_addr : ipv4_addr; $(elements "${pairs_in[@]}") }"
      echo "  map eip_out { type ipv4_addr : ipv4_addr; $(elements "${pairs_out[@]}") }"
      echo "  chain forward { type filter hook forward priority filter; policy accept;"
      echo "    ct state established,related accept"
      [ -n "$metadata" ] && echo "    iifname \"gw\" tcp dport ${metadata##*:} drop"
      echo "    iifname \"gw\" oifname \"upl\" ip saddr @nat_src accept"
      echo "    iifname \"upl\" oifname \"gw\" ct status dnat accept"
      echo "    iifname \"upl\" drop"
      echo "    oifname \"upl\" drop"
      echo "  }"
      echo "  chain pre { type nat hook prerouting priority dstnat; policy accept; iifname \"upl\" dnat to ip daddr map @eip_in; }"
      echo "  chain post { type nat hook postrouting priority srcnat; policy accept;"
      echo "    oifname \"upl\" snat to ip saddr map @eip_out"
      echo "    oifname \"upl\" masquerade"
      echo "  }"
      # the relay's answers leave with each instance's metadata hop limit as their TTL: one router more drops them
      declare -A by_hops=()
      for h in "${hops[@]}"; do by_hops[${h%% *}]+="${by_hops[${h%% *}]:+, }${h#* }"; done
      echo "  chain hop_limit { type filter hook output priority mangle; policy accept;"
      for n in "${!by_hops[@]}"; do echo "    ip saddr 169.254.169.254 tcp sport 80 ip daddr { ${by_hops[$n]} } ip ttl set $n"; done
      echo "  }"
      echo "}"
    } | ip netns exec "$ns" nft -f -
    # this node sends what the routers masquerade on, from its own address
    nft -f - <<'NFT'
table ip oarcloud_uplinks { }
flush table ip oarcloud_uplinks
table ip oarcloud_uplinks {
  chain post { type nat hook postrouting priority srcnat; policy accept; iifname "ocu*" oifname != "ocu*" ip saddr 100.64.0.0/10 masquerade; }
}
NFT
    true ;;
  vpc-down)
    vni=${1:?vni}; [[ $vni =~ ^[0-9]+$ ]] || die "bad VNI"
    # the router's processes (the metadata relay) end first; its veths go with its namespace
    if [ -e "/run/netns/ocr$vni" ]; then
      for p in $(ip netns pids "ocr$vni"); do kill "$p" 2>/dev/null || true; done
      ip netns del "ocr$vni"
    fi
    rm -f "/run/oarcloud-vpc/$vni.hosts" "/run/oarcloud-vpc/$vni.dns.pid"
    for dev in "ocu$vni" "ocg$vni" "ocx$vni" "ocv$vni"; do ip link del "$dev" 2>/dev/null || true; done
    true ;;
  metadata-relay)
    vni=${1:?vni} host=${2:?host} port=${3:?port}
    IFS= read -r request || exit 0
    { printf '%s\nX-Oarcloud-Source: %s %s\r\n' "$request" "$vni" "${SOCAT_PEERADDR:?}"; cat; } | socat -t 2 - "TCP:$host:$port" ;;
  vpcs)
    ip -o link show type bridge | awk -F': ' '{ print $2 }' | sed -n 's/^ocv\([0-9]*\).*/\1/p' ;;
  *)
    die "unknown operation '$op' (see the head of $0)" ;;
esac
