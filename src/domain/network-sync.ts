/**
 * Keeps every node's data plane in step with the network's wanted state (NetworkState): for each VPC with an
 * instance on the node, its bridge, VXLAN port and router (gateways, NAT, elastic IPs); the node's packet filter
 * (security groups, ACLs, port security); and on this machine the routes of elastic IPs held on other nodes.
 *
 * It runs on a one-second timer, at once when the domain signals a change (a rule, a membership, an address), and
 * before any container starts (the reconciler asks for the node it starts on, and waits: fail closed). Every ten
 * seconds it forgets what it believes is installed and writes everything again, so that rules flushed by anyone
 * else come back. A node that does not answer holds up no other.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../log';
import { hostPortName } from '../adapters/libvirt';
import type { ComputeNode, VpcSpec } from '../adapters/compute-node';
import type { FilterRule, FirewallModel, NetworkId } from '../adapters/firewall';
import { syncPublicRoutes } from '../adapters/net';
import { localAddressToward } from '../adapters/node-join';
import { changeSignal } from './change-signal';
import { privateDnsName } from './network';
import type { NetworkSnapshot, NetworkState, PortState } from './network-state';
import type { RuleRow } from './security-groups';

const SYNC_INTERVAL_MS = 1000;
const REWRITE_INTERVAL_MS = 10_000;
/**
 * The MAC of a node's VPC routers (their gateway leg): one per node, so that frames a router sends across VXLAN
 * teach the other nodes nothing wrong (instances find their own node's router: see adapters/firewall.ts).
 */
