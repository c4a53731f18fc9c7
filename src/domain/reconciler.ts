/**
 * The one place that acts on OAR and libvirt for instances. Each instance row says what the API last asked for
 * (`desired_state`); the reconciler observes the OAR job and the container, asks `plan` (reconcile-plan.ts, pure)
 * for the next steps, and carries them out:
 *
 *   running:    no job → oarsub (or adopt the job a crash left) → pending while OAR queues it →
 *               job Running → overlay mounted, container defined and started on the job's node → running
 *   stopped:    stopping → container stopped, job deleted, overlay unmounted (upper kept) → stopped
 *   terminated: shutting-down → container, job, overlay, upper and address released → terminated
 *
 * It wakes on API calls (kick), on libvirt lifecycle events, and on a pass that reads every active job's state in
 * one query: every 200 ms while an instance is in transition, every second otherwise; so an admin's oardel or a
 * walltime end is followed within seconds. Work on one instance is serialised (`exclusive`, which image capture
 * uses too); different instances proceed in parallel.
 */
import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../log';
import { OarSubmitError, type Oar, type OarJob } from '../adapters/oar';
import type { Libvirt } from '../adapters/libvirt';
import type { ImageStore } from '../adapters/image-store';
import type { AddressPool } from './addresses';
import type { NetworkView } from './network';
import type { InstanceRow, InstanceStore } from './instances';
import type { EventLog } from './events';
import type { NetworkRuleSync } from './network-rule-sync';
import { needsWork, plan, type ObservedDomain, type Step } from './reconcile-plan';
import { stateReasons, type StateReason } from './state-reasons';
import { isInstanceId } from './ids';

const PASS_INTERVAL_MS = 200;
const IDLE_PASS_INTERVAL_MS = 1000;
const MAX_START_FAILURES = 3;
const SUBMIT_RETRY_MS = 3000;
const MAX_PARALLEL_RECONCILES = 8;

export class Reconciler {
  /** Per instance: the tail of its serialised work. */
  private readonly queue = new Map<string, Promise<unknown>>();
  /** Instances with a reconcile queued but not begun: another kick adds nothing. */
  private readonly kicked = new Set<string>();
  private readonly startFailures = new Map<string, number>();
  /** Instances whose last oarsub failed for a passing reason, and when to try again. */
  private readonly submitRetryAt = new Map<string, number>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  private passBusy = false;
  private lastPass = 0;
  private busy = true;

  constructor(
    private readonly instances: InstanceStore,
    private readonly config: Config,
    private readonly oar: Oar,
    private readonly libvirt: Libvirt,
    private readonly store: ImageStore,
    private readonly addresses: AddressPool,
    private readonly network: NetworkView,
    private readonly rules: NetworkRuleSync,
    private readonly events: EventLog,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.libvirt.watch(
      (domain) => {
        if (isInstanceId(domain)) this.kick(domain);
      },
      (err) => this.log.warn({ err: err.message }, 'libvirt event stream failed'),
    );
    this.timer = setInterval(() => void this.pass(), PASS_INTERVAL_MS);
    void this.pass();
  }

  /** Stops the loops and waits for work under way. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    this.libvirt.stop();
    await Promise.allSettled([...this.queue.values()]);
  }

  /** Whether work on this instance is queued or under way (the sweeper leaves such instances alone). */
  isBusy(id: string): boolean {
    return this.queue.has(id);
  }

