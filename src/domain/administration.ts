/**
 * What an admin sees and changes across all accounts: OAR's nodes (changed through OAR's tools), every account's
 * instances, images, usage and quotas, and the event log. The `oarcloud` admin commands and the admin HTTP API
 * (dashboard) both go through this one module; every change an admin makes is written to the event log.
 */
import type { Db } from '../adapters/db';
import type { Oar } from '../adapters/oar';
import { NodeAdminError, type OarNode } from '../adapters/oar-nodes';
import { errors } from './errors';
import { stateReasons, transitionReasons } from './state-reasons';
import { canMove } from './instances';
import type { EventLog, EventRecord } from './events';
import type { Quotas, QuotaSetting, Limits, Usage } from './quotas';
import type { Accounts, NewAccessKey, Role } from './accounts';
import { alarmsFor, probeServices, type Alarm, type Components } from './alarms';

export interface AdminInstance {
  id: string;
  name: string | null;
  accountId: string;
  accountName: string;
  state: string;
  desiredState: string;
  stateReason: string | null;
  instanceType: string;
  cores: number;
  vcpus: number;
  node: string | null;
  oarJobId: number | null;
  privateIp: string | null;
  imageId: string;
  launchTime: string;
  updatedAt: string;
}
export interface AdminNode extends OarNode {
  /** OAR Cloud instances whose OAR job holds cores of this node. */
  instanceIds: string[];
}
export interface AdminAccount {
  id: string;
  name: string;
  isSystem: boolean;
  limits: Limits;
  usage: Usage;
  instancesByState: Record<string, number>;
}
export interface AdminKey {
  accessKeyId: string;
  accountId: string;
  accountName: string;
  user: string;
  role: Role;
  createdAt: string;
}
export interface AdminImage {
  id: string;
  name: string;
  accountId: string;
  accountName: string;
  state: string;
  isPublic: boolean;
  layers: number;
  sizeBytes: number | null;
  createdAt: string;
}
export type AdminEvent = EventRecord;
/** A VPC as admins see it: its subnets, its groups and what each allows in and out, its elastic IPs. */
export interface AdminVpc {
  id: string;
  accountName: string;
  cidr: string;
  /** Its VXLAN number; null for a default VPC (the shared network). */
  vni: number | null;
  isDefault: boolean;
  subnets: { id: string; cidr: string; internet: boolean }[];
  groups: { id: string; name: string; ingress: string[]; egress: string[]; members: number }[];
  elasticIps: { publicIp: string; instanceId: string | null }[];
  /** Its load balancers: where they listen and how many targets their checks find healthy is in DescribeTargetHealth. */
  loadBalancers: {
    name: string;
    type: string;
    scheme: string;
    state: string;
    privateIp: string | null;
    publicIp: string | null;
    listeners: string[];
    targets: number;
  }[];
}

export interface Snapshot {
  at: string;
  nodes: AdminNode[];
  instances: AdminInstance[];
  accounts: AdminAccount[];
  images: AdminImage[];
  vpcs: AdminVpc[];
  keys: AdminKey[];
  events: AdminEvent[];
  alarms: Alarm[];
}

/** A refusal from OAR's node tools, in the catalogue's terms. */
function nodeError(err: unknown): never {
  if (err instanceof NodeAdminError) {
    if (err.kind === 'invalid') throw errors.invalidParameterValue('node', '', err.message);
    if (err.kind === 'not-found') throw errors.notFound(err.message);
    if (err.kind === 'conflict') throw errors.conflict(err.message);
    throw errors.oarCommandFailed(err.message);
  }
  throw err;
}

/** Instances ended longer ago than this are not listed (they stay in the database). */
const RECENTLY_TERMINATED_SECONDS = 3600;
const MAX_LISTED_INSTANCES = 1000;
const SERVICES_PROBE_MS = 10_000;

export class Administration {
  private readonly db: Db;
  private readonly oar: Oar;
  private readonly quotas: Quotas;
  private readonly accountStore: Accounts;
  private readonly kick: (instanceId: string) => void;
  private readonly eventLog: EventLog;
  private readonly slotsPerCore: number;
  private readonly oarServerPort: number;
  private servicesProbe?: { at: number; value: Promise<Omit<Components, 'oarDatabase'>> };