export function routerMac(nodeAddress: string): string {
  const bytes = createHash('sha256').update(nodeAddress).digest().subarray(0, 4);
  return ['02', '01', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
/** VPC routers' uplinks are /30s of this block, one per VXLAN number above VNI_BASE. */
const VNI_BASE = 5000;

/** Where an instance's interface plugs in on its node, and what it is told of its VPC's DNS. */
export interface InterfacePlan {
  network: NetworkId;
  gateway: string;
  prefix: number;
  /** Its VPC has DNS support: the VPC's resolver answers its instances' names. */
  resolver: boolean;
  /** Its VPC gives instances DNS hostnames: its hostname is its private DNS name's first label. */
  dnsHostname: boolean;
}

export interface NetworkSyncOptions {
  /** The shared network's gateway (this machine) and prefix length. */
  sharedGateway: string;
  sharedPrefix: number;
  mtu: number;
  /** The port of this machine's metadata service (transport/metadata-app.ts). */
  metadataPort: number;
  /** Gives and takes back automatic public addresses before each sync reads the state (ElasticIps.settleAutoAssigned). */
  settlePublicAddresses?: () => Promise<boolean>;
}

function uplink(vni: number): { node: string; router: string } {
  const base = ((100 << 24) | (64 << 16)) + (vni - VNI_BASE) * 4;
  const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  return { node: dotted(base + 1), router: dotted(base + 2) };
}

/** A subnet's first host and prefix length: its gateway (10.0.1.0/24 → 10.0.1.1/24). */
export function subnetGateway(cidr: string): { address: string; prefix: number } {
  const [net, len] = cidr.split('/');
  const parts = net.split('.').map(Number);
  parts[3] += 1;
  return { address: parts.join('.'), prefix: Number(len) };
}

const setName = (groupId: string) => `g_${groupId.replace(/^sg-/, '')}`;

export class NetworkSync {
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe?: () => void;
  /** Instances about to start, and where: their ports get rules before their node lists them. */
  private readonly placing = new Map<string, ComputeNode>();
  /** Per node: the tail of its syncs, the one waiting to begin, and what its VPCs were last set to. */
  private readonly nodes = new Map<ComputeNode, { syncing: Promise<unknown>; waiting?: Promise<void>; vpcs: Map<number, string> }>();
  private serverAddress?: Promise<string | null>;

  constructor(
    private readonly state: NetworkState,
    /** Every node known, this machine first. */
    private readonly targets: () => ComputeNode[],
    private readonly nodeOf: (address: string | null) => ComputeNode,
    private readonly options: NetworkSyncOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    const warn = (err: any) => this.log.warn({ err: String(err?.message ?? err) }, 'network data plane not updated');
    this.timers.push(setInterval(() => void this.sync().catch(warn), SYNC_INTERVAL_MS));
    this.timers.push(setInterval(() => void this.rewrite().catch(warn), REWRITE_INTERVAL_MS));
    this.unsubscribe = changeSignal.onChange(() => void this.sync().catch(warn));
    void this.sync().catch(warn);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    await Promise.all([...this.nodes.values()].map((n) => n.syncing));
  }

  /**
   * Readies `node` for the instance's container: its VPC's bridge and router and its port's rules, waiting for that
   * node only. Call `placed` once the container started (or failed to).
   */
  async prepare(instanceId: string, node: ComputeNode): Promise<InterfacePlan> {
    this.placing.set(instanceId, node);
    await this.sync(node);
    const snapshot = await this.state.snapshot();
    const port = snapshot.ports.find((p) => p.instanceId === instanceId);
    if (!port) throw new Error(`instance ${instanceId} holds no address`);
    if (port.vni === null)
      return { network: 'shared', gateway: this.options.sharedGateway, prefix: this.options.sharedPrefix, resolver: false, dnsHostname: false };
    const subnet = snapshot.subnets.find((s) => s.id === port.subnetId);
    if (!subnet) throw new Error(`the subnet of instance ${instanceId} is gone`);
    const gateway = subnetGateway(subnet.cidr);
    const vpc = snapshot.vpcs.find((v) => v.vni === port.vni);
    return { network: port.vni, gateway: gateway.address, prefix: gateway.prefix, resolver: Boolean(vpc?.dnsSupport), dnsHostname: Boolean(vpc?.dnsHostnames) };
  }

  placed(instanceId: string): void {
    this.placing.delete(instanceId);
  }

  /** Brings every node in step, and waits for node `on` (all nodes when not given). */
  async sync(on?: ComputeNode): Promise<void> {
    await this.options.settlePublicAddresses?.();
    const all = this.targets().map((node) => this.syncNode(node));
    if (!on) {
      const results = await Promise.allSettled([...all, this.syncServerRoutes()]);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return;
    }
    for (const p of all) p.catch(() => undefined);
    this.syncServerRoutes().catch(() => undefined);
    await this.syncNode(on);
  }

  /** Forgets what it believes is installed and writes everything again (removing VPCs left on nodes). */
  async rewrite(): Promise<void> {
    for (const node of this.targets()) {
      node.firewall.forget();
      this.nodes.get(node)?.vpcs.clear();
    }
    await this.sync();
  }

  /** One sync of a node at a time; it reads the state when it begins, so callers arriving meanwhile share it. */
  private syncNode(node: ComputeNode): Promise<void> {
    let entry = this.nodes.get(node);
    if (!entry) {
      entry = { syncing: Promise.resolve(), vpcs: new Map() };
      this.nodes.set(node, entry);
    }
    if (entry.waiting) return entry.waiting;
    const current = entry;
    const next = current.syncing.then(async () => {
      current.waiting = undefined;
      await this.apply(node, current.vpcs, await this.state.snapshot());
    });
    current.waiting = next;
    current.syncing = next.catch(() => undefined);
    return next;
  }

  private isOn(port: PortState, node: ComputeNode): boolean {
    const placing = this.placing.get(port.instanceId);
    if (placing) return placing === node;
    return port.node !== null && this.nodeOf(port.node) === node;
  }

  private async apply(node: ComputeNode, applied: Map<number, string>, snapshot: NetworkSnapshot): Promise<void> {
    const local = snapshot.ports.filter((p) => this.isOn(p, node));
    // VPC plumbing first: a port's bridge must exist before its container plugs in
    const vnis = [...new Set(local.map((p) => p.vni).filter((v): v is number => v !== null))];
    const forgotten = applied.size === 0;
    for (const vni of vnis) {
      const spec = await this.vpcSpec(node, vni, snapshot, local);
      const digest = JSON.stringify(spec);
      if (applied.get(vni) === digest) continue;
      await node.vpcUp(spec);
      applied.set(vni, digest);
      this.log.info({ node: node.address, vni, subnets: spec.gateways.length, eips: spec.eips.length }, 'VPC network updated');
    }
    const present = forgotten ? await node.vpcs() : [...applied.keys()];
    for (const vni of present.filter((v) => !vnis.includes(v))) {
      await node.vpcDown(vni);
      applied.delete(vni);
      this.log.info({ node: node.address, vni }, 'VPC network removed from node');
    }
    const model = this.firewallModel(node, local, snapshot);
    if (await node.firewall.sync(model)) this.log.info({ node: node.address, ports: model.ports.length }, 'packet filter updated');
  }

  private async vpcSpec(node: ComputeNode, vni: number, snapshot: NetworkSnapshot, local: PortState[]): Promise<VpcSpec> {
    const subnets = snapshot.subnets.filter((s) => s.vni === vni);
    const internet = new Set(subnets.filter((s) => s.internet).map((s) => s.id));
    const addresses = await this.vxlanAddresses();
    const own = node.local ? addresses.server : node.address;
    const { node: uplinkNode, router: uplinkRouter } = uplink(vni);
    return {
      vni,
      mtu: this.options.mtu,
      gatewayMac: routerMac(node.address),
      local: own,
      peers: own === null ? [] : [addresses.server, ...addresses.remotes].filter((a): a is string => a !== null && a !== own),
      uplinkNode,
      uplinkRouter,
      gateways: subnets.map((s) => {
        const g = subnetGateway(s.cidr);
        return `${g.address}/${g.prefix}`;
      }),
      nat: subnets.filter((s) => s.internet).map((s) => s.cidr),
      // the relay reaches this machine through the router's uplink (here) or the node's own address (elsewhere)
      metadata: node.local ? `${uplinkNode}:${this.options.metadataPort}` : addresses.server ? `${addresses.server}:${this.options.metadataPort}` : null,
      dns: this.resolverNames(vni, snapshot),
      hops: snapshot.ports.filter((p) => p.vni === vni).map((p) => ({ ip: p.ip, hops: p.metadataHops })),
      neighbors: snapshot.ports
        .filter((p) => p.vni === vni)
        .map((p) => ({ ip: p.ip, mac: p.mac }))
        .sort((a, b) => a.ip.localeCompare(b.ip)),
      eips: snapshot.eips.flatMap((e) => {
        const port = local.find((p) => p.instanceId === e.instanceId && p.vni === vni);
        return port && port.subnetId && internet.has(port.subnetId) ? [{ publicIp: e.publicIp, privateIp: port.ip }] : [];
      }),
    };
  }

  /** The names a VPC's resolver answers: each instance's `ip-a-b-c-d.ec2.internal`; null: DNS support is off. */
  private resolverNames(vni: number, snapshot: NetworkSnapshot): VpcSpec['dns'] {
    const vpc = snapshot.vpcs.find((v) => v.vni === vni);
    if (!vpc?.dnsSupport) return null;
    return snapshot.ports
      .filter((p) => p.vni === vni)
      .map((p) => ({ ip: p.ip, names: [privateDnsName(p.ip), privateDnsName(p.ip).split('.')[0], ...(p.names ?? [])] }))
      .sort((a, b) => a.ip.localeCompare(b.ip));
  }

  /** The VXLAN source addresses: this machine's (toward the nodes; null with no remote node) and the nodes'. */
  private async vxlanAddresses(): Promise<{ server: string | null; remotes: string[] }> {
    const remotes = this.targets()
      .filter((n) => !n.local)
      .map((n) => n.address);
    if (!remotes.length) return { server: null, remotes };
    this.serverAddress ??= localAddressToward(remotes[0]).catch(() => {
      this.serverAddress = undefined;
      return null;
    });
    return { server: await this.serverAddress, remotes };
  }

  private firewallModel(node: ComputeNode, local: PortState[], snapshot: NetworkSnapshot): FirewallModel {
    const sets: Record<string, string[]> = {};
    const networkOf = (p: PortState): NetworkId => p.vni ?? 'shared';
    const convert = (r: RuleRow, port: PortState): FilterRule => {
      const base = { protocol: r.protocol, from: r.from_port, to: r.to_port };
      if (!r.source_group_id) return { ...base, cidr: r.cidr ?? '0.0.0.0/0' };
      const name = setName(r.source_group_id);
      sets[name] ??= snapshot.ports.filter((q) => q.groupIds.includes(r.source_group_id!) && q.vni === port.vni).map((q) => q.ip);
      return { ...base, set: name };
    };
    const rulesOf = (p: PortState, egress: boolean) =>
      p.groupIds.flatMap((g) => (snapshot.rules.get(g) ?? []).filter((r) => r.egress === egress).map((r) => convert(r, p)));
    const vnis = new Set(local.map((p) => p.vni));
    return {
      ports: local.map((p) => ({
        port: hostPortName(p.instanceId),
        network: networkOf(p),
        ip: p.ip,
        mac: p.mac,
        ingress: rulesOf(p, false),
        egress: rulesOf(p, true),
      })),
      sets,
      subnets: snapshot.subnets
        .filter((s) => vnis.has(s.vni))
        .map((s) => {
          const acl = (egress: boolean) =>
            s.acl
              .filter((e) => e.egress === egress)
              .map((e) => ({
                allow: e.rule_action === 'allow',
                protocol: e.protocol,
                cidr: e.cidr,
                from: e.from_port,
                to: e.to_port,
                icmpType: e.icmp_type,
                icmpCode: e.icmp_code,
              }));
          return { network: s.vni, cidr: s.cidr, egress: acl(true), ingress: acl(false) };
        }),
      // on other nodes the shared network's gateway (this machine: the server, its users' way in) reaches every port
      trusted: node.local ? [] : [{ network: 'shared', ip: this.options.sharedGateway }],
      gateways: snapshot.subnets.filter((s) => vnis.has(s.vni)).map((s) => ({ vni: s.vni, ip: subnetGateway(s.cidr).address })),
      ...(node.local
        ? {
            metadata: {
              network: 'shared' as const,
              to: `${this.options.sharedGateway}:${this.options.metadataPort}`,
              hops: snapshot.ports.filter((p) => p.vni === null).map((p) => ({ ip: p.ip, hops: p.metadataHops })),
            },
          }
        : {}),
    };
  }

  /** This machine routes each elastic IP held on another node to that node. */
  private async syncServerRoutes(): Promise<void> {
    const snapshot = await this.state.snapshot();
    const routes = snapshot.eips.flatMap((e) => {
      const port = snapshot.ports.find((p) => p.instanceId === e.instanceId);
      if (!port || port.vni === null || port.node === null) return [];
      const node = this.placing.get(port.instanceId) ?? this.nodeOf(port.node);
      return node.local ? [] : [{ ip: e.publicIp, via: node.address }];
    });
    await syncPublicRoutes(routes);
  }
}
