/**
 * Instances in our database: the rows, their EC2 view, and the queries DescribeInstances needs (filters and
 * pagination in SQL). Nothing here calls OAR or libvirt: that is the reconciler's job.
 */
import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import { errors, type DomainError } from './errors';
import { checkFilters, wildcardToLike, type Filter } from './filters';
import { checkMaxResults, decodeToken, takePage } from './pagination';
import { derivedIds, isValidId, newId } from './ids';
import type { NetworkView } from './network';
import type { Images } from './images';
import type { KeyPairs } from './key-pairs';
import type { Quotas } from './quotas';
import { SHARED, type AddressPool, type LeaseScope } from './addresses';
import type { Vpcs } from './vpcs';
import type { SecurityGroups } from './security-groups';
import type { Tags } from './tags';
import { findInstanceType, HOST_ARCHITECTURE, sizingAmong, type InstanceType, type Sizing } from './instance-types';
import { stateReasons, transitionReasons, type StateReason } from './state-reasons';
import { databaseFailure } from '../adapters/db';
import type { Capacity } from '../adapters/oar';
import type { EventLog } from './events';

/** Where the cores and slots are: OAR's view, cached briefly by the adapter. */
export interface CapacitySource {
  capacity(): Promise<Capacity>;
}

/** The type's sizing on this cluster, or InsufficientInstanceCapacity when no node can ever hold it. */
async function sizingOn(source: CapacitySource, type: InstanceType): Promise<Sizing> {
  const { nodes } = await source.capacity();
  const sizing = sizingAmong(nodes.values(), type);
  if (sizing) return sizing;
  const largest = Math.max(0, ...[...nodes.values()].map((n) => n.cores));
  throw errors.insufficientCapacity(`There is no node with room for ${type.name} in the cluster (largest: ${largest} Alive, undrained cores).`);
}

/** How long ModifyInstanceAttribute waits for a live resize's outcome (OAR's start of the new job, then the limits). */
const RESIZE_WAIT_MS = 60_000;
/** How often a waiting resize call rereads its row when the reconciler runs in another server (no signal reaches it). */
const RESIZE_RECHECK_MS = 1000;

/** Terminated instances whose records one sweep deletes at most. */
const PURGE_BATCH = 1000;

