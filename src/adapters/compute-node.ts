/**
 * Compute nodes: where an instance's container, overlay disk, pids cgroup and network port live, which is the node
 * OAR chose for its job. The server's own machine (OAR's `localhost`, any 127.x address or one of its interfaces)
 * is acted on directly; any other node through the node agent (docker/node-agent.sh) and virsh, both run as root
 * over ssh on the node, riding one shared ssh connection per node (/usr/lib/oarcloud/node-ssh).
 *
 * Image layers are immutable: a remote node caches each one the first time an instance needs it, sent as a tar
 * stream from the server's layer store and checked against the stream's SHA-256 before it is unpacked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { run, runOk } from './exec';
import { Libvirt, type ContainerLimits } from './libvirt';
import type { ImageStore, InstanceFile } from './image-store';
import { NodeFirewall, vpcBridge, type NetworkId } from './firewall';

export const NODE_SSH = '/usr/lib/oarcloud/node-ssh';
export const NODE_AGENT = '/usr/lib/oarcloud/node-agent';
const TAR_OPTS = ['--numeric-owner', '--xattrs', '--xattrs-include=*'];

export interface ComputeNode {
  /** OAR's network_address of the node. */
  readonly address: string;
  readonly local: boolean;
  readonly libvirt: Libvirt;
  /** The packet filter of the node's instance ports. */
  readonly firewall: NodeFirewall;
  /** The bridge a network has on this node. */
  bridgeOf(network: NetworkId): string;
  /** Creates or updates one VPC's bridge, VXLAN port and router on the node (node-agent vpc-up). */
  vpcUp(spec: VpcSpec): Promise<void>;
  vpcDown(vni: number): Promise<void>;
  /** The VNIs of the VPCs present on the node. */
  vpcs(): Promise<number[]>;
  /** Mounts the instance's overlay (layers top first, fetched first if the node lacks them); its root directory there. */
  mount(instanceId: string, layers: string[], owner: number): Promise<string>;
  writeFiles(instanceId: string, files: InstanceFile[], owner: number): Promise<void>;
  unmount(instanceId: string): Promise<void>;
  /** Unmounts and deletes the instance's disk on this node. */
  removeDisk(instanceId: string): Promise<void>;
  mountedInstances(): Promise<Set<string>>;
  limitPids(instanceId: string, max: number): Promise<void>;
  /** New memory limit and host CPUs for a running container (live resize). */
  setLimits(instanceId: string, limits: ContainerLimits): Promise<void>;
  /** What the container uses now and cannot give back (its working set), in MiB. */
  memoryUsedMib(instanceId: string): Promise<number>;
  setMtu(instanceId: string, mtu: number): Promise<void>;
  /** Runs a shell command in the container, as its root; its output. */
  exec(instanceId: string, command: string): Promise<string>;
  /** Destroys and undefines the container and removes its pids cgroup. */
  removeContainer(instanceId: string): Promise<void>;
  /** What each running container on the node used so far (cumulative counters: the caller takes differences). */
  usage(): Promise<NodeUsage>;
  /** The instance's upper layer as a tar stream / replaced by one (moving a stopped instance's disk between nodes). */
  readUpper(instanceId: string): ChildProcess;
  writeUpper(instanceId: string): ChildProcess;
}

/** Cumulative counters of one container (its cgroups) and of one instance port (host side of its veth). */
export interface ContainerUsage {
  cpuNs: number;
  rssBytes: number;
  limitBytes: number;
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}
export interface PortCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}
export interface NodeUsage {
  containers: Map<string, ContainerUsage>;
  ports: Map<string, PortCounters>;
}

/** Parses node-agent usage's lines. */
export function parseUsage(text: string): NodeUsage {
  const containers = new Map<string, ContainerUsage>();
  const ports = new Map<string, PortCounters>();
  for (const line of text.split('\n')) {
    const [kind, name, ...rest] = line.trim().split(/\s+/);
    const n = rest.map(Number);
    if (n.some((v) => !Number.isFinite(v))) continue;
    if (kind === 'instance' && n.length === 7) {
      containers.set(name, { cpuNs: n[0], rssBytes: n[1], limitBytes: n[2], readBytes: n[3], writeBytes: n[4], readOps: n[5], writeOps: n[6] });
    } else if (kind === 'port' && n.length === 4) {
      ports.set(name, { rxBytes: n[0], rxPackets: n[1], txBytes: n[2], txPackets: n[3] });
    }
  }
  return { containers, ports };
}

