/**
 * A node's packet filter for instance traffic, in nftables, rewritten whole in one `nft -f` transaction (what was
 * measured fastest and atomic on this kernel; see shared/reference/multinode-network.md, D3). Two tables:
 *
 * - `bridge oarcloud_ports`, port security, where frames still carry the port they came in on: a port may send
 *   only from its own MAC and IPv4 address (ARP included), never IPv6; and no ARP to or from a VPC gateway address
 *   crosses a VXLAN port, so that each instance finds its own node's router (every node has one per VPC, with the
 *   same gateway addresses, and knows every instance's MAC without asking): each node routes its own instances.
 * - `inet oarcloud`, on bridged IPv4 (br_netfilter), where the in/out interface is the bridge, so ports are keyed by
 *   (bridge, address), which port security makes trustworthy: stateless subnet ACLs first, then conntrack (zone per
 *   VPC, so overlapping CIDRs stay apart), then the source port's egress chain and the destination port's ingress
 *   chain, found in O(1) through verdict maps. Source groups are named sets of member addresses.
 *
 * Rules follow the ports to where they run: each node holds the chains of its own instances, and the member sets
 * of every group they name. Nothing here knows EC2: the model says networks, ports, rules and boundaries.
 */
import { createHash } from 'node:crypto';
import { run, type ExecResult } from './exec';

/** A network: 'shared' (the instance network every default VPC stands for) or a VPC's VXLAN number. */
export type NetworkId = 'shared' | number;

export interface FilterRule {
  /** '-1' (all), 'tcp', 'udp', 'icmp' or an IP protocol number. */
  protocol: string;
  /** Ports (tcp/udp), or ICMP type and code (-1: any); null where they mean nothing. */
  from: number | null;
  to: number | null;
  /** The peer: a CIDR block, or a named set of addresses. */
  cidr?: string;
  set?: string;
}

export interface FirewallPort {
  /** The host-side veth name. */
  port: string;
  network: NetworkId;
  ip: string;
  mac: string;
  ingress: FilterRule[];
  egress: FilterRule[];
}

export interface AclRule {
  allow: boolean;
  protocol: string;
  cidr: string;
  from: number | null;
  to: number | null;
  icmpType: number | null;
  icmpCode: number | null;
}

/** A subnet's boundary: the stateless rules its traffic meets on the way out and in (lowest number first). */
export interface SubnetBoundary {
  network: NetworkId;
  cidr: string;
  egress: AclRule[];
  ingress: AclRule[];
}

export interface FirewallModel {
  ports: FirewallPort[];
  /** Named sets of addresses (security group members), by set name. */
  sets: Record<string, string[]>;
  subnets: SubnetBoundary[];
  /** Addresses that always reach ports of a network (the shared network's gateway: the server). */
  trusted: { network: NetworkId; ip: string }[];
  /** The gateway addresses of the VPCs on this node, answered by the node's own router only. */
  gateways: { vni: number; ip: string }[];
  /**
   * On the shared network's gateway: 169.254.169.254:80 goes to the metadata service at `to`, and its answers to each
   * instance leave with the IP TTL of the instance's metadata hop limit (so that one more router hop drops them).
   */
  metadata?: { network: NetworkId; to: string; hops: { ip: string; hops: number }[] };
}

/**
 * An output chain setting the IP TTL of the metadata service's answers (source port `ports`) to each instance's hop
 * limit, one rule per limit in use (nftables cannot take a TTL from a map).
 */
export function hopLimitChain(hops: { ip: string; hops: number }[], ports: string): string[] {
  const byLimit = new Map<number, string[]>();
  for (const h of hops) byLimit.set(h.hops, [...(byLimit.get(h.hops) ?? []), h.ip]);
  return [
    '  chain hop_limit { type filter hook output priority mangle; policy accept;',
    ...[...byLimit].map(([limit, ips]) => `    tcp sport ${ports} ip daddr { ${ips.join(', ')} } ip ttl set ${limit}`),
    '  }',
  ];
}

/** The instance metadata service's address, as instances know it. */
export const METADATA_ADDRESS = '169.254.169.254';
/** The VPC resolver's address (EC2's link-local DNS server). */
export const RESOLVER_ADDRESS = '169.254.169.253';

type Runner = (cmd: string, args: string[], opts?: { input?: string }) => Promise<ExecResult>;

/** The bridge a network has on one node. */
export type BridgeNamer = (network: NetworkId) => string;
export const vpcBridge = (vni: number) => `ocv${vni}`;
/** A VPC's VXLAN port on every node. */
export const vpcOverlayPort = (vni: number) => `ocx${vni}`;

const q = (s: string) => JSON.stringify(s);

