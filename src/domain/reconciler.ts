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
import type { Config } from '../config';
import type { Logger } from '../log';
import { OarSubmitError, type Oar, type OarJob } from '../adapters/oar';
import { pipeBetween, type ComputeNode, type ComputeNodes } from '../adapters/compute-node';
import type { DomainState } from '../adapters/libvirt';
import type { AddressPool } from './addresses';
import type { InstanceRow, InstanceStore } from './instances';
import type { EventLog } from './events';
import type { InterfacePlan, NetworkSync } from './network-sync';
import { privateDnsName } from './network';
import { RESOLVER_ADDRESS } from '../adapters/firewall';
import { jobEnded, needsWork, plan, type ObservedDomain, type Step } from './reconcile-plan';
import { stateReasons, type StateReason } from './state-reasons';
import { isInstanceId } from './ids';
import { findInstanceType, sizingAmong } from './instance-types';

const PASS_INTERVAL_MS = 200;
const IDLE_PASS_INTERVAL_MS = 1000;
const MAX_START_FAILURES = 3;
const SUBMIT_RETRY_MS = 3000;
const MAX_PARALLEL_RECONCILES = 8;
/** How long a live resize waits for OAR to start the job of the new size before it gives up. */
const RESIZE_START_MS = 15_000;
/** How long a node whose libvirtd did not answer is left alone by the pass (its instances wait for OAR or the user). */
const UNREACHABLE_RETRY_MS = 5000;

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
    private readonly nodes: ComputeNodes,
    private readonly addresses: AddressPool,
    private readonly rules: NetworkSync,
    private readonly events: EventLog,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.watch(this.nodes.local);
    this.timer = setInterval(() => void this.pass(), PASS_INTERVAL_MS);
    void this.pass();
  }

  /** Stops the loops and waits for work under way. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    for (const node of this.watched) node.libvirt.stop();
    this.watched.clear();
    await Promise.allSettled([...this.queue.values()]);
  }

  private readonly watched = new Set<ComputeNode>();
  private readonly listRetryAt = new Map<ComputeNode, number>();

  /** Follows the node's libvirt lifecycle events (once per node): a container that stops is looked at at once. */
  private watch(node: ComputeNode): void {
    if (!this.running || this.watched.has(node)) return;
    this.watched.add(node);
    node.libvirt.watch(
      (domain) => {
        if (isInstanceId(domain)) this.kick(domain);
      },
      (err) => this.log.warn({ node: node.address, err: err.message }, 'libvirt event stream failed'),
    );
  }

  /** Stops following nodes that left the cluster. */
  private unwatchForgottenNodes(): void {
    const current = new Set<ComputeNode>([this.nodes.local, ...this.nodes.remotes()]);
    for (const node of this.watched) {
      if (current.has(node)) continue;
      node.libvirt.stop();
      this.watched.delete(node);
      this.listRetryAt.delete(node);
    }
  }

  /** The node where the instance's container runs or would run: where it was started, else where OAR placed its job. */
  private nodeOf(inst: InstanceRow, job?: OarJob): ComputeNode {
    return this.nodes.get(inst.oar_node ?? job?.node ?? inst.disk_node);
  }

  /** The node that holds the instance's disk. */
  private diskNodeOf(inst: InstanceRow, job?: OarJob): ComputeNode {
    return this.nodes.get(inst.disk_node ?? inst.oar_node ?? job?.node);
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
      this.unwatchForgottenNodes();
      const rows = await this.instances.unsettled();
      this.busy = rows.some((r) => r.state !== 'running' || r.desired_state !== 'running');
      if (!rows.length) return;
      const jobs = await this.oar.jobs(rows.filter((r) => r.oar_job_id).map((r) => r.oar_job_id!));
      // one libvirt list per node that holds (or is about to hold) one of these instances
      const nodeOf = new Map(rows.map((r) => [r.id, this.nodeOf(r, r.oar_job_id ? jobs.get(r.oar_job_id) : undefined)]));
      const lists = new Map<ComputeNode, Map<string, DomainState> | undefined>();
      await Promise.all(
        [...new Set(nodeOf.values())].map(async (node) => {
          // a node that did not answer is asked again after a while, not on every pass
          if ((this.listRetryAt.get(node) ?? 0) > Date.now()) return;
          this.watch(node);
          const list = await node.libvirt.list().catch(() => undefined);
          if (list) this.listRetryAt.delete(node);
          else this.listRetryAt.set(node, Date.now() + UNREACHABLE_RETRY_MS);
          lists.set(node, list);
        }),
      );
      for (const r of rows) {
        const job = r.oar_job_id ? jobs.get(r.oar_job_id) : undefined;
        const domains = lists.get(nodeOf.get(r.id)!);
        if (domains ? needsWork(r, job, domains.get(r.id)) : r.desired_state !== r.state || jobEnded(job)) this.kick(r.id);
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
    const node = this.nodeOf(inst, job);
    let domain: ObservedDomain;
    let lostNode: string | undefined;
    try {
      domain = await node.libvirt.state(id);
    } catch (err: any) {
      // while libvirtd is down the containers keep running: never read that as "the container is gone"...
      this.log.warn({ instance: id, node: node.address, err: String(err?.message ?? err) }, 'libvirt unreachable');
      domain = 'unreachable';
      // ...unless the node itself is gone: another node does not answer and OAR has ended the job it held there
      if (!node.local && inst.oar_job_id && jobEnded(job)) {
        domain = undefined;
        lostNode = node.address;
      }
    }
    for (const step of plan(inst, job, domain, lostNode)) {
      if (!(await this.execute(inst, step, job, lostNode))) break;
    }
  }

  /** Carries out one step; false when the plan cannot go on now (a failure the next look retries). */
  private async execute(inst: InstanceRow, step: Step, job: OarJob | undefined, lostNode: string | undefined): Promise<boolean> {
    // what lived on a node that is gone cannot be cleaned there: it went with the node
    const onNode = async (work: () => Promise<unknown>) => {
      if (!lostNode) return void (await work());
      await work().catch((err) => this.log.warn({ instance: inst.id, node: lostNode, err: String(err?.message ?? err) }, 'node gone: skipped'));
    };
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
        return this.update(inst, { state: 'pending' }, step.reason);
      case 'mark-running':
        return this.update(inst, { state: 'running', oar_node: step.node }, null, '');
      case 'reboot':
        await this.nodeOf(inst, job).libvirt.reboot(inst.id);
        await this.instances.update(inst.id, { reboot_requested: false });
        await this.events.record('reboot', inst.account_id, inst.id, 'container rebooted');
        return true;
      case 'resize':
        return this.resize(inst, step.job);
      case 'start-container':
        return this.startContainer(inst, step.job, step.replace);
      case 'show':
        return this.update(inst, { state: step.state });
      case 'shutdown-container':
        await this.nodeOf(inst, job).libvirt.shutdown(inst.id, inst.skip_os_shutdown ? 0 : undefined);
        return true;
      case 'remove-container':
        await onNode(() => this.nodeOf(inst, job).removeContainer(inst.id));
        return true;
      case 'delete-job':
        await this.oar.delete(step.jobId);
        return true;
      case 'unmount':
        await onNode(() => this.diskNodeOf(inst, job).unmount(inst.id));
        return true;
      case 'stopped':
        return this.update(inst, { state: 'stopped', oar_job_id: null, oar_node: null, ...this.resizeOvertaken(inst) }, this.reasonUnlessGiven(inst));
      case 'release':
        await onNode(() => this.diskNodeOf(inst, job).removeDisk(inst.id));
        await this.addresses.release(inst.id);
        return true;
      case 'terminated':
        return this.update(
          inst,
          { state: 'terminated', private_ip: null, terminated_at: new Date(), oar_node: null, disk_node: null, ...this.resizeOvertaken(inst) },
          this.reasonUnlessGiven(inst),
        );
    }
  }

  /** A live resize still asked for when the instance stops or ends is answered: it was not applied. */
  private resizeOvertaken(inst: InstanceRow): Partial<InstanceRow> {
    return inst.resize_type ? { resize_type: null, resize_error: 'IncorrectInstanceState: the instance stopped before the resize was applied' } : {};
  }

  /**
   * Live resize: a new OAR job of the new size on the instance's node, the container's memory limit and cpuset moved
   * onto it while it runs, then the old job released: OAR never accounts more or less than the container holds but
   * for the moment both jobs run. When OAR does not start the new job at once (no room beside the old one), it is
   * withdrawn and nothing changes. The outcome is written for the API call that waits for it.
   */
  private async resize(inst: InstanceRow, job: OarJob): Promise<boolean> {
    const fail = async (why: string) => {
      await this.instances.update(inst.id, { resize_type: null, resize_error: why });
      return true;
    };
    const type = findInstanceType(inst.resize_type!);
    if (!type) return fail(`InvalidParameterValue: Invalid value '${inst.resize_type}' for InstanceType.`);
    const node = this.nodeOf(inst, job);
    if (type.memoryMib < inst.memory_mib) {
      const used = await node.memoryUsedMib(inst.id);
      if (used > type.memoryMib)
        return fail(`InvalidParameterValue: The instance uses ${used} MiB of memory now; ${type.name} has ${type.memoryMib} MiB. Free memory in it first.`);
    }
    const here = (await this.oar.capacity()).nodes.get(job.node!);
    const sizing = here && sizingAmong([here], type);
    if (!sizing) return fail(`InsufficientInstanceCapacity: Node ${job.node} cannot hold ${type.name} (${type.vcpus} vCPUs, ${type.memoryMib} MiB).`);
    const started = Date.now();
    const newJobId = await this.oar.submit(inst.id, {
      cores: sizing.cores,
      slotsPerCore: sizing.slotsPerCore,
      minMemoryMib: sizing.minMemoryMib,
      node: job.node!,
    });
    await this.oar.notifyScheduler();
    let newJob: OarJob | undefined;
    while (Date.now() - started < RESIZE_START_MS) {
      newJob = (await this.oar.jobs([newJobId])).get(newJobId);
      if (!newJob || newJob.state === 'Running' || jobEnded(newJob)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (newJob?.state !== 'Running' || !newJob.cpuset) {
      await this.oar.delete(newJobId);
      return fail(
        `InsufficientInstanceCapacity: There is no room for ${type.name} beside the instance's current job on node ${job.node}${newJob?.message ? ` (OAR: ${newJob.message})` : ''}.`,
      );
    }
    // until the row names the new job, a failure puts the container back on the job it still holds
    const back = async () => {
      await node.setLimits(inst.id, { memoryMib: inst.memory_mib, cpuset: job.cpuset ?? newJob.cpuset!, vcpus: inst.vcpus }).catch(() => undefined);
      await this.oar.delete(newJobId);
    };
    try {
      await node.setLimits(inst.id, { memoryMib: type.memoryMib, cpuset: newJob.cpuset, vcpus: type.vcpus });
    } catch (err: any) {
      await back();
      return fail(`InternalError: the container's limits could not be changed: ${String(err?.message ?? err).slice(0, 300)}`);
    }
    await this.instances
      .update(inst.id, {
        instance_type: type.name,
        vcpus: type.vcpus,
        memory_mib: type.memoryMib,
        oar_cores: sizing.cores,
        oar_slots: sizing.slotsPerCore,
        oar_min_memory_mib: sizing.minMemoryMib,
        oar_job_id: newJobId,
        resize_type: null,
        resize_by: null,
        resize_error: null,
        resized_at: new Date(),
      })
      .catch(async (err) => {
        await back();
        throw err;
      });
    await this.oar.delete(job.id);
    await this.events.record(
      'resize',
      inst.account_id,
      inst.id,
      `resized in place from ${inst.instance_type} to ${type.name} by ${inst.resize_by ?? 'unknown'} (OAR job ${job.id} → ${newJobId})`,
    );
    this.log.info({ instance: inst.id, from: inst.instance_type, to: type.name, ms: Date.now() - started }, 'resized in place');
    return true;
  }

  /** A stop or termination keeps the reason it was given; one without (a plain user request) says so. */
  private reasonUnlessGiven(inst: InstanceRow): StateReason | undefined {
    return inst.state_reason_code && inst.state_reason_code !== 'pending' ? undefined : stateReasons.userInitiatedShutdown();
  }

  private async submit(inst: InstanceRow): Promise<boolean> {
    if ((this.submitRetryAt.get(inst.id) ?? 0) > Date.now()) return false;
    // a job submitted just before a crash carries the instance id as its name: adopt it rather than submit twice
    // (not one asked to end: a job a live resize left behind may still be ending)
    const adopted = (await this.oar.activeJobs({ notEnding: true })).find((j) => j.name === inst.id);
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
    const node = this.nodes.get(job.node);
    const owner = this.config.idmapBase ?? 0;
    // how long each step took, logged with the start: where a slow launch spends its time
    const ms: Record<string, number> = {};
    let mark = Date.now();
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const result = await work();
      ms[name] = Date.now() - mark;
      mark = Date.now();
      return result;
    };
    try {
      if (replace) await step('replace', () => node.removeContainer(inst.id));
      // fail closed: no container starts before its node has its network, and its port its rules
      const netif = await step('network', () => this.rules.prepare(inst.id, node));
      await step('disk', () => this.moveDisk(inst, node));
      const rootfs = await step('mount', () => node.mount(inst.id, inst.layers, owner));
      await step('files', () => node.writeFiles(inst.id, this.instanceFiles(inst, netif), owner));
      await step('define', () =>
        node.libvirt.defineAndStart({
          name: inst.id,
          rootfs,
          vcpus: inst.vcpus,
          memoryMib: inst.memory_mib,
          cpuset: job.cpuset ?? undefined,
          network: this.config.network,
          // this machine's shared network is a libvirt network; everything else a bridge the node agent made
          ...(node.local && netif.network === 'shared' ? {} : { bridge: node.bridgeOf(netif.network) }),
          ip: inst.private_ip!,
          prefix: netif.prefix,
          gateway: netif.gateway,
          mac: inst.mac!,
          idmap: this.config.idmapBase === null ? undefined : { base: this.config.idmapBase, count: this.config.idmapCount },
        }),
      );
      await step('pids', () => node.limitPids(inst.id, this.config.pidsMax));
      // every instance, wherever it runs, may talk to one on another node: its packets must fit in VXLAN
      await step('mtu', () => node.setMtu(inst.id, this.config.overlayMtu));
      this.startFailures.delete(inst.id);
      const shown = await this.update(inst, { state: 'running', oar_node: job.node, disk_node: job.node, launch_time: new Date() }, null, '');
      this.log.info({ instance: inst.id, node: node.address, ms }, 'container started');
      return shown;
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
    } finally {
      // the row now names its node (or it did not start): the data plane finds it from there
      this.rules.placed(inst.id);
    }
  }

  /** A stopped instance that OAR placed on another node than its disk's: the disk (upper layer) goes there first. */
  private async moveDisk(inst: InstanceRow, to: ComputeNode): Promise<void> {
    if (!inst.disk_node) return;
    const from = this.nodes.get(inst.disk_node);
    if (from === to) return;
    const started = Date.now();
    await pipeBetween(from.readUpper(inst.id), to.writeUpper(inst.id), `moving the disk of ${inst.id} from ${from.address} to ${to.address}`);
    await from.removeDisk(inst.id);
    await this.instances.update(inst.id, { disk_node: to.address });
    inst.disk_node = to.address;
    await this.events.record('state', inst.account_id, inst.id, `disk moved from ${from.address} to ${to.address} in ${Date.now() - started} ms`);
  }

  /** What the instance's init reads at boot: hostname, root's authorized key, user data (run once). */
  private instanceFiles(inst: InstanceRow, netif: InterfacePlan) {
    // in a VPC with DNS hostnames, the hostname EC2 gives (ip-10-0-1-5); else the instance id, as before
    const hostname = netif.dnsHostname && inst.private_ip ? privateDnsName(inst.private_ip).split('.')[0] : inst.id;
    const files = [{ path: 'etc/hostname', content: `${hostname}\n`, mode: 0o644 }];
    if (netif.resolver) files.push({ path: 'etc/resolv.conf', content: `nameserver ${RESOLVER_ADDRESS}\nsearch ec2.internal\n`, mode: 0o644 });
    if (inst.public_key) files.push({ path: 'root/.ssh/authorized_keys', content: `${inst.public_key.trim()}\n`, mode: 0o600 });
    if (inst.user_data?.length) files.push({ path: 'var/lib/oarcloud/user-data', content: inst.user_data as any, mode: 0o700 });
    return files;
  }

  /**
   * Writes a state change (and its reason) and records it in the event log; false when an API call changed the
   * state meanwhile (the rest of this plan was made on a stale view and is dropped).
   */
  private async update(inst: InstanceRow, changes: Partial<InstanceRow>, reason?: StateReason | null, transitionReason?: string): Promise<boolean> {
    const row = await this.instances.recordTransition(inst, changes, reason, transitionReason);
    const before = inst.state;
    Object.assign(inst, row);
    if (changes.state && changes.state !== row.state) {
      // an API call moved it meanwhile: this pass's view is stale, the next one starts from what is written
      this.log.info({ instance: inst.id, wanted: changes.state, kept: row.state }, 'state changed meanwhile');
      this.kick(inst.id);
      return false;
    }
    if (changes.state && changes.state !== before) {
      await this.events.record('state', inst.account_id, inst.id, `${before} -> ${changes.state}${reason?.message ? ` (${reason.message})` : ''}`);
      this.log.info({ instance: inst.id, from: before, to: changes.state, job: inst.oar_job_id }, 'instance state');
    }
    return true;
  }
}