  /** `kick` hands a changed instance to the reconciler at once (in the server); without it, its next pass finds it. */
  constructor(deps: {
    db: Db;
    oar: Oar;
    quotas: Quotas;
    accounts: Accounts;
    events: EventLog;
    oarServerPort: number;
    slotsPerCore: number;
    kick?: (instanceId: string) => void;
  }) {
    this.slotsPerCore = deps.slotsPerCore;
    this.eventLog = deps.events;
    this.oarServerPort = deps.oarServerPort;
    this.db = deps.db;
    this.oar = deps.oar;
    this.quotas = deps.quotas;
    this.accountStore = deps.accounts;
    this.kick = deps.kick ?? (() => undefined);
  }

  async nodes(): Promise<AdminNode[]> {
    const nodes = await this.oar.nodes.list();
    return nodes.map((n) => ({ ...n, instanceIds: n.jobs.map((j) => j.name).filter((name): name is string => !!name && name.startsWith('i-')) }));
  }

  async instances(filter: { account?: string; state?: string; id?: string } = {}): Promise<AdminInstance[]> {
    const q = this.db('instances as i')
      .join('accounts as a', 'a.id', 'i.account_id')
      .leftJoin('tags as t', (j) => j.on('t.resource_id', 'i.id').andOnVal('t.key', 'Name'))
      .where((w) =>
        w.whereNot('i.state', 'terminated').orWhere('i.terminated_at', '>', this.db.raw(`now() - interval '${RECENTLY_TERMINATED_SECONDS} seconds'`)),
      )
      .select('i.*', 'a.name as account_name', 't.value as name_tag')
      .orderBy('i.created_at', 'desc')
      .limit(MAX_LISTED_INSTANCES);
    if (filter.account) q.where((w) => w.where('a.id', filter.account!).orWhere('a.name', filter.account!));
    if (filter.state) q.where('i.state', filter.state);
    if (filter.id) q.where('i.id', filter.id);
    const rows = await q;
    return rows.map((r: any) => ({
      id: r.id,
      name: r.name_tag ?? null,
      accountId: r.account_id,
      accountName: r.account_name,
      state: r.state,
      desiredState: r.desired_state,
      stateReason: r.state_reason_message,
      instanceType: r.instance_type,
      cores: r.oar_cores,
      vcpus: r.vcpus,
      node: r.oar_node,
      oarJobId: r.oar_job_id,
      privateIp: r.private_ip,
      imageId: r.image_id,
      launchTime: r.launch_time.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    }));
  }

  async accounts(): Promise<AdminAccount[]> {
    const [accounts, quotas, counts] = await Promise.all([
      this.db('accounts').orderBy('created_at'),
      this.db('account_quotas'),
      this.db('instances')
        .whereNot('state', 'terminated')
        .groupBy('account_id', 'state')
        .select('account_id', 'state', this.db.raw('count(*)::int as n'), this.db.raw('sum(oar_cores)::int as cores')),
    ]);
    const defaults = this.quotas.defaults;
    return accounts.map((a: any) => {
      const q = quotas.find((row: any) => row.account_id === a.id);
      const mine = counts.filter((c: any) => c.account_id === a.id);
      return {
        id: a.id,
        name: a.name,
        isSystem: a.is_system,
        limits: { maxInstances: q?.max_instances ?? defaults.maxInstances, maxCores: q?.max_cores ?? defaults.maxCores },
        usage: { instances: mine.reduce((s: number, c: any) => s + c.n, 0), cores: mine.reduce((s: number, c: any) => s + c.cores, 0) },
        instancesByState: Object.fromEntries(mine.map((c: any) => [c.state, c.n])),
      };
    });
  }

