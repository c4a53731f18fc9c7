/**
 * OAR's nodes, for admins: read with one SQL query on OAR's database, changed only through OAR's own tools
 * (oarnodesetting, oarremoveresource), so OAR's scheduler and logs see every change as if an admin typed it.
 * OAR counts one resource per core; a node is the set of resources that share a network address.
 */
import { lookup } from 'node:dns/promises';
import { cpus } from 'node:os';
import { run } from './exec';
import { isThisMachine, probeNode } from './compute-node';
import type { Db } from './db';

/** OAR job states in which a job holds its resources. */
const HOLDING_STATES = ['toLaunch', 'Launching', 'Running', 'Finishing', 'Suspended', 'Resuming'];

export interface OarNode {
  host: string;
  /** One state when all the node's cores agree, else the states joined ("Alive+Absent"). */
  state: string;
  drain: boolean;
  cores: number;
  /** Cores of which a running job holds at least one slot. */
  usedCores: number;
  /** Cores a new job could get whole now: Alive, not drained, no slot held. */
  freeCores: number;
  /** OAR resources: each core is split into slots that share its CPU (and carry a share of the memory). */
  slots: number;
  usedSlots: number;
  /** Slots a new job could get now: Alive, not drained, not held. */
  freeSlots: number;
  memoryMib: number;
  /** Names of the jobs running there (instance ids for OAR Cloud's jobs) and their OAR ids. */
  jobs: { id: number; name: string | null; user: string }[];
  resourceIds: number[];
}

export class NodeAdminError extends Error {
  constructor(
    message: string,
    readonly kind: 'invalid' | 'not-found' | 'conflict' | 'failed',
  ) {
    super(message);
  }
}

interface SlotSpec {
  host: string;
  cpu: number;
  core: number;
  cpuset: number;
  slot: number;
  mem: number;
}

/** OAR resources added at most this many at a time (oarnodesetting adds one per call, ~0.5 s each). */
const PARALLEL_ADDS = 8;

/** Adds the slots as OAR resources, each with all its properties in one call (no half-described resource). */
async function addSlots(slots: SlotSpec[]): Promise<void> {
  const queue = [...slots];
  const worker = async () => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) {
      const { host, ...props } = spec;
      await oarTool('oarnodesetting', ['-a', '-h', host, '-p', `host=${host}`, ...Object.entries(props).flatMap(([k, v]) => ['-p', `${k}=${v}`])]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_ADDS, queue.length) }, worker));
}

const HOST_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$/;

export class OarNodes {
  constructor(private readonly db: Db) {}

  async list(): Promise<OarNode[]> {
    // one row per resource (a slot of a core), with the job holding it (if any)
    const { rows } = await this.db.raw(
      `select r.resource_id, r.network_address, r.core, r.state, r.drain, coalesce(r.mem, 0)::int as mem, j.job_id, j.job_name, j.job_user
         from resources r
         left join lateral (
           select j.job_id, j.job_name, j.job_user from assigned_resources a join jobs j on j.assigned_moldable_job = a.moldable_job_id
            where a.resource_id = r.resource_id and a.assigned_resource_index = 'CURRENT' and j.state = any(?) limit 1) j on true
        where r.type = 'default'
        order by r.network_address, r.resource_id`,
      [HOLDING_STATES],
    );
    const nodes = new Map<string, OarNode & { states: Set<string>; drained: number; coreUse: Map<string, { slots: number; used: number; free: number }> }>();
    for (const r of rows) {
      let n = nodes.get(r.network_address);
      if (!n) {
        n = {
          host: r.network_address,
          state: '',
          drain: false,
          cores: 0,
          usedCores: 0,
          freeCores: 0,
          slots: 0,
          usedSlots: 0,
          freeSlots: 0,
          memoryMib: 0,
          jobs: [],
          resourceIds: [],
          states: new Set(),
          drained: 0,
          coreUse: new Map(),
        };
        nodes.set(r.network_address, n);
      }
      n.resourceIds.push(Number(r.resource_id));
      const core = n.coreUse.get(String(r.core)) ?? { slots: 0, used: 0, free: 0 };
      n.coreUse.set(String(r.core), core);
      core.slots += 1;
      n.slots += 1;
      n.memoryMib += r.mem;
      n.states.add(r.state);
      if (r.drain === 'YES') n.drained += 1;
      if (r.job_id !== null) {
        core.used += 1;
        n.usedSlots += 1;
        // job_id is a bigint in OAR's schema, which pg hands over as a string
        if (!n.jobs.some((j) => j.id === Number(r.job_id))) n.jobs.push({ id: Number(r.job_id), name: r.job_name, user: r.job_user });
      } else if (r.state === 'Alive' && r.drain !== 'YES') {
        core.free += 1;
        n.freeSlots += 1;
      }
    }
    return [...nodes.values()].map(({ states, drained, coreUse, ...n }) => {
      const cores = [...coreUse.values()];
      return {
        ...n,
        cores: cores.length,
        usedCores: cores.filter((c) => c.used > 0).length,
        freeCores: cores.filter((c) => c.free === c.slots).length,
        state: [...states].sort().join('+'),
        drain: drained === n.slots,
      };
    });
  }

