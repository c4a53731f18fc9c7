/**
 * CreateImage's background half: turns an instance's own layer into a new read-only image layer.
 * A running instance is frozen (cgroup freezer, `virsh suspend`) while its layer is copied unless NoReboot was
 * given, so the capture is consistent without a reboot. Chains deeper than MAX_LAYERS are flattened into one
 * layer. Pending captures are resumed after a server restart.
 */
import type { Knex } from 'knex';
import type { Logger } from '../log';
import type { ImageStore } from '../adapters/image-store';
import { pipeBetween, untarInto, type ComputeNodes } from '../adapters/compute-node';
import { newId } from './ids';
import { Images, type ImageRow } from './images';
import type { EventLog } from './events';
import type { InstanceRow } from './instances';

export const MAX_LAYERS = 16;
/** Per-instance files that must not travel into an image: a new instance gets its own. */
const INSTANCE_FILES = ['var/lib/oarcloud/user-data', 'var/lib/oarcloud/user-data.done', 'var/log/user-data.log', 'etc/hostname'];

export class ImageCapturer {
  private readonly running = new Map<string, Promise<void>>();
  private readonly capturingLayers = new Set<string>();

  /**
   * `exclusive` runs the freeze, copy and thaw of the instance's layer in the reconciler's per-instance queue, so a
   * stop or termination asked meanwhile waits for the capture instead of racing it.
   */
  constructor(
    private readonly db: Knex,
    private readonly store: ImageStore,
    private readonly nodes: ComputeNodes,
    private readonly events: EventLog,
    private readonly exclusive: <T>(instanceId: string, work: () => Promise<T>) => Promise<T>,
    private readonly log: Logger,
    private readonly idmapBase: number | null = null,
  ) {}

  /** Captures run on the leading server only (see leadership.ts); another server's pending images wait for it. */
  private active = false;

  setActive(active: boolean): void {
    this.active = active;
  }

  /** Starts (once) the capture of a pending image, if this server captures. */
  capture(imageId: string): void {
    if (!this.active || this.running.has(imageId)) return;
    const work = this.run(imageId)
      .catch((err) => this.log.error({ image: imageId, err: String(err?.message ?? err) }, 'image capture crashed'))
      .finally(() => this.running.delete(imageId));
    this.running.set(imageId, work);
  }

  async resumePending(): Promise<void> {
    for (const { id } of await this.db('images').where('state', 'pending').select('id')) this.capture(id);
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private async run(imageId: string): Promise<void> {
    const image: (ImageRow & { no_reboot: boolean }) | undefined = await this.db('images').where('id', imageId).first();
    if (!image || image.state !== 'pending') return;
    const started = Date.now();
    const inst: InstanceRow | undefined = image.source_instance_id ? await this.db('instances').where('id', image.source_instance_id).first() : undefined;
    const layerId = image.layers[0];
    this.capturingLayers.add(layerId);
    let frozen = false;
    const node = inst ? this.nodes.get(inst.disk_node ?? inst.oar_node) : undefined;
    try {
      if (!inst || !node) throw new Error('the instance was terminated before its image was captured');
      const flatten = image.layers.length > MAX_LAYERS;
      const size = await this.exclusive(inst.id, async () => {
        const current = await this.db('instances').where('id', inst.id).first('state');
        if (!current || current.state === 'terminated' || current.state === 'shutting-down')
          throw new Error('the instance was terminated before its image was captured');
        if (!image.no_reboot && (await node.libvirt.state(inst.id)) === 'running') {
          await node.libvirt.suspend(inst.id);
          frozen = true;
        }
        // an instance on another node: its upper layer is first copied here
        const upper = node.local ? this.store.upperDir(inst.id) : `${this.store.layerPath(layerId)}.upper`;
        try {
          if (!node.local) await pipeBetween(node.readUpper(inst.id), untarInto(upper), `copying the disk of ${inst.id} from ${node.address}`);
          if (frozen) {
            await node.libvirt.resume(inst.id);
            frozen = false;
          }
          const below = image.layers.slice(1);
          const sources = flatten ? [upper, ...below.map((l) => this.store.layerPath(l))] : [upper];
          return await this.store.createLayer(layerId, sources, INSTANCE_FILES, this.idmapBase);
        } finally {
          if (!node.local) await this.store.removeScratch(upper);
        }
      });
      const layers = flatten ? [layerId] : image.layers;
      await this.db('images').where('id', imageId).update({ state: 'available', layers, size_bytes: size, state_reason: null });
      await this.events.record(
        'image',
        image.account_id,
        imageId,
        `captured ${size} bytes from ${inst.id} in ${Date.now() - started} ms${flatten ? ' (flattened)' : ''}`,
      );
      this.log.info({ image: imageId, instance: inst.id, bytes: size, ms: Date.now() - started, flattened: flatten }, 'image available');
    } catch (err: any) {
      if (frozen) await node!.libvirt.resume(inst!.id).catch(() => undefined);
      await this.store.removeLayer(layerId).catch(() => undefined);
      const reason = String(err?.message ?? err).slice(0, 500);
      await this.db('images').where('id', imageId).update({ state: 'failed', state_reason: reason });
      await this.events.record('error', image.account_id, imageId, `image capture failed: ${reason}`);
      this.log.warn({ image: imageId, err: reason }, 'image capture failed');
    } finally {
      this.capturingLayers.delete(layerId);
    }
  }

  /** Removes layers that no image still registered and no instance that is not terminated uses. */
  async collectLayers(): Promise<string[]> {
    const used = await new Images(this.db).layersInUse({ withInstances: true });
    const removed: string[] = [];
    for (const layer of this.store.layers()) {
      if (!used.has(layer) && !layer.startsWith('base-') && !this.capturingLayers.has(layer)) {
        await this.store.removeLayer(layer);
        removed.push(layer);
      }
    }
    return removed;
  }

  static newLayerId(): string {
    return newId('ami').replace('ami-', 'lyr-');
  }
}