/** One VPC's plumbing on one node (see node-agent.sh vpc-up). */
export interface VpcSpec {
  vni: number;
  mtu: number;
  gatewayMac: string;
  /** This node's VXLAN source address; null: no VXLAN port (a single host). */
  local: string | null;
  peers: string[];
  uplinkNode: string;
  uplinkRouter: string;
  /** The subnets' gateway addresses with their prefix length (10.0.1.1/24). */
  gateways: string[];
  /** The subnets whose traffic may leave through the uplink (a route to an internet gateway). */
  nat: string[];
  eips: { publicIp: string; privateIp: string }[];
  /** Every instance of the VPC (on any node): the router's neighbors, so that it never asks by ARP. */
  neighbors: { ip: string; mac: string }[];
  /** Where the router's relay sends metadata requests (HOST:PORT); null: no relay. */
  metadata: string | null;
  /** The IP TTL of the relay's answers to each instance of the VPC (its metadata hop limit). */
  hops: { ip: string; hops: number }[];
  /** The VPC's resolver (169.254.169.253 in the router) and the names it answers; null: none (DNS support off). */
  dns: { ip: string; names: string[] }[] | null;
}

function vpcUpArgs(spec: VpcSpec): { args: string[]; input: string } {
  const lines = [
    ...spec.peers.map((p) => `peer ${p}`),
    ...spec.gateways.map((g) => `gateway ${g}`),
    ...spec.nat.map((c) => `nat ${c}`),
    ...spec.eips.map((e) => `eip ${e.publicIp} ${e.privateIp}`),
    ...spec.neighbors.map((n) => `neighbor ${n.ip} ${n.mac}`),
    ...(spec.metadata ? [`metadata ${spec.metadata}`] : []),
    ...spec.hops.map((h) => `hops ${h.ip} ${h.hops}`),
    ...(spec.dns ? ['dns on', ...spec.dns.map((h) => `host ${h.ip} ${h.names.join(' ')}`)] : []),
  ];
  return {
    args: ['vpc-up', String(spec.vni), String(spec.mtu), spec.gatewayMac, spec.local ?? '-', spec.uplinkNode, spec.uplinkRouter],
    input: lines.map((l) => `${l}\n`).join(''),
  };
}

const parseVnis = (out: string) =>
  out
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

/** Whether an OAR network address names this machine. */
export function isThisMachine(address: string): boolean {
  if (address === 'localhost' || address.startsWith('127.')) return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === address));
}