  async images(): Promise<AdminImage[]> {
    const rows = await this.db('images as i')
      .join('accounts as a', 'a.id', 'i.account_id')
      .whereNot('i.state', 'deregistered')
      .select('i.*', 'a.name as account_name')
      .orderBy('i.created_at', 'desc');
    return rows.map((r: any) => ({
      id: r.id,
      name: r.name,
      accountId: r.account_id,
      accountName: r.account_name,
      state: r.state,
      isPublic: r.is_public,
      layers: r.layers.length,
      sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
      createdAt: r.created_at.toISOString(),
    }));
  }

  /**
   * Every VPC made so far (default ones once their account used them), in five queries: subnets (and whether they
   * route to an internet gateway), groups with their rules as one line each ("tcp 22 from 0.0.0.0/0") and their
   * members, elastic IPs.
   */
  async vpcs(): Promise<AdminVpc[]> {
    const db = this.db;
    const [vpcs, subnets, groups, rules, eips, balancers] = await Promise.all([
      db('vpcs as v')
        .join('accounts as a', 'a.id', 'v.account_id')
        .orderBy(['a.name', 'v.created_at'])
        .select('v.id', 'v.vni', 'v.is_default', 'a.name', db.raw('v.cidr::text as cidr')),
      db('subnets as s')
        .orderBy('s.cidr')
        .select(
          's.id',
          's.vpc_id',
          db.raw('s.cidr::text as cidr'),
          db.raw(`exists (select 1 from routes r join route_tables t on t.id = r.route_table_id
          join internet_gateways g on g.id = r.gateway_id and g.vpc_id = s.vpc_id
          where r.destination = '0.0.0.0/0' and t.id = coalesce((select ra.route_table_id from route_table_associations ra where ra.subnet_id = s.id),
            (select m.id from route_tables m where m.vpc_id = s.vpc_id and m.is_main))) as internet`),
        ),
      db('security_groups as g')
        .orderBy('g.name')
        .select(
          'g.id',
          'g.vpc_id',
          'g.name',
          db.raw(`(select count(*)::int from instance_security_groups m join instances i on i.id = m.instance_id
          where m.group_id = g.id and i.state <> 'terminated') as members`),
        ),
      db('security_group_rules')
        .orderBy('created_at')
        .select('group_id', 'egress', 'protocol', 'from_port', 'to_port', 'source_group_id', db.raw('cidr::text as cidr')),
      db('elastic_ips as e')
        .join('accounts as a', 'a.id', 'e.account_id')
        .whereNull('e.load_balancer_id')
        .select(db.raw('host(e.public_ip) as ip'), 'e.instance_id', 'e.account_id', 'a.name'),
      db('load_balancers as l')
        .orderBy('l.name')
        .select(
          'l.vpc_id',
          'l.name',
          'l.type',
          'l.scheme',
          'l.state',
          db.raw('host(l.private_ip) as private_ip'),
          db.raw('(select host(e.public_ip) from elastic_ips e where e.load_balancer_id = l.id) as public_ip'),
          db.raw(
            `(select coalesce(array_agg(x.protocol || ':' || x.port order by x.port), '{}') from listeners x where x.load_balancer_id = l.id) as listeners`,
          ),
          db.raw(`(select count(distinct (t.target_group_id, t.target_id, t.port))::int from lb_targets t join target_groups g on g.id = t.target_group_id
                   where g.account_id = l.account_id and exists (select 1 from listeners x where x.load_balancer_id = l.id
                     and x.default_actions::text like '%' || g.id || '%')) as targets`),
        ),
    ]);
    const groupName = new Map(groups.map((g) => [g.id, g.name]));
    const describe = (r: {
      protocol: string;
      from_port: number | null;
      to_port: number | null;
      cidr: string | null;
      source_group_id: string | null;
      egress: boolean;
    }) => {
      const proto = r.protocol === '-1' ? 'all' : r.protocol;
      const ports = r.from_port === null || r.protocol === '-1' ? '' : r.from_port === r.to_port ? ` ${r.from_port}` : ` ${r.from_port}-${r.to_port}`;
      const peer = r.cidr ?? groupName.get(r.source_group_id!) ?? r.source_group_id;
      return `${proto}${ports} ${r.egress ? 'to' : 'from'} ${peer}`;
    };
    return vpcs
      .map((v) => ({
        id: v.id,
        accountName: v.name,
        cidr: v.cidr,
        vni: v.vni,
        isDefault: v.is_default,
        subnets: subnets.filter((s) => s.vpc_id === v.id).map((s) => ({ id: s.id, cidr: s.cidr, internet: s.internet })),
        groups: groups
          .filter((g) => g.vpc_id === v.id)
          .map((g) => ({
            id: g.id,
            name: g.name,
            members: g.members,
            ingress: rules.filter((r) => r.group_id === g.id && !r.egress).map(describe),
            egress: rules.filter((r) => r.group_id === g.id && r.egress).map(describe),
          })),
        // an account's addresses are listed with its first VPC of its own (they are not in a VPC until associated)
        elasticIps: [],
        loadBalancers: balancers
          .filter((b) => b.vpc_id === v.id)
          .map((b) => ({
            name: b.name,
            type: b.type,
            scheme: b.scheme,
            state: b.state,
            privateIp: b.private_ip,
            publicIp: b.public_ip,
            listeners: b.listeners,
            targets: b.targets,
          })),
      }))
      .map((v, _i, all) => {
        const first = all.find((x) => x.accountName === v.accountName && !x.isDefault);
        if (first !== v) return v;
        return { ...v, elasticIps: eips.filter((e) => e.name === v.accountName).map((e) => ({ publicIp: e.ip, instanceId: e.instance_id })) };
      });
  }

