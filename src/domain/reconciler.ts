/**
 * The one place that acts on OAR and libvirt. Each instance row says what the API last asked for
 * (`desired_state`); the reconciler observes the OAR job and the container and moves `state` towards it:
 *
 *   running:    no job → oarsub (or adopt the job a crash left) → pending while OAR queues it →
 *               job Running → overlay mounted, container defined and started on the job's node → running
 *   stopped:    stopping → container stopped, job deleted, overlay unmounted (upper kept) → stopped
 *   terminated: shutting-down → container, job, overlay, upper and address released → terminated
 *
 * It wakes on API calls (kick), on libvirt lifecycle events, and on a one-second pass that reads every
 * active job's state in one query; so an admin's oardel or a walltime end is followed within seconds.
 * It also keeps the bridge's isolation rules in step with the instances' addresses (before a container starts).
 * Work on one instance is serialised; different instances proceed in parallel.
 */
import path from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { Logger } from '../log';
import { FINAL_JOB_STATES, OarSubmitError, type Oar, type OarJob } from '../adapters/oar';
import type { DomainState, Libvirt } from '../adapters/libvirt';
import type { ImageStore } from '../adapters/image-store';
import type { NetworkIsolation } from '../adapters/isolation';
import type { AddressPool } from './addresses';
import type { NetworkView } from './network';
import type { InstanceRow, InstanceStateName } from './instances';

/** The pass runs every 200 ms while an instance is in transition (a launch waits on it), else every second. */
const PASS_INTERVAL_MS = 200;
const IDLE_PASS_INTERVAL_MS = 1000;
const SWEEP_INTERVAL_MS = 10_000;
const MAX_START_FAILURES = 3;
const SUBMIT_RETRY_MS = 3000;
/** Terminated instances whose records one sweep deletes at most. */
const PURGE_BATCH = 1000;

export class Reconciler {
  private readonly queue = new Map<string, Promise<void>>();
  private readonly pendingKick = new Set<string>();
  private readonly startFailures = new Map<string, number>();
  /** Instances whose last oarsub failed for a passing reason, and when to try again. */
  private readonly submitRetryAt = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private passBusy = false;
  private lastPass = 0;
  private busy = true;

  constructor(
    private readonly db: Knex,
    private readonly config: Config,
    private readonly oar: Oar,
    private readonly libvirt: Libvirt,
    private readonly store: ImageStore,
    private readonly addresses: AddressPool,
    private readonly network: NetworkView,
    private readonly isolation: NetworkIsolation,
    private readonly log: Logger,
  ) {}

  private isolating: Promise<unknown> = Promise.resolve();

  /**
   * Brings the isolation rules in step with every address held by an instance that is not terminated (one at a
   * time: a start and a pass may ask together). Rules exist from the launch on, before any container starts.
   */
  private isolate(): Promise<void> {
    const next = this.isolating.then(async () => {
      const members = await this.db('instances').whereNot('state', 'terminated').whereNotNull('private_ip')
        .select('id as instanceId', 'account_id as accountId', this.db.raw('host(private_ip) as ip'));
      if (await this.isolation.sync(members)) this.log.info({ instances: members.length }, 'network isolation rules updated');
    });
    this.isolating = next.catch(() => undefined);
    return next;
  }