  async get(host: string): Promise<OarNode> {
    const node = (await this.list()).find((n) => n.host === host);
    if (!node) throw new NodeAdminError(`There is no OAR node '${host}'.`, 'not-found');
    return node;
  }

  /**
   * Adds a host as `cores` cores of `slotsPerCore` OAR resources each, sharing `memoryMib`. OAR's hierarchy
   * (/host/cpu/core/slot) groups by property value, so the new cpu, core and slot numbers continue the cluster's:
   * a core number used twice would let one job's "/core=1" span two hosts.
   */
  async add(host: string, cores: number, memoryMib: number, slotsPerCore: number): Promise<OarNode> {
    if (!HOST_PATTERN.test(host) || host.length > 253) throw new NodeAdminError(`'${host}' is not a valid host name.`, 'invalid');
    if (!Number.isInteger(cores) || cores < 1 || cores > 1024)
      throw new NodeAdminError('The number of cores must be a whole number from 1 to 1024.', 'invalid');
    if (!Number.isInteger(memoryMib) || memoryMib < cores * slotsPerCore)
      throw new NodeAdminError(`The memory must be a whole number of MiB, at least one per slot (${cores * slotsPerCore}).`, 'invalid');
    if ((await this.list()).some((n) => n.host === host)) throw new NodeAdminError(`The OAR node '${host}' already exists.`, 'conflict');
    await assertComputeNode(host);
    const last = await this.lastNumbers();
    // the memory is shared out so that the slots add up to exactly what was declared
    const total = cores * slotsPerCore;
    const memOf = (n: number) => Math.floor(memoryMib / total) + (n < memoryMib % total ? 1 : 0);
    const slots: SlotSpec[] = [];
    for (let i = 0; i < cores; i++) {
      for (let k = 0; k < slotsPerCore; k++) {
        const n = slots.length;
        slots.push({ host, cpu: last.cpu + 1, core: last.core + 1 + i, cpuset: i % cpus().length, slot: last.slot + 1 + n, mem: memOf(n) });
      }
    }
    await addSlots(slots);
    return this.get(host);
  }

  /**
   * Makes `host` (the server's own machine) hold exactly `cores` cores of at least `slotsPerCore` slots each,
   * sharing `memoryMib`: resources from before slots get a slot number, missing slots are added, every slot's
   * memory is set. Idempotent: what provisioning runs on every `up`.
   */
  async ensureSlots(host: string, cores: number, memoryMib: number, slotsPerCore: number): Promise<{ added: number; updated: number }> {
    const memPerSlot = Math.floor(memoryMib / (cores * slotsPerCore));
    const { rows } = await this.db.raw(
      `select resource_id, cpu, core, slot, mem, cpuset from resources where network_address = ? and type = 'default' order by core, resource_id`,
      [host],
    );
    const last = await this.lastNumbers();
    let slot = last.slot;
    let updated = 0;
    for (const r of rows) {
      if (r.slot === null || Number(r.mem) !== memPerSlot) {
        await oarTool('oarnodesetting', ['-r', String(r.resource_id), '-p', `slot=${r.slot ?? ++slot}`, '-p', `mem=${memPerSlot}`]);
        updated += 1;
      }
    }
    const coreNumbers = [...new Set(rows.map((r: { core: number }) => Number(r.core)))] as number[];
    let nextCore = last.core;
    while (coreNumbers.length < cores) coreNumbers.push(++nextCore);
    const cpu = rows[0]?.cpu ?? last.cpu + 1;
    const missing: SlotSpec[] = [];
    for (const [i, core] of coreNumbers.slice(0, cores).entries()) {
      const have = rows.filter((r: { core: number }) => Number(r.core) === core).length;
      for (let k = have; k < slotsPerCore; k++) missing.push({ host, cpu, core, cpuset: i % cpus().length, slot: ++slot, mem: memPerSlot });
    }
    await addSlots(missing);
    return { added: missing.length, updated };
  }