  /** Active access keys of every account (secrets are never shown again). */
  async keys(): Promise<AdminKey[]> {
    const rows = await this.accountStore.listKeys();
    return rows
      .filter((k: any) => k.status === 'Active')
      .map((k: any) => ({
        accessKeyId: k.access_key_id,
        accountId: k.account_id,
        accountName: k.account,
        user: k.user,
        role: k.role,
        createdAt: k.created_at.toISOString(),
      }));
  }

  async events(opts: { limit?: number; errorsOnly?: boolean } = {}): Promise<AdminEvent[]> {
    return this.eventLog.recent(opts);
  }

  /** Everything the dashboard shows, in one document. An unreachable OAR database empties the nodes and alarms. */
  async snapshot(): Promise<Snapshot> {
    let oarDatabase = true;
    const [nodes, instances, accounts, images, vpcs, keys, events, services] = await Promise.all([
      this.nodes().catch(() => ((oarDatabase = false), [])),
      this.instances(),
      this.accounts(),
      this.images(),
      this.vpcs(),
      this.keys(),
      this.events({ limit: 60 }),
      this.probe(),
    ]);
    const alarms = alarmsFor({ now: Date.now(), components: { ...services, oarDatabase }, nodes, instances, events });
    return { at: new Date().toISOString(), nodes, instances, accounts, images, vpcs, keys, events, alarms };
  }

  async alarms(): Promise<Alarm[]> {
    return (await this.snapshot()).alarms;
  }

  /** Services are probed at most every ten seconds (the dashboard's snapshot is read every second). */
  private probe(): Promise<Omit<Components, 'oarDatabase'>> {
    if (!this.servicesProbe || Date.now() - this.servicesProbe.at > SERVICES_PROBE_MS) {
      this.servicesProbe = { at: Date.now(), value: probeServices(this.oarServerPort) };
    }
    return this.servicesProbe.value;
  }

  // ------------------------------------------------------------------------------------------ changes

  async addNode(who: string, host: string, cores: number, memoryMib: number, slotsPerCore = this.slotsPerCore): Promise<OarNode> {
    const node = await this.oar.nodes.add(host, cores, memoryMib, slotsPerCore).catch(nodeError);
    await this.changed(who, host, `added OAR node ${host}: ${cores} core(s), ${memoryMib} MiB`);
    return node;
  }

  async drainNode(who: string, host: string, on: boolean): Promise<OarNode> {
    const node = await this.oar.nodes.drain(host, on).catch(nodeError);
    await this.changed(who, host, on ? `drained ${host}: OAR starts no new job there` : `undrained ${host}`);
    return node;
  }

