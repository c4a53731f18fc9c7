/**
 * Every ten seconds: removes what no live instance owns — OAR jobs of the service user, containers, overlay mounts
 * and address leases left by a crash or by anything outside the API — and purges the records of instances
 * terminated long ago. Instances the reconciler is working on are left alone.
 */
import type { Logger } from '../log';
import type { Oar } from '../adapters/oar';
import type { ComputeNode, ComputeNodes } from '../adapters/compute-node';
import type { AddressPool } from './addresses';
import type { InstanceStore } from './instances';
import { isInstanceId } from './ids';

const SWEEP_INTERVAL_MS = 10_000;

export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running = false;
  private sweeping = false;

  constructor(
    private readonly instances: InstanceStore,
    private readonly oar: Oar,
    private readonly nodes: ComputeNodes,
    private readonly addresses: AddressPool,
    private readonly isBusy: (instanceId: string) => boolean,
    private readonly purgeAfterSeconds: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    void this.sweep();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    if (!this.running || this.sweeping) return;
    this.sweeping = true;
    try {
      const live = new Map((await this.instances.live()).map((r) => [r.id, r]));
      for (const job of await this.oar.activeJobs()) {
        const inst = job.name ? live.get(job.name) : undefined;
        // a live instance with no job id yet may be submitting this very job, and one the reconciler is working on
        // may be resizing onto it: leave those alone
        const orphan = !inst || (inst.oar_job_id !== null && inst.oar_job_id !== job.id);
        if (orphan && isInstanceId(job.name ?? '') && !this.isBusy(job.name!)) {
          this.log.warn({ job: job.id, name: job.name }, 'deleting orphan OAR job');
          await this.oar.delete(job.id);
        }
      }
      for (const node of [this.nodes.local, ...this.nodes.remotes()]) {
        await this.sweepNode(node, live).catch((err) => this.log.warn({ node: node.address, err: String(err?.message ?? err) }, 'node sweep failed'));
      }
      await this.addresses.releaseTerminated();
      const purged = await this.instances.purgeTerminated(this.purgeAfterSeconds);
      if (purged) this.log.info({ instances: purged }, 'purged records of long-terminated instances');
    } catch (err: any) {
      this.log.warn({ err: String(err?.message ?? err) }, 'sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** Containers and overlay mounts on the node that no live instance owns. */
  private async sweepNode(node: ComputeNode, live: Map<string, unknown>): Promise<void> {
    for (const [name] of await node.libvirt.list()) {
      if (isInstanceId(name) && !live.has(name) && !this.isBusy(name)) {
        this.log.warn({ domain: name, node: node.address }, 'removing orphan container');
        await node.removeContainer(name);
      }
    }
    for (const id of await node.mountedInstances()) {
      if (isInstanceId(id) && !live.has(id) && !this.isBusy(id)) {
        this.log.warn({ instance: id, node: node.address }, 'removing orphan overlay');
        await node.removeDisk(id);
      }
    }
  }
}