function quotaExceeded(room: Awaited<ReturnType<Quotas['room']>>, wanted: number, coresEach: number) {
  const { limits, usage } = room;
  if (usage.instances + wanted > limits.maxInstances) {
    return errors.instanceLimitExceeded(
      `Your quota allows for ${Math.max(0, limits.maxInstances - usage.instances)} more instance(s) (limit ${limits.maxInstances}, in use ${usage.instances}). You requested at least ${wanted}.`,
    );
  }
  return errors.instanceLimitExceeded(
    `You have requested more cores than your quota allows: ${wanted} instance(s) of ${coresEach} core(s) each, with ${usage.cores} of ${limits.maxCores} cores in use.`,
  );
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/**
 * The only moves an instance's state makes, in EC2's lifecycle. Both writers (the API's calls and the reconciler)
 * write a state only from the one they read and only along this table, so a later read never shows an earlier
 * state than a call answered (issue 20: no stale "running" after StopInstances said "stopping").
 */
const NEXT_STATES: Record<InstanceStateName, readonly InstanceStateName[]> = {
  pending: ['running', 'stopping', 'shutting-down'],
  running: ['stopping', 'shutting-down'],
  stopping: ['stopped', 'shutting-down'],
  stopped: ['pending', 'shutting-down'],
  'shutting-down': ['terminated'],
  terminated: [],
};

export const canMove = (from: InstanceStateName, to: InstanceStateName): boolean => from === to || NEXT_STATES[from].includes(to);

export interface InstanceRow {
  id: string;
  account_id: string;
  reservation_id: string;
  ami_launch_index: number;
  image_id: string;
  layers: string[];
  instance_type: string;
  vcpus: number;
  memory_mib: number;
  /** Cores the OAR job spans (what quotas count). */
  oar_cores: number;
  /** Slots the job holds on each of its cores; null: the whole cores (a dedicated type, or a row from before slots). */
  oar_slots: number | null;
  /** The memory per slot the job was sized with: OAR places it only where slots carry at least this. */
  oar_min_memory_mib: number | null;
  key_name: string | null;
  public_key: string | null;
  user_data: Buffer | null;
  state: InstanceStateName;
  desired_state: 'running' | 'stopped' | 'terminated';
  state_reason_code: string | null;
  state_reason_message: string | null;
  transition_reason: string;
  private_ip: string | null;
  mac: string | null;
  /** The subnet of its primary interface (null only for rows from before VPCs: the account's default subnet). */
  subnet_id: string | null;
  availability_zone: string;
  launch_time: Date;
  disable_api_termination: boolean;
  disable_api_stop: boolean;
  shutdown_behavior: 'stop' | 'terminate';
  oar_job_id: number | null;
  oar_node: string | null;
  /** The node that holds the instance's disk (where it last ran); null before its first start. */
  disk_node: string | null;
  reboot_requested: boolean;
  /** The next shutdown of the container skips the graceful part (SkipOsShutdown on StopInstances/TerminateInstances). */
  skip_os_shutdown: boolean;
  /** A live resize asked for (the type), until the reconciler has applied it or failed (resize_error: "Code: why"). */
  resize_type: string | null;
  /** Who asked for the resize under way, for its event ("user alice", "alarm NAME", "schedule GROUP/NAME"). */
  resize_by: string | null;
  resize_error: string | null;
  resized_at: Date | null;
  client_token: string | null;
  created_at: Date;
  terminated_at: Date | null;
}

/** DescribeInstances filters answered in SQL: each maps to an expression compared with LIKE. */
const FILTER_COLUMNS: Record<string, string> = {
  'instance-id': 'i.id',
  'instance-state-name': 'i.state',
  'instance-type': 'i.instance_type',
  'image-id': 'i.image_id',
  'key-name': 'i.key_name',
  'private-ip-address': 'host(i.private_ip)',
  'network-interface.addresses.private-ip-address': 'host(i.private_ip)',
  'private-dns-name': "('ip-' || replace(host(i.private_ip), '.', '-') || '.ec2.internal')",
  'reservation-id': 'i.reservation_id',
  'client-token': 'i.client_token',
  'availability-zone': 'i.availability_zone',
  'placement-availability-zone': 'i.availability_zone',
  'launch-time': `to_char(i.launch_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  'owner-id': 'i.account_id',
  architecture: "'x86_64'",
  'root-device-type': "'ebs'",
  'root-device-name': "'/dev/xvda'",
  'virtualization-type': "'hvm'",
  hypervisor: "'xen'",
  tenancy: "'default'",
  reason: 'i.transition_reason',
  'state-reason-code': 'i.state_reason_code',
};
const STATE_BY_CODE = Object.fromEntries(Object.entries(STATE_CODES).map(([k, v]) => [String(v), k]));
export const INSTANCE_FILTERS = [
  ...Object.keys(FILTER_COLUMNS),
  'instance-state-code',
  'tag-key',
  'tag-value',
  'vpc-id',
  'subnet-id',
  'group-id',
  'group-name',
  'instance.group-id',
  'instance.group-name',
];

export interface DescribeQuery {
  accountId: string;
  instanceIds?: string[];
  filters?: Filter[];
  maxResults?: number;
  nextToken?: string;
}

/** What a launch needs, validated as far as the input alone allows (the rest is checked here, against the state). */
export interface LaunchRequest {
  accountId: string;
  /** With `requestHash`: the same token and hash answer the first launch again; another hash is a mismatch. */
  clientToken?: string;
  requestHash: string;
  imageId: string;
  type: InstanceType;
  keyName?: string;
  userData: Buffer | null;
  /** Placement.AvailabilityZone when given: it must be the subnet's. */
  zone?: string;
  shutdownBehavior: 'stop' | 'terminate';
  disableApiTermination: boolean;
  disableApiStop: boolean;
  tags: { key: string; value: string }[];
  /** Tags of each instance's root volume (TagSpecifications of type volume). */
  volumeTags: { key: string; value: string }[];
  minCount: number;
  maxCount: number;
  /** The subnet (default: the account's default subnet), its security groups (default: the VPC's default group). */
  subnetId?: string;
  groupIds: string[];
  /** One address of the subnet asked for (a launch of one instance only). */
  privateIp?: string;
  /** Whether it gets an automatic public address while it runs (default: the subnet's MapPublicIpOnLaunch). */
  associatePublicIp?: boolean;
}

export interface Launched {
  reservationId: string;
  rows: InstanceRow[];
}

/** A change of desired state asked through the API, and the state the caller is shown at once. */
export interface StateChangePlan {
  desired?: InstanceRow['desired_state'];
  shown: InstanceStateName;
  extra?: Partial<InstanceRow>;
}

export interface StateChange {
  InstanceId: string;
  PreviousState: { Code: number; Name: InstanceStateName };
  CurrentState: { Code: number; Name: InstanceStateName };
}

export interface InstanceStoreDeps {
  db: Knex;
  network: NetworkView;
  images: Images;
  keyPairs: KeyPairs;
  quotas: Quotas;
  addresses: AddressPool;
  tags: Tags;
  vpcs: Vpcs;
  securityGroups: SecurityGroups;
  capacity: CapacitySource;
  retentionSeconds: number;
  /** Where type changes are recorded (and from there, notified). */
  events?: EventLog;
  /** Hands a changed instance to the reconciler at once (in the server); without it, its next pass finds it. */
  kick?: (instanceId: string) => void;
}

export const stateOf = (name: InstanceStateName) => ({ Code: STATE_CODES[name], Name: name });

export class InstanceStore {
  private readonly db: Knex;
  /** Raised (by instance id) when this process writes a resize's outcome: the waiting call rereads at once. */
  private readonly resizeSettled = new EventEmitter().setMaxListeners(0);
  private readonly network: NetworkView;
  private readonly retentionSeconds: number;

  constructor(private readonly deps: InstanceStoreDeps) {
    this.db = deps.db;
    this.network = deps.network;
    this.retentionSeconds = deps.retentionSeconds;
  }

  private kick(id: string): void {
    this.deps.kick?.(id);
  }

  /**
   * RunInstances: the reservation, instances, address leases and tags in one transaction, within the account's
   * quota (counted under a per-account lock). A ClientToken already used answers its first launch again.
   */
  async launch(req: LaunchRequest): Promise<Launched> {
    if (req.clientToken) {
      const previous = await this.replay(req);
      if (previous) return previous;
    }
    const { images, keyPairs, quotas, addresses, tags, capacity, vpcs, securityGroups } = this.deps;
    const image = await images.launchable(req.accountId, req.imageId);
    if (!req.type.architectures.includes(image.architecture)) throw errors.architectureMismatch(req.type.architectures.join(', '), image.architecture);
    const subnet = await vpcs.getSubnet(req.accountId, req.subnetId ?? this.network.defaultSubnetId(req.accountId));
    if (req.zone && subnet.availability_zone !== req.zone)
      throw errors.invalidParameterValue('Placement.AvailabilityZone', req.zone, `The subnet ${subnet.id} is in ${subnet.availability_zone}.`);
    const groupIds = await securityGroups.checkMembership(req.accountId, subnet.vpc_id, req.groupIds);
    const publicAddress = req.associatePublicIp ?? subnet.map_public_ip;
    if (publicAddress && subnet.is_default)
      throw errors.invalidParameterCombination(
        'Automatic public addresses are given in VPCs you create (with an internet gateway); the default VPC is the shared network, reached from this machine directly.',
      );
    if (req.privateIp && req.maxCount > 1) throw errors.invalidParameterCombination('PrivateIpAddress can be given for one instance only (MaxCount 1).');
    const scope: LeaseScope = subnet.is_default ? SHARED : { network: subnet.vpc_id, cidr: subnet.cidr };
    const key = req.keyName ? await keyPairs.get(req.accountId, req.keyName) : undefined;
    // the type must fit on one OAR node; instances beyond the free slots wait in OAR's queue
    const sizing = await sizingOn(capacity, req.type);
    const cores = sizing.cores;
    const reservationId = newId('r');
    const ids: string[] = [];
    try {
      await this.db.transaction(async (trx) => {
        const room = await quotas.room(trx, req.accountId, cores);
        const count = Math.min(req.maxCount, room.count);
        if (count < req.minCount) throw quotaExceeded(room, req.minCount, cores);
        ids.push(...Array.from({ length: count }, () => newId('i')));
        await trx('reservations').insert({
          id: reservationId,
          account_id: req.accountId,
          client_token: req.clientToken || null,
          request_hash: req.requestHash,
        });
        const rows = ids.map((id, i) => ({
          id,
          account_id: req.accountId,
          reservation_id: reservationId,
          ami_launch_index: i,
          image_id: image.id,
          layers: image.layers,
          instance_type: req.type.name,
          vcpus: req.type.vcpus,
          memory_mib: req.type.memoryMib,
          oar_cores: cores,
          oar_slots: sizing.slotsPerCore,
          oar_min_memory_mib: sizing.minMemoryMib,
          key_name: key?.name ?? null,
          public_key: key?.public_key ?? null,
          user_data: req.userData,
          state: 'pending',
          desired_state: 'running',
          state_reason_code: 'pending',
          state_reason_message: stateReasons.pending('accepted, submitting to OAR').message,
          availability_zone: subnet.availability_zone,
          subnet_id: subnet.id,
          public_address: publicAddress,
          disable_api_termination: req.disableApiTermination,
          disable_api_stop: req.disableApiStop,
          shutdown_behavior: req.shutdownBehavior,
          client_token: req.clientToken || null,
        }));
        await trx('instances').insert(rows);
        const ips = await addresses.lease(trx, ids, scope, req.privateIp);
        if (ips.length < req.minCount) throw errors.insufficientCapacity('There are not enough free private addresses in the subnet.');
        if (ips.length < ids.length) {
          await trx('instances').whereIn('id', ids.slice(ips.length)).delete();
          ids.length = ips.length;
        }
        for (const [i, ip] of ips.entries())
          await trx('instances')
            .where('id', ids[i])
            .update({ private_ip: ip, mac: this.network.macFor(ip) });
        await securityGroups.setMembership(trx, ids, groupIds);
        await tags.insert(req.accountId, 'instance', ids, req.tags, trx);
        await tags.insert(req.accountId, 'volume', ids.map(derivedIds.rootVolume), req.volumeTags, trx);
      });
    } catch (err: any) {
      // two calls with the same token raced: the loser answers with the winner's reservation
      if (databaseFailure(err) === 'unique' && req.clientToken) {
        const previous = await this.replay(req);
        if (previous) return previous;
      }
      throw err;
    }
    for (const id of ids) this.kick(id);
    return { reservationId, rows: await this.db('instances').whereIn('id', ids).orderBy('ami_launch_index') };
  }

  private async replay(req: LaunchRequest): Promise<Launched | undefined> {
    const reservation = await this.db('reservations').where({ account_id: req.accountId, client_token: req.clientToken }).first();
    if (!reservation) return undefined;
    if (reservation.request_hash !== req.requestHash) throw errors.idempotentParameterMismatch();
    return { reservationId: reservation.id, rows: await this.db('instances').where('reservation_id', reservation.id).orderBy('ami_launch_index') };
  }

  /**
   * State changes asked for by the API (terminate, stop, start, reboot): each row's plan (null: nothing to do) is
   * written as its new desired state, handed to the reconciler, and reported as EC2's previous/current pairs.
   */
  async changeStates(rows: InstanceRow[], planFor: (row: InstanceRow) => StateChangePlan | null): Promise<StateChange[]> {
    const changes: StateChange[] = [];
    for (const row of rows) {
      let r = row;
      let p = planFor(r);
      // written only over the state it was planned from: a reconciler's write in between means plan again
      for (let attempt = 0; p && (p.desired || p.extra); attempt++) {
        const update: Partial<InstanceRow> = { ...(p.extra ?? {}) };
        if (p.desired) {
          const reason = p.desired === 'running' ? stateReasons.pending('start requested') : stateReasons.userInitiatedShutdown();
          Object.assign(update, {
            desired_state: p.desired,
            transition_reason: transitionReasons.user(),
            state_reason_code: reason.code,
            state_reason_message: reason.message,
          });
          if (canMove(r.state, p.shown)) update.state = p.shown;
        }
        const written = await this.db('instances')
          .where({ id: r.id, state: r.state })
          .update({ ...update, updated_at: new Date() });
        if (written) {
          this.kick(r.id);
          break;
        }
        const fresh = await this.get(r.id);
        if (!fresh || attempt >= 10) throw errors.internalError();
        r = fresh;
        p = planFor(r);
      }
      changes.push({ InstanceId: r.id, PreviousState: stateOf(r.state), CurrentState: stateOf(p?.shown ?? r.state) });
    }
    return changes;
  }

  /**
   * Live resize (ModifyInstanceAttribute InstanceType on a running instance): asks the reconciler, which moves the
   * container onto an OAR job of the new size on the same node, and answers once the new limits are in force, or with
   * why nothing changed (no room on the node, memory in use).
   */
  async resizeRunning(r: InstanceRow, type: InstanceType, by: string): Promise<void> {
    if (!type.architectures.includes(HOST_ARCHITECTURE)) throw errors.architectureMismatch(type.architectures.join(', '), HOST_ARCHITECTURE);
    await sizingOn(this.deps.capacity, type);
    const asked = await this.db('instances')
      .where({ id: r.id, state: 'running', desired_state: 'running' })
      .whereNull('resize_type')
      .update({ resize_type: type.name, resize_by: by, resize_error: null, updated_at: new Date() });
    if (!asked) throw errors.incorrectInstanceState(`The instance '${r.id}' is not running, or is being resized already.`);
    this.kick(r.id);
    const deadline = Date.now() + RESIZE_WAIT_MS;
    for (;;) {
      await this.untilResizeSettled(r.id, RESIZE_RECHECK_MS);
      const row = await this.get(r.id);
      if (!row) throw errors.internalError();
      if (!row.resize_type) {
        if (row.resize_error) throw errors.recorded(row.resize_error);
        return;
      }
      // no reconciler took it (no leading server): the request stays, and is applied when one leads
      if (Date.now() > deadline) throw errors.unavailable();
    }
  }

  /**
   * An alarm's resize action: the instance of its dimension to the type of its ARN, unless it has that type already
   * or was resized less than `cooldownSeconds` ago (a rule's flapping is held back; the alarm history says so).
   */
  async resizeByRule(accountId: string, instanceId: string, typeName: string, cooldownSeconds: number, by: string): Promise<'resized' | 'unchanged'> {
    const [r] = await this.getOwned(accountId, [instanceId]);
    if (r.instance_type === typeName) return 'unchanged';
    const type = findInstanceType(typeName);
    if (!type) throw errors.invalidInstanceType(typeName);
    if (r.state !== 'running') throw errors.incorrectInstanceState(`The instance '${r.id}' is not running.`);
    const since = r.resized_at ? (Date.now() - r.resized_at.getTime()) / 1000 : Infinity;
    if (since < cooldownSeconds)
      throw errors.incorrectInstanceState(
        `The instance '${r.id}' was resized ${Math.floor(since)} s ago; alarm actions wait ${cooldownSeconds} s between resizes (OARCLOUD_RESIZE_COOLDOWN).`,
      );
    await this.resizeRunning(r, type, by);
    return 'resized';
  }

  /** The types some node of this cluster can hold (capacity permitting): what DescribeInstanceTypes offers. */
  async placeable(types: Iterable<InstanceType>): Promise<InstanceType[]> {
    const { nodes } = await this.deps.capacity.capacity();
    return [...types].filter((t) => t.architectures.includes(HOST_ARCHITECTURE) && sizingAmong(nodes.values(), t));
  }

  /** Changes stored attributes (ModifyInstanceAttribute); a new type takes the OAR cores it needs, and is an event. */
  async modify(r: InstanceRow, update: Partial<InstanceRow>, newType?: InstanceType, by = 'unknown'): Promise<void> {
    if (newType) {
      // images here are built on the nodes, so they are the nodes' architecture
      if (!newType.architectures.includes(HOST_ARCHITECTURE)) throw errors.architectureMismatch(newType.architectures.join(', '), HOST_ARCHITECTURE);
      const sizing = await sizingOn(this.deps.capacity, newType);
      Object.assign(update, {
        instance_type: newType.name,
        vcpus: newType.vcpus,
        memory_mib: newType.memoryMib,
        oar_cores: sizing.cores,
        oar_slots: sizing.slotsPerCore,
        oar_min_memory_mib: sizing.minMemoryMib,
      });
    }
    if (Object.keys(update).length) await this.update(r.id, update);
    if (newType && newType.name !== r.instance_type) {
      await this.deps.events?.record('resize', r.account_id, r.id, `instance type changed from ${r.instance_type} to ${newType.name} while stopped, by ${by}`);
    }
  }

  async update(id: string, changes: Partial<InstanceRow>): Promise<void> {
    await this.db('instances')
      .where('id', id)
      .update({ ...changes, updated_at: new Date() });
    if (changes.resize_type === null) this.resizeSettled.emit(id);
  }

  /** Until this process writes the instance's resize outcome, or `ms` pass (the outcome may come from another server). */
  private untilResizeSettled(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.resizeSettled.off(id, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.resizeSettled.once(id, done);
    });
  }

  /**
   * The reconciler's write of a state change and its reasons; returns what was written. A progress note about a
   * launch never overwrites why a stop or termination was asked for meanwhile (checked in the same statement).
   */
  async recordTransition(
    inst: InstanceRow,
    changes: Partial<InstanceRow>,
    reason?: StateReason | null,
    transitionReason?: string,
  ): Promise<Partial<InstanceRow>> {
    const row: Record<string, unknown> = { ...changes, updated_at: new Date() };
    if (reason !== undefined) {
      row.state_reason_code = reason?.code ?? null;
      row.state_reason_message = reason?.message ?? null;
    }
    if (transitionReason !== undefined) row.transition_reason = transitionReason;
    const written = { ...row };
    if (reason?.code === 'pending') {
      const unlessRedirected = (value: string, column: string) =>
        this.db.raw(`case when desired_state = ? then ? else ${column} end`, [inst.desired_state, value]);
      written.state_reason_code = unlessRedirected(reason.code, 'state_reason_code');
      written.state_reason_message = unlessRedirected(reason.message, 'state_reason_message');
    }
    if (changes.state !== undefined) {
      // forward only, and only from the state this decision was made on: an API call that wrote meanwhile wins
      written.state = canMove(inst.state, changes.state)
        ? this.db.raw('case when state = ? then ? else state end', [inst.state, changes.state])
        : this.db.raw('state');
    }
    const [after] = await this.db('instances').where('id', inst.id).update(written).returning('state');
    if (after && changes.state !== undefined) row.state = after.state;
    return row as Partial<InstanceRow>;
  }

  /** Instances the reconciler's pass looks at: all but terminated ones and those settled as stopped. */
  async unsettled(): Promise<InstanceRow[]> {
    // knex's whereNot({...}) would negate each column: spelled out here
    return this.db('instances').whereNot('state', 'terminated').whereRaw("not (state = 'stopped' and desired_state = 'stopped')");
  }

  /** Every instance that is not terminated, as the sweeper needs it. */
  async live(): Promise<Pick<InstanceRow, 'id' | 'state' | 'desired_state' | 'oar_job_id'>[]> {
    return this.db('instances').whereNot('state', 'terminated').select('id', 'state', 'desired_state', 'oar_job_id');
  }

  /** Who holds which address (instances not terminated), for the network rules. */
  async addressHolders(): Promise<{ instanceId: string; accountId: string; ip: string }[]> {
    return this.db('instances')
      .whereNot('state', 'terminated')
      .whereNotNull('private_ip')
      .select('id as instanceId', 'account_id as accountId', this.db.raw('host(private_ip) as ip'));
  }

  /**
   * Deletes the records of instances terminated longer ago than `olderThanSeconds`, with their tags and the
   * reservations left empty, a batch at a time, so the tables do not grow for ever. Their events stay.
   */
  async purgeTerminated(olderThanSeconds: number): Promise<number> {
    return this.db.transaction(async (trx) => {
      const gone: { id: string; reservation_id: string }[] = await trx('instances')
        .whereIn(
          'id',
          trx('instances')
            .select('id')
            .where('state', 'terminated')
            .where('terminated_at', '<', trx.raw('now() - make_interval(secs => ?)', [olderThanSeconds]))
            .limit(PURGE_BATCH),
        )
        .delete()
        .returning(['id', 'reservation_id']);
      if (gone.length === 0) return 0;
      await trx('tags')
        .whereIn(
          'resource_id',
          gone.map((g) => g.id),
        )
        .delete();
      await trx('reservations')
        .whereIn('id', [...new Set(gone.map((g) => g.reservation_id))])
        .whereNotExists(trx('instances').select(trx.raw('1')).whereRaw('instances.reservation_id = reservations.id'))
        .delete();
      return gone.length;
    });
  }

  /** The caller's root volumes (one per instance not terminated), in id order, after a page token's id. */
  async withRootVolumes(accountId: string, volumeIds: string[] | undefined, afterInstanceId?: string): Promise<InstanceRow[]> {
    const q = this.db('instances').where('account_id', accountId).whereNot('state', 'terminated').orderBy('id');
    if (volumeIds?.length) q.whereIn('id', volumeIds.map(derivedIds.instanceOfVolume));
    if (afterInstanceId) q.where('id', '>', afterInstanceId);
    return q;
  }

  async get(id: string): Promise<InstanceRow | undefined> {
    return this.db('instances').where('id', id).first();
  }

  /** The caller's instances with these ids; any id that is malformed, unknown or another account's is an error. */
  async getOwned(accountId: string, ids: string[], opts: { includeTerminated?: boolean } = {}): Promise<InstanceRow[]> {
    for (const id of ids) if (!isValidId('i', id)) throw errors.instanceIdMalformed(id);
    const unique = [...new Set(ids)];
    const q = this.db('instances').where('account_id', accountId).whereIn('id', unique);
    if (!opts.includeTerminated) this.hideExpired(q);
    const rows: InstanceRow[] = await q;
    const found = new Set(rows.map((r) => r.id));
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) throw errors.instanceNotFound(missing);
    return unique.map((id) => rows.find((r) => r.id === id)!);
  }

  private hideExpired(q: Knex.QueryBuilder, alias = ''): Knex.QueryBuilder {
    return q.whereRaw(`not (${alias}state = 'terminated' and ${alias}terminated_at < now() - make_interval(secs => ?))`, [this.retentionSeconds]);
  }

  async describe(query: DescribeQuery): Promise<{ rows: InstanceRow[]; nextToken?: string }> {
    const ids = query.instanceIds?.length ? [...new Set(query.instanceIds)] : undefined;
    if (ids && query.maxResults !== undefined) {
      throw errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
    }
    for (const id of ids ?? []) if (!isValidId('i', id)) throw errors.instanceIdMalformed(id);
    const filters = checkFilters(query.filters, INSTANCE_FILTERS, true);
    // one query: the rows and their tags (a waiter's poll by id is the hottest path of the API)
    const q = this.db('instances as i')
      .select(
        'i.*',
        this.db.raw(`(select coalesce(json_agg(json_build_object('Key', t.key, 'Value', t.value) order by t.key), '[]'::json)
        from tags t where t.resource_id = i.id) as tag_list`),
      )
      .where('i.account_id', query.accountId);
    this.hideExpired(q, 'i.');
    if (ids) q.whereIn('i.id', ids);
    for (const { name, values } of filters) this.applyFilter(q, name, values);
    const after = decodeToken(query.nextToken);
    if (after) q.where('i.id', '>', after);
    q.orderBy('i.id');
    if (query.maxResults) q.limit(query.maxResults + 1);
    const rows: InstanceRow[] = await q;
    // an id missing from the answer is either filtered out or not the caller's: only then look further
    if (ids && rows.length < ids.length) {
      const found = new Set(rows.map((r) => r.id));
      const missing = ids.filter((id) => !found.has(id));
      await this.getOwned(query.accountId, missing);
    }
    const { page, nextToken } = takePage(rows, query.maxResults, (r) => r.id);
    return { rows: page, nextToken };
  }

  /** A page of the caller's instances as the Describe* actions take it (InstanceIds, Filters, MaxResults 5-1000, NextToken). */
  async describeRequest(
    accountId: string,
    input: { InstanceIds?: string[]; Filters?: Filter[]; MaxResults?: number; NextToken?: string },
    extraFilters: Filter[] = [],
  ): Promise<{ rows: InstanceRow[]; nextToken?: string }> {
    return this.describe({
      accountId,
      instanceIds: input.InstanceIds,
      filters: [...(input.Filters ?? []), ...extraFilters],
      maxResults: checkMaxResults(input.MaxResults, 5, 1000),
      nextToken: input.NextToken,
    });
  }

  private applyFilter(q: Knex.QueryBuilder, name: string, values: string[]): void {
    const likes = values.map(wildcardToLike);
    if (likes.length === 0) {
      q.whereRaw('false');
      return;
    }
    if (FILTER_COLUMNS[name]) {
      // a member the instance lacks (no key, no state reason) matches no value, not even *
      q.whereRaw(`${FILTER_COLUMNS[name]} like any(?::text[])`, [likes]);
    } else if (name === 'instance-state-code') {
      q.whereIn(
        'i.state',
        values.map((v) => STATE_BY_CODE[v] ?? '-'),
      );
    } else if (name.startsWith('tag:')) {
      q.whereExists((s) =>
        s
          .select(this.db.raw('1'))
          .from('tags as t')
          .whereRaw('t.resource_id = i.id and t.key = ? and t.value like any(?::text[])', [name.slice(4), likes]),
      );
    } else if (name === 'tag-key' || name === 'tag-value') {
      const col = name === 'tag-key' ? 't.key' : 't.value';
      q.whereExists((s) => s.select(this.db.raw('1')).from('tags as t').whereRaw(`t.resource_id = i.id and ${col} like any(?::text[])`, [likes]));
    } else if (name === 'vpc-id' || name === 'subnet-id') {
      const column = name === 'vpc-id' ? 's.vpc_id' : 's.id';
      q.whereExists((w) => w.select(this.db.raw('1')).from('subnets as s').whereRaw(`s.id = i.subnet_id and ${column} like any(?::text[])`, [likes]));
    } else {
      // group-id, group-name and their instance.* forms
      const column = name.endsWith('group-id') ? 'g.id' : 'g.name';
      q.whereExists((w) =>
        w
          .select(this.db.raw('1'))
          .from('instance_security_groups as m')
          .join('security_groups as g', 'g.id', 'm.group_id')
          .whereRaw(`m.instance_id = i.id and ${column} like any(?::text[])`, [likes]),
      );
    }
  }
}

/** Refuses the whole call when any instance is refused (EC2 changes none of them then). */
export function refuseAny(rows: InstanceRow[], refusal: (r: InstanceRow) => DomainError | undefined): void {
  for (const r of rows) {
    const err = refusal(r);
    if (err) throw err;
  }
}
