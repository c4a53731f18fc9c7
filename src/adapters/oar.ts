/**
 * OAR: jobs are submitted and deleted with OAR's own commands as the service user (oarsub refuses root);
 * their states are read with one SQL query on OAR's database (role oar_ro), never per API request.
 */
import net from 'node:net';
import { run } from './exec';
import { connect, type Db } from './db';
import type { Config } from '../config';
import { OarNodes } from './oar-nodes';

export type OarJobState =
  'Waiting' | 'Hold' | 'toLaunch' | 'toError' | 'toAckReservation' | 'Launching' | 'Running' | 'Suspended' | 'Resuming' | 'Finishing' | 'Terminated' | 'Error';
const CAPACITY_TTL_MS = 5000;
export const FINAL_JOB_STATES: ReadonlySet<string> = new Set(['Terminated', 'Error']);

/** What one instance's job asks OAR for: cores on one host, and slots of each (null: the whole cores). */
export interface OarRequest {
  cores: number;
  slotsPerCore: number | null;
  /** Only resources carrying at least this memory (the `mem` property): the memory per slot the sizing assumed. */
  minMemoryMib?: number;
  /** Only this node's resources (its `network_address`): a resize stays where the container runs. */
  node?: string;
}

export interface NodeCapacity {
  /** Alive, undrained cores. */
  cores: number;
  /** OAR resources (slots) of each core. */
  slotsPerCore: number;
  /** The memory OAR attaches to each of its slots (the `mem` property, the smallest): what memory is counted in. */
  memoryPerSlotMib: number;
}

export interface Capacity {
  nodes: Map<string, NodeCapacity>;
}

export interface OarJob {
  id: number;
  name: string | null;
  state: OarJobState;
  node: string | null;
  /** Host CPUs of the job's cores (the `cpuset` resource property), e.g. "0,1". */
  cpuset: string | null;
  /** Why a Waiting job waits, or the last event of an ended one. */
  message: string;
  events: string[];
  predictedStart: number | null;
}

export class OarSubmitError extends Error {
  constructor(
    message: string,
    readonly impossible: boolean,
  ) {
    super(message);
  }
}

export class Oar {
  private readonly db: Db;
  private readonly home: string;
  /** The cluster's nodes, for admins. */
  readonly nodes: OarNodes;