function finished(child: ChildProcess, what: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code}: ${stderr.trim().slice(0, 400)}`))));
  });
}

/** A tar that replaces directory `dir` (on this machine) with the tree it reads on its stdin. */
export function untarInto(dir: string): ChildProcess {
  return spawn('sh', ['-c', 'dir=$1; shift; rm -rf "$dir" && mkdir -p "$dir" && exec tar -C "$dir" "$@" -xpf -', 'sh', dir, ...TAR_OPTS], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

/** Copies `from`'s stdout into `to`'s stdin and waits for both to succeed. */
export async function pipeBetween(from: ChildProcess, to: ChildProcess, what: string): Promise<void> {
  (from.stdout as Readable).pipe(to.stdin as Writable);
  await Promise.all([finished(from, `${what} (read)`), finished(to, `${what} (write)`)]);
}

/** The instance network's bridges and VXLAN port, as configured (see Config). */
export interface BridgeNames {
  bridge: string;
  nodeBridge: string;
  overlayPort: string;
  /** The instance network's gateway (on this machine's bridge) and CIDR. */
  gateway: string;
  subnet: string;
}

export class LocalNode implements ComputeNode {
  readonly local = true;
  readonly firewall: NodeFirewall;

  constructor(
    readonly address: string,
    readonly libvirt: Libvirt,
    private readonly store: ImageStore,
    private readonly names: BridgeNames,
  ) {
    this.firewall = new NodeFirewall((n) => this.bridgeOf(n));
  }

  bridgeOf(network: NetworkId): string {
    return network === 'shared' ? this.names.bridge : vpcBridge(network);
  }

  async vpcUp(spec: VpcSpec): Promise<void> {
    const { args, input } = vpcUpArgs(spec);
    await runOk(NODE_AGENT, args, { input });
  }

  async vpcDown(vni: number): Promise<void> {
    await runOk(NODE_AGENT, ['vpc-down', String(vni)]);
  }

  async vpcs(): Promise<number[]> {
    return parseVnis(await runOk(NODE_AGENT, ['vpcs']));
  }

  async usage(): Promise<NodeUsage> {
    return parseUsage(await runOk(NODE_AGENT, ['usage'], { timeoutMs: 20_000 }));
  }

  mount(instanceId: string, layers: string[], owner: number): Promise<string> {
    return this.store.mount(instanceId, layers, owner);
  }

  writeFiles(instanceId: string, files: InstanceFile[], owner: number): Promise<void> {
    return this.store.writeFiles(instanceId, files, owner);
  }

  unmount(instanceId: string): Promise<void> {
    return this.store.unmount(instanceId);
  }

  removeDisk(instanceId: string): Promise<void> {
    return this.store.remove(instanceId);
  }

  async mountedInstances(): Promise<Set<string>> {
    return this.store.mountedInstances();
  }

  limitPids(instanceId: string, max: number): Promise<void> {
    return this.libvirt.limitPids(instanceId, max);
  }

  setLimits(instanceId: string, limits: ContainerLimits): Promise<void> {
    return this.libvirt.setLimits(instanceId, limits);
  }

  memoryUsedMib(instanceId: string): Promise<number> {
    return this.libvirt.memoryUsedMib(instanceId);
  }

  setMtu(instanceId: string, mtu: number): Promise<void> {
    return this.libvirt.setMtu(instanceId, mtu);
  }

  exec(instanceId: string, command: string): Promise<string> {
    return this.libvirt.exec(instanceId, command);
  }

  removeContainer(instanceId: string): Promise<void> {
    return this.libvirt.remove(instanceId);
  }

  readUpper(instanceId: string): ChildProcess {
    return spawn('tar', ['-C', this.store.upperDir(instanceId), ...TAR_OPTS, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  writeUpper(instanceId: string): ChildProcess {
    return untarInto(this.store.upperDir(instanceId));
  }
}

export class RemoteNode implements ComputeNode {
  readonly local = false;
  readonly libvirt: Libvirt;
  readonly firewall: NodeFirewall;
  /** Layers known to be complete on the node (read from it once, then kept up to date). */
  private cached?: Promise<Set<string>>;
  private readonly sending = new Map<string, Promise<void>>();

  constructor(
    readonly address: string,
    private readonly store: ImageStore,
    private readonly names: BridgeNames,
  ) {
    this.libvirt = new Libvirt('lxc:///', [NODE_SSH, `root@${address}`, '--']);
    const onNode = (cmd: string, args: string[], opts?: { input?: string }) => run(NODE_SSH, [`root@${address}`, '--', cmd, ...args.map(shellQuote)], opts);
    this.firewall = new NodeFirewall((n) => this.bridgeOf(n), onNode, address);
  }

  bridgeOf(network: NetworkId): string {
    return network === 'shared' ? this.names.nodeBridge : vpcBridge(network);
  }

  async vpcUp(spec: VpcSpec): Promise<void> {
    const { args, input } = vpcUpArgs(spec);
    await this.agent(args, input);
  }

  async vpcDown(vni: number): Promise<void> {
    await this.agent(['vpc-down', String(vni)]);
  }

  async vpcs(): Promise<number[]> {
    return parseVnis(await this.agent(['vpcs']));
  }

  async usage(): Promise<NodeUsage> {
    return parseUsage(await runOk(NODE_SSH, [`root@${this.address}`, '--', NODE_AGENT, 'usage'], { timeoutMs: 20_000 }));
  }

  /** Runs one agent operation on the node. */
  agent(args: string[], input?: string): Promise<string> {
    return runOk(NODE_SSH, [`root@${this.address}`, '--', NODE_AGENT, ...args.map(shellQuote)], { input, timeoutMs: 300_000 });
  }

  private agentProcess(args: string[], stdio: ['pipe' | 'ignore', 'pipe' | 'ignore', 'pipe']): ChildProcess {
    return spawn(NODE_SSH, [`root@${this.address}`, '--', NODE_AGENT, ...args.map(shellQuote)], { stdio });
  }

  private layers(): Promise<Set<string>> {
    this.cached ??= this.agent(['layers']).then(
      (out) =>
        new Set(
          out
            .split('\n')
            .map((l) => l.split(' ')[0])
            .filter(Boolean),
        ),
      (err) => {
        this.cached = undefined;
        throw err;
      },
    );
    return this.cached;
  }

  /** Sends one layer (once, even when several instances ask at the same time) and has the node verify it. */
  private sendLayer(layerId: string): Promise<void> {
    let sending = this.sending.get(layerId);
    if (!sending) {
      sending = (async () => {
        if (!this.store.layerExists(layerId)) throw new Error(`layer ${layerId} is missing from the server's store`);
        const tar = spawn('tar', ['-C', this.store.layerPath(layerId), ...TAR_OPTS, '--exclude=./.complete', '-cf', '-', '.'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const hash = createHash('sha256');
        tar.stdout!.on('data', (chunk) => hash.update(chunk));
        await pipeBetween(tar, this.agentProcess(['receive-layer', layerId], ['pipe', 'ignore', 'pipe']), `sending layer ${layerId} to ${this.address}`);
        await this.agent(['commit-layer', layerId, hash.digest('hex')]);
        (await this.layers()).add(layerId);
      })().finally(() => this.sending.delete(layerId));
      this.sending.set(layerId, sending);
    }
    return sending;
  }

  async mount(instanceId: string, layers: string[], owner: number): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const have = await this.layers();
      await Promise.all(layers.filter((l) => !have.has(l)).map((l) => this.sendLayer(l)));
      try {
        return (await this.agent(['mount', instanceId, String(owner), ...layers])).trim();
      } catch (err) {
        // the node lost layers we believed it had (rebuilt under the same address): ask it again, once
        if (attempt > 1 || !/is missing from/.test(String(err))) throw err;
        this.cached = undefined;
      }
    }
  }

  async writeFiles(instanceId: string, files: InstanceFile[], owner: number): Promise<void> {
    const lines = files.map((f) => {
      if (/\s/.test(f.path)) throw new Error(`refusing a file name with white space: ${f.path}`);
      return `${f.mode.toString(8).padStart(4, '0')} ${f.path} ${Buffer.from(f.content).toString('base64')}\n`;
    });
    await this.agent(['write-files', instanceId, String(owner)], lines.join(''));
  }

  async unmount(instanceId: string): Promise<void> {
    await this.agent(['unmount', instanceId]);
  }

  async removeDisk(instanceId: string): Promise<void> {
    await this.agent(['remove', instanceId]);
  }

  async mountedInstances(): Promise<Set<string>> {
    return new Set((await this.agent(['mounts'])).split('\n').filter(Boolean));
  }

  async limitPids(instanceId: string, max: number): Promise<void> {
    await this.agent(['limit-pids', instanceId, String(max)]);
  }

  async setLimits(instanceId: string, limits: ContainerLimits): Promise<void> {
    await this.agent(['set-limits', instanceId, String(limits.memoryMib), limits.cpuset, String(limits.vcpus)]);
  }

  async memoryUsedMib(instanceId: string): Promise<number> {
    return Number((await this.agent(['memory-used', instanceId])).trim());
  }

  async setMtu(instanceId: string, mtu: number): Promise<void> {
    await this.agent(['set-mtu', instanceId, String(mtu)]);
  }

  exec(instanceId: string, command: string): Promise<string> {
    return this.agent(['exec', instanceId, command]);
  }

  async removeContainer(instanceId: string): Promise<void> {
    await this.libvirt.remove(instanceId);
    await this.agent(['unlimit-pids', instanceId]);
  }

  readUpper(instanceId: string): ChildProcess {
    return this.agentProcess(['send-upper', instanceId], ['ignore', 'pipe', 'pipe']);
  }

  writeUpper(instanceId: string): ChildProcess {
    return this.agentProcess(['receive-upper', instanceId], ['pipe', 'ignore', 'pipe']);
  }
}