function portMatch(rule: { protocol: string; from: number | null; to: number | null }): string {
  switch (rule.protocol) {
    case '-1':
      return '';
    case 'tcp':
    case 'udp': {
      if (rule.from === 0 && rule.to === 65535) return `meta l4proto ${rule.protocol}`;
      return `${rule.protocol} dport ${rule.from === rule.to ? rule.from : `${rule.from}-${rule.to}`}`;
    }
    case 'icmp': {
      if (rule.from === null || rule.from === -1) return 'meta l4proto icmp';
      return `icmp type ${rule.from}${rule.to !== null && rule.to !== -1 ? ` icmp code ${rule.to}` : ''}`;
    }
    default:
      return `meta l4proto ${Number(rule.protocol)}`;
  }
}

function peerMatch(rule: FilterRule, direction: 'saddr' | 'daddr'): string {
  if (rule.set) return `ip ${direction} @${rule.set}`;
  if (!rule.cidr || rule.cidr === '0.0.0.0/0') return '';
  return `ip ${direction} ${rule.cidr}`;
}

function aclMatch(rule: AclRule, direction: 'saddr' | 'daddr'): string {
  const proto = { '-1': '-1', '6': 'tcp', '17': 'udp', '1': 'icmp' }[rule.protocol] ?? rule.protocol;
  const ports =
    proto === 'icmp'
      ? { from: rule.icmpType, to: rule.icmpCode }
      : proto === 'tcp' || proto === 'udp'
        ? { from: rule.from, to: rule.to }
        : { from: null, to: null };
  const peer = rule.cidr === '0.0.0.0/0' ? '' : `ip ${direction} ${rule.cidr}`;
  // ports of an ACL rule match the packet's destination port, whichever the direction (replies need their own rule)
  const portPart =
    proto === 'tcp' || proto === 'udp'
      ? ports.from === null
        ? `meta l4proto ${proto}`
        : `${proto} dport ${ports.from}-${ports.to}`
      : portMatch({ protocol: proto, ...ports });
  return [peer, portPart].filter(Boolean).join(' ');
}

const chainId = (port: string) => port.replace(/[^A-Za-z0-9_]/g, '_');