  async setNodeState(who: string, host: string, state: 'Alive' | 'Absent', force = false): Promise<OarNode> {
    const node = await this.oar.nodes.setState(host, state, force).catch(nodeError);
    await this.changed(who, host, `set ${host} ${state}${force ? ' (forced)' : ''}`);
    return node;
  }

  async removeNode(who: string, host: string, force = false): Promise<void> {
    await this.oar.nodes.remove(host, force).catch(nodeError);
    await this.changed(who, host, `removed OAR node ${host}${force ? ' (forced)' : ''}`);
  }

  /**
   * Stops or terminates an instance of any account, termination and stop protection notwithstanding (an admin's
   * decision); the owner sees the reason.
   */
  async changeInstance(who: string, id: string, to: 'stopped' | 'terminated'): Promise<AdminInstance> {
    const row = await this.db('instances').where('id', id).first();
    if (!row) throw errors.notFound(`There is no instance '${id}'.`);
    const verb = to === 'terminated' ? 'terminated' : 'stopped';
    const reason = stateReasons.scheduledStop(`${verb} by an administrator`);
    if (row.state === 'terminated' || row.desired_state === 'terminated')
      throw errors.conflict(`${id} is already ${row.state === 'terminated' ? 'terminated' : 'being terminated'}.`);
    if (to === 'stopped' && (row.state === 'stopped' || row.desired_state === 'stopped'))
      throw errors.conflict(`${id} is already ${row.state === 'stopped' ? 'stopped' : 'stopping'}.`);
    // shown at once, written only over the state read (as the API's own calls do: see InstanceStore.changeStates)
    const shown = to === 'terminated' ? 'shutting-down' : 'stopping';
    const written = await this.db('instances')
      .where({ id, state: row.state })
      .update({
        desired_state: to,
        ...(canMove(row.state, shown) ? { state: shown } : {}),
        updated_at: new Date(),
        transition_reason: transitionReasons.service(`${verb} by an administrator`),
        state_reason_code: reason.code,
        state_reason_message: reason.message,
      });
    if (!written) throw errors.conflict(`The state of ${id} changed meanwhile; try again.`);
    await this.record(who, row.account_id, id, `${verb === 'terminated' ? 'terminates' : 'stops'} ${id}`);
    this.kick(id);
    return (await this.instances({ id }))[0];
  }

  // access rights: the same Accounts domain as `oarcloud account|key`

  async createAccount(who: string, name: string): Promise<{ id: string; name: string }> {
    const account = await this.accountStore.create(name);
    await this.record(who, account.id, account.id, `created account ${name}`);
    return { id: account.id, name: account.name };
  }

  async deleteAccount(who: string, nameOrId: string): Promise<void> {
    const account = await this.accountStore.get(nameOrId);
    await this.accountStore.delete(account.id);
    await this.record(who, null, account.id, `deleted account ${account.name}`);
  }

  async createKey(who: string, account: string, user: string, role: Role): Promise<NewAccessKey> {
    const key = await this.accountStore.createKey(account, user, role);
    await this.record(who, key.accountId, key.accessKeyId, `created ${role} key ${key.accessKeyId} for ${user}`);
    return key;
  }

  async revokeKey(who: string, accessKeyId: string): Promise<void> {
    const key = (await this.accountStore.listKeys()).find((k: any) => k.access_key_id === accessKeyId);
    await this.accountStore.revokeKey(accessKeyId);
    await this.record(who, key?.account_id ?? null, accessKeyId, `revoked key ${accessKeyId}`);
  }

  async setQuota(who: string, accountId: string, setting: QuotaSetting): Promise<Limits> {
    const limits = await this.quotas.set(accountId, setting);
    await this.record(who, accountId, accountId, `set quotas: ${limits.maxInstances} instances, ${limits.maxCores} cores`);
    return limits;
  }

  private async changed(who: string, host: string, message: string): Promise<void> {
    this.oar.forgetCapacity();
    await this.record(who, null, host, message);
  }

  private async record(who: string, accountId: string | null, resourceId: string, message: string): Promise<void> {
    await this.eventLog.record('admin', accountId, resourceId, `${who} ${message}`);
  }
}