/** Quotes one argument for the remote shell ssh hands the command to. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** One ComputeNode per OAR network address, made on first use. */
export class ComputeNodes {
  private readonly remote = new Map<string, RemoteNode>();
  readonly local: LocalNode;

  constructor(
    localLibvirt: Libvirt,
    private readonly store: ImageStore,
    private readonly names: BridgeNames,
  ) {
    this.local = new LocalNode('localhost', localLibvirt, store, names);
  }

  /** The node OAR calls `address`; this machine when null (an instance that never ran anywhere). */
  get(address: string | null | undefined): ComputeNode {
    if (!address || isThisMachine(address)) return this.local;
    let node = this.remote.get(address);
    if (!node) {
      node = new RemoteNode(address, this.store, this.names);
      this.remote.set(address, node);
    }
    return node;
  }

  /** The remote nodes met so far (and not forgotten since). */
  remotes(): RemoteNode[] {
    return [...this.remote.values()];
  }

  /** Forgets the remote nodes that are not among `addresses` (removed from the cluster). */
  retain(addresses: string[]): void {
    for (const address of this.remote.keys()) if (!addresses.includes(address)) this.remote.delete(address);
  }
}

/** Runs the agent on this machine (for the server's own end of the overlay network). */
export async function localAgent(args: string[]): Promise<string> {
  return runOk(NODE_AGENT, args);
}

/** Whether root can log in to the node with the server's node key, and the agent answers there. */
export async function probeNode(address: string): Promise<{ ok: boolean; message: string }> {
  const r = await run(NODE_SSH, [`root@${address}`, '--', NODE_AGENT, 'check'], { timeoutMs: 20_000 });
  return { ok: r.code === 0, message: (r.code === 0 ? r.stdout : r.stderr || r.stdout).trim() };
}