/** The nft script that replaces both tables with the model's rules. */
export function compileFirewall(model: FirewallModel, bridgeOf: BridgeNamer): string {
  const ports = [...model.ports].sort((a, b) => a.port.localeCompare(b.port));
  const lines: string[] = [];
  // port security
  lines.push('table bridge oarcloud_ports { }', 'delete table bridge oarcloud_ports', 'table bridge oarcloud_ports {');
  const elements = (items: string[]) => (items.length ? ` elements = { ${items.join(', ')} }` : '');
  lines.push(`  set ports { type ifname;${elements(ports.map((p) => q(p.port)))} }`);
  lines.push(`  set port_mac { type ifname . ether_addr;${elements(ports.map((p) => `${q(p.port)} . ${p.mac}`))} }`);
  lines.push(`  set port_ip { type ifname . ipv4_addr;${elements(ports.map((p) => `${q(p.port)} . ${p.ip}`))} }`);
  lines.push(`  set gateway_arp { type ifname . ipv4_addr;${elements(model.gateways.map((g) => `${q(vpcOverlayPort(g.vni))} . ${g.ip}`))} }`);
  lines.push(
    '  chain pre { type filter hook prerouting priority -300; policy accept;',
    '    iifname @ports iifname . ether saddr != @port_mac drop',
    '    iifname @ports ether type ip iifname . ip saddr != @port_ip drop',
    '    iifname @ports ether type arp iifname . arp saddr ip != @port_ip drop',
    '    iifname @ports ether type ip6 drop',
    '  }',
    '  chain forward { type filter hook forward priority 0; policy accept;',
    '    ether type arp oifname . arp daddr ip @gateway_arp drop',
    '    ether type arp oifname . arp saddr ip @gateway_arp drop',
    '  }',
    '}',
  );
  // security groups and ACLs
  lines.push('table inet oarcloud { }', 'delete table inet oarcloud', 'table inet oarcloud {');
  for (const [name, members] of Object.entries(model.sets).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  set ${name} { type ipv4_addr;${elements([...new Set(members)].sort())} }`);
  }
  lines.push(
    `  map from_port { type ifname . ipv4_addr : verdict;${elements(ports.map((p) => `${q(bridgeOf(p.network))} . ${p.ip} : jump out_${chainId(p.port)}`))} }`,
  );
  lines.push(
    `  map to_port { type ifname . ipv4_addr : verdict;${elements(ports.map((p) => `${q(bridgeOf(p.network))} . ${p.ip} : jump in_${chainId(p.port)}`))} }`,
  );
  const vpcNetworks = [...new Set([...ports.map((p) => p.network), ...model.subnets.map((s) => s.network)].filter((n): n is number => n !== 'shared'))].sort(
    (a, b) => a - b,
  );
  lines.push('  chain zone { type filter hook prerouting priority raw; policy accept;');
  for (const vni of vpcNetworks) lines.push(`    iifname ${q(bridgeOf(vni))} ct zone set ${vni}`);
  lines.push('  }');
  lines.push('  chain forward { type filter hook forward priority filter; policy accept;');
  model.subnets.forEach((s, i) => {
    lines.push(`    iifname ${q(bridgeOf(s.network))} ip saddr ${s.cidr} jump acl_out_${i}`);
    lines.push(`    oifname ${q(bridgeOf(s.network))} ip daddr ${s.cidr} jump acl_in_${i}`);
  });
  // the metadata service is there for every instance, whatever its groups allow (as on EC2)
  lines.push(`    ip daddr ${METADATA_ADDRESS} tcp dport 80 accept`);
  // and so is the VPC's resolver
  lines.push(`    ip daddr ${RESOLVER_ADDRESS} meta l4proto { tcp, udp } th dport 53 accept`);
  lines.push('    ct state established,related accept', '    ct state invalid drop', '    iifname . ip saddr vmap @from_port');
  for (const t of model.trusted) lines.push(`    iifname ${q(bridgeOf(t.network))} ip saddr ${t.ip} accept`);
  lines.push('    oifname . ip daddr vmap @to_port', '  }');
  model.subnets.forEach((s, i) => {
    lines.push(`  chain acl_out_${i} {`, `    ip daddr ${s.cidr} return`);
    for (const r of s.egress) lines.push(`    ${[aclMatch(r, 'daddr'), r.allow ? 'return' : 'drop'].filter(Boolean).join(' ')}`);
    lines.push('    drop', '  }');
    lines.push(`  chain acl_in_${i} {`, `    ip saddr ${s.cidr} return`);
    for (const r of s.ingress) lines.push(`    ${[aclMatch(r, 'saddr'), r.allow ? 'return' : 'drop'].filter(Boolean).join(' ')}`);
    lines.push('    drop', '  }');
  });
  for (const p of ports) {
    const id = chainId(p.port);
    lines.push(`  chain out_${id} {`);
    for (const r of p.egress) lines.push(`    ${[peerMatch(r, 'daddr'), portMatch(r), 'return'].filter(Boolean).join(' ')}`);
    lines.push('    drop', '  }');
    lines.push(`  chain in_${id} {`);
    for (const r of p.ingress) lines.push(`    ${[peerMatch(r, 'saddr'), portMatch(r), 'accept'].filter(Boolean).join(' ')}`);
    lines.push('    drop', '  }');
  }
  lines.push('}');
  lines.push('table ip oarcloud_metadata { }', 'delete table ip oarcloud_metadata');
  if (model.metadata) {
    lines.push(
      'table ip oarcloud_metadata {',
      '  chain pre { type nat hook prerouting priority dstnat; policy accept;',
      `    iifname ${q(bridgeOf(model.metadata.network))} ip daddr ${METADATA_ADDRESS} tcp dport 80 dnat to ${model.metadata.to}`,
      '  }',
      ...hopLimitChain(model.metadata.hops, `{ 80, ${model.metadata.to.split(':')[1]} }`),
      '}',
    );
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Removes the per-account iptables chains OAR Cloud used before security groups (in the mangle table's FORWARD
 * chain): left in place on an upgraded node, they would drop what the groups allow.
 */
const REMOVE_LEGACY_ISOLATION = `
iptables -t mangle -S FORWARD 2>/dev/null | sed -n 's/^-A \\(.*-j OARCLOUD-ISOLATE\\)$/\\1/p' | while read -r rule; do iptables -t mangle -D $rule; done
for chain in $(iptables -t mangle -S 2>/dev/null | sed -n 's/^-N \\(OARCLOUD-ISOLATE\\|OC-[0-9]*\\)$/\\1/p'); do iptables -t mangle -F "$chain"; done
for chain in $(iptables -t mangle -S 2>/dev/null | sed -n 's/^-N \\(OARCLOUD-ISOLATE\\|OC-[0-9]*\\)$/\\1/p'); do iptables -t mangle -X "$chain"; done
true`;

/** One node's filter: rewritten when its model changes, through `runner` (this machine, or the node over ssh). */
export class NodeFirewall {
  private applied?: string;
  private legacyRemoved = false;

  constructor(
    private readonly bridgeOf: BridgeNamer,
    private readonly runner: Runner = run,
    private readonly where = 'this machine',
  ) {}

  /** Applies the model unless it is what was last applied; returns whether it wrote the rules. */
  async sync(model: FirewallModel): Promise<boolean> {
    const script = compileFirewall(model, this.bridgeOf);
    const digest = createHash('sha256').update(script).digest('hex');
    if (digest === this.applied) return false;
    if (!this.legacyRemoved) {
      await this.runner('sh', ['-c', REMOVE_LEGACY_ISOLATION]);
      this.legacyRemoved = true;
    }
    const r = await this.runner('nft', ['-f', '-'], { input: script });
    if (r.code !== 0) throw new Error(`nft -f on ${this.where} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
    this.applied = digest;
    return true;
  }

  /** Makes the next sync write the rules even if the model did not change (someone may have flushed them). */
  forget(): void {
    this.applied = undefined;
  }

  describe(): string {
    return this.where;
  }
}