  /** Runs `fn` once no other work on the instance is under way, and holds the instance until it ends. */
  exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.queue.get(id) ?? Promise.resolve()).then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queue.set(id, tail);
    void tail.then(() => {
      if (this.queue.get(id) === tail) this.queue.delete(id);
    });
    return result;
  }

  /** Asks for the instance to be looked at soon; calls made before that look begins coalesce. */
  kick(id: string): void {
    if (!this.running) return;
    this.busy = true;
    if (this.kicked.has(id)) return;
    this.kicked.add(id);
    this.exclusive(id, () =>
      this.gated(() => {
        this.kicked.delete(id);
        return this.reconcile(id);
      }),
    ).catch((err) => this.log.error({ instance: id, err: String(err?.message ?? err) }, 'reconcile failed'));
  }

  /**
   * Runs at most MAX_PARALLEL_RECONCILES looks at once: a burst of forty launches would otherwise run forty
   * reconciles side by side and starve the database pool (and the API) while each waits for OAR and libvirt.
   */
  private async gated<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= MAX_PARALLEL_RECONCILES) await new Promise<void>((resume) => this.waiting.push(resume));
    this.active += 1;
    try {
      return await work();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }

  /** Finds instances whose job or container changed, in one query to OAR and one to libvirt. */
  async pass(): Promise<void> {
    if (this.passBusy || !this.running) return;
    if (!this.busy && Date.now() - this.lastPass < IDLE_PASS_INTERVAL_MS) return;
    this.passBusy = true;
    this.lastPass = Date.now();
    try {
      const rows = await this.instances.unsettled();
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
    const inst = await this.instances.get(id);
    if (!inst || inst.state === 'terminated') return;
    const job = inst.oar_job_id ? (await this.oar.jobs([inst.oar_job_id])).get(inst.oar_job_id) : undefined;
    let domain: ObservedDomain;
    try {
      domain = await this.libvirt.state(id);
    } catch (err: any) {
      // while libvirtd is down the containers keep running: never read that as "the container is gone"
      this.log.warn({ instance: id, err: String(err?.message ?? err) }, 'libvirt unreachable');
      domain = 'unreachable';
    }
    for (const step of plan(inst, job, domain)) {
      if (!(await this.execute(inst, step))) break;
    }
  }

  /** Carries out one step; false when the plan cannot go on now (a failure the next look retries). */
  private async execute(inst: InstanceRow, step: Step): Promise<boolean> {
    switch (step.do) {
      case 'wait':
        return false;
      case 'submit':
        return this.submit(inst);
      case 'end':
        await this.update(inst, { desired_state: step.desired }, step.reason, step.transition);
        this.kick(inst.id);
        return false;
      case 'note-pending':
        await this.update(inst, { state: 'pending' }, step.reason);
        return true;
      case 'mark-running':
        await this.update(inst, { state: 'running', oar_node: step.node }, null, '');
        return true;
      case 'reboot':
        await this.libvirt.reboot(inst.id);
        await this.instances.update(inst.id, { reboot_requested: false });
        await this.events.record('reboot', inst.account_id, inst.id, 'container rebooted');
        return true;
      case 'start-container':
        return this.startContainer(inst, step.job, step.replace);
      case 'show':
        await this.update(inst, { state: step.state });
        return true;
      case 'shutdown-container':
        await this.libvirt.shutdown(inst.id);
        return true;
      case 'remove-container':
        await this.libvirt.remove(inst.id);
        return true;
      case 'delete-job':
        await this.oar.delete(step.jobId);
        return true;
      case 'unmount':
        await this.store.unmount(inst.id);
        return true;
      case 'stopped':
        await this.update(inst, { state: 'stopped', oar_job_id: null, oar_node: null }, this.reasonUnlessGiven(inst));
        return true;
      case 'release':
        await this.store.remove(inst.id);
        await this.addresses.release(inst.id);
        return true;
      case 'terminated':
        await this.update(inst, { state: 'terminated', private_ip: null, terminated_at: new Date(), oar_node: null }, this.reasonUnlessGiven(inst));
        return true;
    }
  }

  /** A stop or termination keeps the reason it was given; one without (a plain user request) says so. */
  private reasonUnlessGiven(inst: InstanceRow): StateReason | undefined {
    return inst.state_reason_code && inst.state_reason_code !== 'pending' ? undefined : stateReasons.userInitiatedShutdown();
  }

  private async submit(inst: InstanceRow): Promise<boolean> {
    if ((this.submitRetryAt.get(inst.id) ?? 0) > Date.now()) return false;
    // a job submitted just before a crash carries the instance id as its name: adopt it rather than submit twice
    const adopted = (await this.oar.activeJobs()).find((j) => j.name === inst.id);
    let jobId: number;
    try {
      jobId =
        adopted?.id ??
        (await this.oar.submit(inst.id, { cores: inst.oar_cores, slotsPerCore: inst.oar_slots, minMemoryMib: inst.oar_min_memory_mib ?? undefined }));
    } catch (err: any) {
      if (err instanceof OarSubmitError && err.impossible) {
        await this.update(inst, { desired_state: 'terminated' }, stateReasons.insufficientCapacity(err.message));
        this.kick(inst.id);
        return false;
      }
      // OAR is unreachable or refused for a passing reason: stay pending, say why, retry in a few seconds
      this.submitRetryAt.set(inst.id, Date.now() + SUBMIT_RETRY_MS);
      const reason = stateReasons.pending(`OAR did not accept the job yet, retrying (${String(err?.message ?? err).slice(0, 200)})`);
      if (inst.state_reason_message !== reason.message) {
        await this.update(inst, {}, reason);
        await this.events.record('error', inst.account_id, inst.id, reason.message);
      }
      return false;
    }
    this.submitRetryAt.delete(inst.id);
    await this.update(inst, { oar_job_id: jobId, state: 'pending' }, stateReasons.pending(`submitted to OAR (job ${jobId})`));
    await this.events.record('oar', inst.account_id, inst.id, adopted ? `adopted OAR job ${jobId}` : `submitted OAR job ${jobId}`);
    void this.oar.notifyScheduler();
    this.kick(inst.id);
    return false;
  }

  private async startContainer(inst: InstanceRow, job: OarJob, replace: boolean): Promise<boolean> {
    try {
      if (replace) await this.libvirt.remove(inst.id);
      await this.rules.sync(); // fail closed: no container starts before its account's rules exist
      await this.store.mount(inst.id, inst.layers, this.config.idmapBase ?? 0);
      await this.store.writeFiles(inst.id, this.instanceFiles(inst), this.config.idmapBase ?? 0);
      await this.libvirt.defineAndStart(
        {
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
        },
        path.join(this.store.instanceDir(inst.id), 'domain.xml'),
      );
      await this.libvirt.limitPids(inst.id, this.config.pidsMax);
      this.startFailures.delete(inst.id);
      await this.update(inst, { state: 'running', oar_node: job.node, launch_time: new Date() }, null, '');
      return true;
    } catch (err: any) {
      const failures = (this.startFailures.get(inst.id) ?? 0) + 1;
      this.startFailures.set(inst.id, failures);
      await this.events.record(
        'error',
        inst.account_id,
        inst.id,
        `container start failed (${failures}/${MAX_START_FAILURES}): ${String(err?.message ?? err).slice(0, 500)}`,
      );
      if (failures >= MAX_START_FAILURES) {
        this.startFailures.delete(inst.id);
        await this.update(inst, { desired_state: 'terminated' }, stateReasons.internalError('the container failed to start'));
        this.kick(inst.id);
      }
      return false;
    }
  }

  /** What the instance's init reads at boot: hostname, root's authorized key, user data (run once). */
  private instanceFiles(inst: InstanceRow) {
    const files = [{ path: 'etc/hostname', content: `${inst.id}\n`, mode: 0o644 }];
    if (inst.public_key) files.push({ path: 'root/.ssh/authorized_keys', content: `${inst.public_key.trim()}\n`, mode: 0o600 });
    if (inst.user_data?.length) files.push({ path: 'var/lib/oarcloud/user-data', content: inst.user_data as any, mode: 0o700 });
    return files;
  }

  /** Writes a state change (and its reason) and records it in the event log. */
  private async update(inst: InstanceRow, changes: Partial<InstanceRow>, reason?: StateReason | null, transitionReason?: string): Promise<void> {
    const row = await this.instances.recordTransition(inst, changes, reason, transitionReason);
    const before = inst.state;
    Object.assign(inst, row);
    if (changes.state && changes.state !== before) {
      await this.events.record('state', inst.account_id, inst.id, `${before} -> ${changes.state}${reason?.message ? ` (${reason.message})` : ''}`);
      this.log.info({ instance: inst.id, from: before, to: changes.state, job: inst.oar_job_id }, 'instance state');
    }
  }
}