  constructor(private readonly config: Config) {
    this.db = connect(config.oarDatabaseUrl, { min: 0, max: 2 });
    this.home = `/home/${config.jobUser}`;
    this.nodes = new OarNodes(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /** How many jobs OAR's database holds (finished ones included): proves it answers. */
  async jobsRecorded(): Promise<number> {
    const { rows } = await this.db.raw('select count(*)::int as n from jobs');
    return rows[0].n;
  }

  /**
   * Submits the job that holds an instance's resources, all on one host (a container cannot span two): `cores`
   * cores, and of each either `slotsPerCore` slots (a burstable instance shares the core) or, when null, the whole
   * core (all its slots: a dedicated core). Its name is the instance id, as oarstat shows it.
   */
  async submit(name: string, request: OarRequest): Promise<number> {
    const r = await run('runuser', [
      '-u',
      this.config.jobUser,
      '--',
      'oarsub',
      '-n',
      name,
      '-d',
      this.home,
      '-O',
      '/dev/null',
      '-E',
      '/dev/null',
      '-l',
      `${resourceRequest(request)},walltime=${this.config.walltime}`,
      ...propertyArgs(request),
      this.config.jobCommand,
    ]);
    const m = /OAR_JOB_ID=(-?\d+)/.exec(r.stdout);
    const id = m ? Number(m[1]) : NaN;
    if (r.code !== 0 || !(id > 0)) {
      const why = (r.stderr + r.stdout).replace(/\s+/g, ' ').trim().slice(0, 400);
      throw new OarSubmitError(`oarsub failed (exit ${r.code}): ${why}`, /not enough resources/i.test(why));
    }
    return id;
  }

  /** Asks OAR to end a job (no error when it has already ended). */
  async delete(jobId: number): Promise<void> {
    const r = await run('runuser', ['-u', this.config.jobUser, '--', 'oardel', String(jobId)]);
    if (r.code !== 0 && !/already (killed|been)|is not a valid|does not exist|Terminated|Error/i.test(r.stdout + r.stderr)) {
      throw new Error(`oardel ${jobId} failed: ${(r.stdout + r.stderr).trim().slice(0, 300)}`);
    }
  }

  /**
   * Wakes Almighty's scheduler, as oarsub does after a submission. A submission that lands while the scheduler
   * is busy with another event can otherwise wait for the next periodic pass.
   */
  notifyScheduler(): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect(this.config.oarServerPort, '127.0.0.1', () => socket.end('Qsub\n'));
      socket.setTimeout(1000, () => socket.destroy());
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  }

  /** States of the given jobs, with their node and the reason they wait or ended. */
  async jobs(ids: number[]): Promise<Map<number, OarJob>> {
    const out = new Map<number, OarJob>();
    if (ids.length === 0) return out;
    const { rows } = await this.db.raw(
      `select j.job_id, j.job_name, j.state, j.message,
              (select string_agg(distinct r.network_address, ',') from assigned_resources a join resources r on r.resource_id = a.resource_id
                where a.moldable_job_id = j.assigned_moldable_job) as node,
              (select string_agg(distinct r.cpuset::text, ',') from assigned_resources a join resources r on r.resource_id = a.resource_id
                where a.moldable_job_id = j.assigned_moldable_job) as cpuset,
              (select array_agg(e.type order by e.event_id) from event_logs e where e.job_id = j.job_id) as events,
              (select min(g.start_time) from gantt_jobs_predictions g join moldable_job_descriptions m on m.moldable_id = g.moldable_job_id
                where m.moldable_job_id = j.job_id) as predicted_start
         from jobs j where j.job_id = any(?::int[])`,
      [ids],
    );
    for (const r of rows) {
      // job_id is a bigint in OAR's schema, which pg hands over as a string
      out.set(Number(r.job_id), {
        id: Number(r.job_id),
        name: r.job_name,
        state: r.state,
        node: r.node,
        cpuset: r.cpuset,
        message: r.message ?? '',
        events: r.events ?? [],
        predictedStart: r.predicted_start === null ? null : Number(r.predicted_start),
      });
    }
    return out;
  }

  /**
   * Jobs of the service user that have not ended: what the orphan sweep compares with our instances. `notEnding`
   * leaves out those already asked to end (an oardel OAR has not carried out yet): never to be adopted.
   */
  async activeJobs(opts: { notEnding?: boolean } = {}): Promise<OarJob[]> {
    const { rows } = await this.db.raw(
      `select job_id, job_name, state, message from jobs where job_user = ? and state not in ('Terminated', 'Error')
         ${opts.notEnding ? 'and job_id not in (select frag_id_job from frag_jobs)' : ''}`,
      [this.config.jobUser],
    );
    return rows.map((r: any) => ({
      id: Number(r.job_id),
      name: r.job_name,
      state: r.state,
      node: null,
      cpuset: null,
      message: r.message ?? '',
      events: [],
      predictedStart: null,
    }));
  }

  private capacityCache?: { at: number; value: Promise<Capacity> };

  /**
   * Alive, undrained cores and slots per node, and the memory OAR attaches to each slot. RunInstances asks on every
   * launch: the answer is kept for a few seconds (a node an admin drains or adds elsewhere is seen within that time).
   */
  capacity(): Promise<Capacity> {
    if (!this.capacityCache || Date.now() - this.capacityCache.at > CAPACITY_TTL_MS) {
      const value = this.readCapacity();
      value.catch(() => (this.capacityCache = undefined));
      this.capacityCache = { at: Date.now(), value };
    }
    return this.capacityCache.value;
  }

  /** Forgets the cached capacity (after an admin changed a node through this process). */
  forgetCapacity(): void {
    this.capacityCache = undefined;
  }

  private async readCapacity(): Promise<Capacity> {
    const { rows } = await this.db.raw(
      `select network_address, count(distinct core)::int as cores, count(*)::int as slots, coalesce(min(mem), 0)::int as mem
         from resources where state = 'Alive' and drain <> 'YES' and type = 'default' group by network_address`,
    );
    const nodes = new Map<string, NodeCapacity>();
    for (const r of rows) {
      nodes.set(r.network_address, { cores: r.cores, slotsPerCore: Math.floor(r.slots / Math.max(1, r.cores)), memoryPerSlotMib: r.mem });
    }
    return { nodes };
  }
}

/** OAR's resource request for a job: `/host=1/core=C` (whole cores) or `/host=1/core=C/slot=S` (S slots of each). */
/** oarsub's -p: the properties the resources must have (names and numbers only, never user input). */
function propertyArgs(request: OarRequest): string[] {
  const properties = [
    ...(request.minMemoryMib ? [`mem >= ${request.minMemoryMib}`] : []),
    ...(request.node ? [`network_address = '${request.node.replace(/'/g, '')}'`] : []),
  ];
  return properties.length ? ['-p', properties.join(' AND ')] : [];
}

export function resourceRequest(request: OarRequest): string {
  return `/host=1/core=${request.cores}${request.slotsPerCore === null ? '' : `/slot=${request.slotsPerCore}`}`;
}