  start(): void {
    this.running = true;
    this.libvirt.watch(
      (domain) => {
        if (/^i-[0-9a-f]+$/.test(domain)) this.kick(domain);
      },
      (err) => this.log.warn({ err: err.message }, 'libvirt event stream failed'),
    );
    this.timers.push(setInterval(() => void this.pass(), PASS_INTERVAL_MS));
    this.timers.push(setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS));
    void this.pass().then(() => this.sweep());
  }

  /** Stops the loops and waits for work under way. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.libvirt.stop();
    await Promise.allSettled([...this.queue.values()]);
  }

  /** Asks for the instance to be looked at soon; calls made while it is being worked on coalesce. */
  kick(id: string): void {
    if (!this.running) return;
    this.busy = true;
    if (this.queue.has(id)) {
      this.pendingKick.add(id);
      return;
    }
    const work = this.reconcile(id)
      .catch((err) => this.log.error({ instance: id, err: String(err?.message ?? err) }, 'reconcile failed'))
      .finally(() => {
        this.queue.delete(id);
        if (this.pendingKick.delete(id)) this.kick(id);
      });
    this.queue.set(id, work);
  }

  /** Every second: find instances whose job or container changed, in one query to OAR and one to libvirt. */
  async pass(): Promise<void> {
    if (this.passBusy || !this.running) return;
    if (!this.busy && Date.now() - this.lastPass < IDLE_PASS_INTERVAL_MS) return;
    this.passBusy = true;
    this.lastPass = Date.now();
    try {
      await this.isolate().catch((err) => this.log.warn({ err: String(err?.message ?? err) }, 'network isolation rules not updated'));
      // settled stopped instances need no look (knex's whereNot({...}) would negate each column: spelled out here)
      const rows: InstanceRow[] = await this.db('instances')
        .whereNot('state', 'terminated')
        .whereRaw("not (state = 'stopped' and desired_state = 'stopped')");
      this.busy = rows.some((r) => r.state !== 'running' || r.desired_state !== 'running');
      if (!rows.length) return;
      const jobs = await this.oar.jobs(rows.filter((r) => r.oar_job_id).map((r) => r.oar_job_id!));
      const domains = await this.libvirt.list();
      for (const r of rows) {
        const job = r.oar_job_id ? jobs.get(r.oar_job_id) : undefined;
        if (needsWork(r, job, domains.get(r.id))) this.kick(r.id);
      }
    } catch (err: any) {
      this.log.warn({ err: String(err?.message ?? err) }, 'reconcile pass failed');
    } finally {
      this.passBusy = false;
    }
  }

  private async reconcile(id: string): Promise<void> {
    const inst: InstanceRow | undefined = await this.db('instances').where('id', id).first();
    if (!inst || inst.state === 'terminated') return;
    const job = inst.oar_job_id ? (await this.oar.jobs([inst.oar_job_id])).get(inst.oar_job_id) : undefined;
    const domain = await this.libvirt.state(id);
    if (inst.desired_state === 'terminated') return this.toTerminated(inst, job, domain);
    if (inst.desired_state === 'stopped') return this.toStopped(inst, job, domain);
    return this.toRunning(inst, job, domain);
  }

  private async toRunning(inst: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined): Promise<void> {
    if (!inst.oar_job_id) return this.submit(inst);
    if (!job || FINAL_JOB_STATES.has(job.state)) {
      // the job ended without us asking: oardel by an admin, walltime, or an OAR failure
      const why = !job ? 'the OAR job disappeared'
        : job.events.includes('WALLTIME') ? `OAR job ${job.id} reached its walltime`
        : job.events.includes('FRAG_JOB_REQUEST') ? `OAR job ${job.id} was deleted in OAR`
        : `OAR job ${job.id} ended (${job.state})`;
      await this.update(inst, { desired_state: 'terminated' }, { code: 'Server.ScheduledStop', message: `Server.ScheduledStop: ${why}` }, `Service initiated (${why})`);
      return this.kick(inst.id);
    }
    if (job.state !== 'Running') {
      const wait = job.state === 'Waiting' ? 'waiting in the OAR queue' : `OAR job is ${job.state}`;
      const predicted = job.state === 'Waiting' && job.predictedStart ? `, predicted start ${new Date(job.predictedStart * 1000).toISOString()}` : '';
      const message = `pending: ${wait} (job ${job.id}${predicted})`;
      if (inst.state !== 'pending' || inst.state_reason_message !== message) await this.update(inst, { state: 'pending' }, { code: 'pending', message });
      return;
    }
    if (isUp(domain)) {
      if (inst.state !== 'running') await this.update(inst, { state: 'running', oar_node: job.node }, null, '');
      if (inst.reboot_requested) {
        await this.libvirt.reboot(inst.id);
        await this.db('instances').where('id', inst.id).update({ reboot_requested: false });
        await this.event(inst, 'reboot', 'container rebooted');
      }
      return;
    }
    if (inst.state === 'running') {
      // the container stopped on its own (shutdown inside, killed from outside)
      const desired = inst.shutdown_behavior === 'terminate' ? 'terminated' : 'stopped';
      await this.update(inst, { desired_state: desired }, { code: 'Client.InstanceInitiatedShutdown', message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown' }, 'Instance initiated shutdown');
      return this.kick(inst.id);
    }
    await this.startContainer(inst, job, domain);
  }

  private async submit(inst: InstanceRow): Promise<void> {
    if ((this.submitRetryAt.get(inst.id) ?? 0) > Date.now()) return;
    // a job submitted just before a crash carries the instance id as its name: adopt it rather than submit twice
    const adopted = (await this.oar.activeJobs()).find((j) => j.name === inst.id);
    let jobId: number;
    try {
      jobId = adopted?.id ?? (await this.oar.submit(inst.id, inst.oar_cores));
    } catch (err: any) {
      if (err instanceof OarSubmitError && err.impossible) {
        await this.update(inst, { desired_state: 'terminated' }, { code: 'Server.InsufficientInstanceCapacity', message: `Server.InsufficientInstanceCapacity: ${err.message}` });
        return this.kick(inst.id);
      }
      // OAR is unreachable or refused for a passing reason: stay pending, say why, retry in a few seconds
      this.submitRetryAt.set(inst.id, Date.now() + SUBMIT_RETRY_MS);
      const message = `pending: OAR did not accept the job yet, retrying (${String(err?.message ?? err).slice(0, 200)})`;
      if (inst.state_reason_message !== message) {
        await this.update(inst, {}, { code: 'pending', message });
        await this.event(inst, 'error', message);
      }
      return;
    }
    this.submitRetryAt.delete(inst.id);
    await this.update(inst, { oar_job_id: jobId, state: 'pending' }, { code: 'pending', message: `pending: submitted to OAR (job ${jobId})` });
    await this.event(inst, 'oar', adopted ? `adopted OAR job ${jobId}` : `submitted OAR job ${jobId}`);
    void this.oar.notifyScheduler();
    this.kick(inst.id);
  }

  private async startContainer(inst: InstanceRow, job: OarJob, domain: DomainState | undefined): Promise<void> {
    try {
      if (domain) await this.libvirt.remove(inst.id);
      await this.isolate(); // fail closed: no container starts before its account's rules exist
      await this.store.mount(inst.id, inst.layers, this.config.idmapBase ?? 0);
      await this.store.writeFiles(inst.id, this.instanceFiles(inst), this.config.idmapBase ?? 0);
      await this.libvirt.defineAndStart({
        name: inst.id,
        rootfs: this.store.rootfs(inst.id),
        vcpus: inst.vcpus,
        memoryMib: inst.memory_mib,
        cpuset: job.cpuset ?? undefined,
        network: this.config.network,
        ip: inst.private_ip!,
        prefix: 24,
        gateway: this.network.gateway,
        mac: inst.mac!,
        idmap: this.config.idmapBase === null ? undefined : { base: this.config.idmapBase, count: this.config.idmapCount },
      }, path.join(this.store.instanceDir(inst.id), 'domain.xml'));
      await this.libvirt.limitPids(inst.id, this.config.pidsMax);
      this.startFailures.delete(inst.id);
      await this.update(inst, { state: 'running', oar_node: job.node, launch_time: new Date() }, null, '');
    } catch (err: any) {
      const failures = (this.startFailures.get(inst.id) ?? 0) + 1;
      this.startFailures.set(inst.id, failures);
      await this.event(inst, 'error', `container start failed (${failures}/${MAX_START_FAILURES}): ${String(err?.message ?? err).slice(0, 500)}`);
      if (failures >= MAX_START_FAILURES) {
        this.startFailures.delete(inst.id);
        await this.update(inst, { desired_state: 'terminated' }, { code: 'Server.InternalError', message: 'Server.InternalError: the container failed to start' });
        this.kick(inst.id);
      }
    }
  }

  /** What the instance's init reads at boot: hostname, root's authorized key, user data (run once). */
  private instanceFiles(inst: InstanceRow) {
    const files = [{ path: 'etc/hostname', content: `${inst.id}\n`, mode: 0o644 }];
    if (inst.public_key) files.push({ path: 'root/.ssh/authorized_keys', content: `${inst.public_key.trim()}\n`, mode: 0o600 });
    if (inst.user_data?.length) files.push({ path: 'var/lib/oarcloud/user-data', content: inst.user_data as any, mode: 0o700 });
    return files;
  }

  private async toStopped(inst: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined): Promise<void> {
    if (inst.state !== 'stopping' && inst.state !== 'stopped') await this.update(inst, { state: 'stopping' });
    if (domain) {
      if (domain === 'running' || domain === 'paused') await this.libvirt.shutdown(inst.id);
      await this.libvirt.remove(inst.id);
    }
    if (job && !FINAL_JOB_STATES.has(job.state)) {
      await this.oar.delete(job.id);
      return; // the pass comes back once OAR has released the cores
    }
    await this.store.unmount(inst.id);
    await this.update(inst, { state: 'stopped', oar_job_id: null, oar_node: null },
      inst.state_reason_code && inst.state_reason_code !== 'pending' ? undefined : { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
  }

  private async toTerminated(inst: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined): Promise<void> {
    if (inst.state !== 'shutting-down') await this.update(inst, { state: 'shutting-down' });
    if (domain) await this.libvirt.remove(inst.id);
    if (job && !FINAL_JOB_STATES.has(job.state)) {
      await this.oar.delete(job.id);
      return;
    }
    await this.store.remove(inst.id);
    await this.addresses.release(this.db, inst.id);
    await this.update(inst, { state: 'terminated', private_ip: null, terminated_at: new Date(), oar_node: null },
      inst.state_reason_code && inst.state_reason_code !== 'pending' ? undefined : { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
  }

  /** Writes a state change (and its reason) and records it in the event log. */
  private async update(
    inst: InstanceRow,
    changes: Partial<InstanceRow>,
    reason?: { code: string; message: string } | null,
    transitionReason?: string,
  ): Promise<void> {
    const row: Record<string, unknown> = { ...changes, updated_at: new Date() };
    if (reason !== undefined) {
      row.state_reason_code = reason?.code ?? null;
      row.state_reason_message = reason?.message ?? null;
    }
    if (transitionReason !== undefined) row.transition_reason = transitionReason;
    const written = { ...row };
    if (reason?.code === 'pending') {
      // a progress note about a launch must not overwrite why a stop or termination was asked for meanwhile
      const unlessRedirected = (value: string, column: string) =>
        this.db.raw(`case when desired_state = ? then ? else ${column} end`, [inst.desired_state, value]);
      written.state_reason_code = unlessRedirected(reason.code, 'state_reason_code');
      written.state_reason_message = unlessRedirected(reason.message, 'state_reason_message');
    }
    await this.db('instances').where('id', inst.id).update(written);
    const before = inst.state;
    Object.assign(inst, row);
    if (changes.state && changes.state !== before) {
      await this.event(inst, 'state', `${before} -> ${changes.state}${reason?.message ? ` (${reason.message})` : ''}`);
      this.log.info({ instance: inst.id, from: before, to: changes.state, job: inst.oar_job_id }, 'instance state');
    }
  }

  private async event(inst: { id: string; account_id: string }, kind: string, message: string): Promise<void> {
    await this.db('events').insert({ account_id: inst.account_id, resource_id: inst.id, kind, message });
  }

  /**
   * Deletes the records of instances terminated longer ago than OARCLOUD_TERMINATED_PURGE, with their tags and the
   * reservations left empty (a batch a sweep), so the tables do not grow for ever. Their events stay.
   */
  private async purgeTerminated(): Promise<void> {
    await this.db.transaction(async (trx) => {
      const gone: { id: string; reservation_id: string }[] = await trx('instances')
        .whereIn('id', trx('instances').select('id').where('state', 'terminated')
          .where('terminated_at', '<', trx.raw('now() - make_interval(secs => ?)', [this.config.terminatedPurgeSeconds])).limit(PURGE_BATCH))
        .delete()
        .returning(['id', 'reservation_id']);
      if (gone.length === 0) return;
      await trx('tags').whereIn('resource_id', gone.map((g) => g.id)).delete();
      await trx('reservations').whereIn('id', [...new Set(gone.map((g) => g.reservation_id))])
        .whereNotExists(trx('instances').select(trx.raw('1')).whereRaw('instances.reservation_id = reservations.id')).delete();
      this.log.info({ instances: gone.length }, 'purged records of long-terminated instances');
    });
  }

  /**
   * Every ten seconds: removes what no live instance owns — OAR jobs of the service user, containers, overlay
   * mounts and address leases left by a crash or by anything outside the API — and rewrites the isolation rules.
   */
  async sweep(): Promise<void> {
    if (!this.running) return;
    try {
      const live: Pick<InstanceRow, 'id' | 'state' | 'desired_state' | 'oar_job_id'>[] = await this.db('instances')
        .whereNot('state', 'terminated')
        .select('id', 'state', 'desired_state', 'oar_job_id');
      const byId = new Map(live.map((r) => [r.id, r]));
      for (const job of await this.oar.activeJobs()) {
        const inst = job.name ? byId.get(job.name) : undefined;
        // a live instance with no job id yet may be submitting this very job: leave it alone
        const orphan = !inst || (inst.oar_job_id !== null && inst.oar_job_id !== job.id);
        if (orphan && /^i-[0-9a-f]+$/.test(job.name ?? '')) {
          this.log.warn({ job: job.id, name: job.name }, 'deleting orphan OAR job');
          await this.oar.delete(job.id);
        }
      }
      for (const [name] of await this.libvirt.list()) {
        if (/^i-[0-9a-f]+$/.test(name) && !byId.has(name) && !this.queue.has(name)) {
          this.log.warn({ domain: name }, 'removing orphan container');
          await this.libvirt.remove(name);
        }
      }
      for (const id of this.store.mountedInstances()) {
        if (!byId.has(id) && !this.queue.has(id)) {
          this.log.warn({ instance: id }, 'removing orphan overlay');
          await this.store.remove(id);
        }
      }
      await this.db('ip_leases').whereIn('instance_id', this.db('instances').select('id').where('state', 'terminated')).delete();
      await this.purgeTerminated();
      // rules flushed by anyone else (an iptables reload) come back within one sweep
      this.isolation.forget();
      await this.isolate();
    } catch (err: any) {
      this.log.warn({ err: String(err?.message ?? err) }, 'sweep failed');
    }
  }
}

/** A container that runs, or is frozen for an image capture (it resumes right after), is up. */
function isUp(domain: DomainState | undefined): boolean {
  return domain === 'running' || domain === 'paused';
}

/** Whether an instance's observed job and container differ from what its state says. */
function needsWork(r: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined): boolean {
  const transitional: InstanceStateName[] = ['pending', 'stopping', 'shutting-down'];
  if (transitional.includes(r.state)) return true;
  if (r.state === 'running') {
    return r.desired_state !== 'running' || r.reboot_requested || !job || FINAL_JOB_STATES.has(job.state) || !isUp(domain);
  }
  return r.desired_state !== r.state; // stopped
}