  private async lastNumbers(): Promise<{ cpu: number; core: number; slot: number }> {
    const { rows } = await this.db.raw(
      `select coalesce(max(cpu), 0)::int as cpu, coalesce(max(core), 0)::int as core, coalesce(max(slot), 0)::int as slot from resources`,
    );
    return rows[0];
  }

  /** Drain on: OAR schedules no new job there; running jobs go on. */
  async drain(host: string, on: boolean): Promise<OarNode> {
    await this.get(host);
    await oarTool('oarnodesetting', ['-h', host, '-d', on ? 'on' : 'off']);
    return this.get(host);
  }

  /** Alive or Absent. OAR ends the jobs running on a node that becomes Absent, so `force` must say so. */
  async setState(host: string, state: 'Alive' | 'Absent', force = false): Promise<OarNode> {
    const node = await this.get(host);
    if (state === 'Absent' && node.jobs.length > 0 && !force) {
      throw new NodeAdminError(`${host} runs ${node.jobs.length} job(s) (${describeJobs(node)}); OAR would end them. Drain it and wait, or force.`, 'conflict');
    }
    await oarTool('oarnodesetting', ['-h', host, '-s', state, '-n']);
    return this.waitFor(host, (n) => n.state === state);
  }

  /** Dead: the node stopped answering. OAR ends the jobs it held (their processes went with the node). */
  async markDead(host: string): Promise<void> {
    await oarTool('oarnodesetting', ['-h', host, '-s', 'Dead', '-n']);
  }

  /** Removes the node's resources from OAR (they must be Dead first, which OAR applies asynchronously). */
  async remove(host: string, force = false): Promise<void> {
    let node = await this.get(host);
    // drained first: OAR places nothing new there while its jobs end
    if (!node.drain) node = await this.drain(host, true);
    if (node.jobs.length > 0 && !force) {
      throw new NodeAdminError(
        `${host} is drained and still runs ${node.jobs.length} job(s) (${describeJobs(node)}); wait for them to end, or force.`,
        'conflict',
      );
    }
    await oarTool('oarnodesetting', ['-h', host, '-s', 'Dead', '-n']);
    await this.waitFor(host, (n) => n.state === 'Dead' && n.jobs.length === 0);
    for (const id of node.resourceIds) await oarTool('oarremoveresource', [String(id)]);
  }

  /** OAR's Almighty applies state changes a moment after oarnodesetting returns. */
  private async waitFor(host: string, done: (n: OarNode) => boolean, timeoutMs = 15_000): Promise<OarNode> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const node = await this.get(host);
      if (done(node)) return node;
      if (Date.now() > until)
        throw new NodeAdminError(`OAR has not applied the change on ${host} after ${timeoutMs / 1000} s (state ${node.state}); is Almighty running?`, 'failed');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function describeJobs(node: OarNode): string {
  return (
    node.jobs
      .slice(0, 5)
      .map((j) => j.name ?? `job ${j.id}`)
      .join(', ') + (node.jobs.length > 5 ? ', …' : '')
  );
}

async function oarTool(command: string, args: string[]): Promise<string> {
  const r = await run(command, args);
  const out = (r.stdout + r.stderr).trim();
  // some of OAR's tools exit 0 after refusing, with a line that starts with "/!\"
  if (r.code !== 0 || out.includes('/!\\')) {
    throw new NodeAdminError(`${command} ${args.join(' ')} failed (exit ${r.code}): ${out.slice(0, 400)}`, 'failed');
  }
  return out;
}

/**
 * A node is this machine (any 127.x address, or one of its interfaces), or a host where the node agent answers
 * (made so by `oarcloud node join`): OAR must never place an instance's job where no container can start.
 */
async function assertComputeNode(host: string): Promise<void> {
  let address: string;
  try {
    address = (await lookup(host, { family: 4 })).address;
  } catch {
    throw new NodeAdminError(`'${host}' does not resolve to an address.`, 'invalid');
  }
  if (isThisMachine(address)) return;
  const probe = await probeNode(host);
  if (!probe.ok) {
    throw new NodeAdminError(
      `'${host}' (${address}) is not a compute node yet: the node agent does not answer there (${probe.message.split('\n').pop()}). Run: oarcloud node join root@${host}`,
      'invalid',
    );
  }
}
