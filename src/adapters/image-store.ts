/**
 * The layer store on disk. A layer is a read-only directory under <data>/layers/<id>; an image is an ordered
 * list of layers; an instance's root filesystem is an overlay of its image's layers with the instance's own
 * upper directory on top (<data>/instances/<id>/{upper,work,rootfs}). Stopping unmounts it and keeps upper.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runOk } from './exec';

export interface InstanceFile {
  path: string;
  content: string | Buffer;
  mode: number;
}

export class ImageStore {
  readonly layersDir: string;
  readonly instancesDir: string;

  constructor(dataDir: string) {
    this.layersDir = path.join(dataDir, 'layers');
    this.instancesDir = path.join(dataDir, 'instances');
  }

  layerPath(layerId: string): string {
    if (!/^[\w.-]+$/.test(layerId)) throw new Error(`bad layer id ${layerId}`);
    return path.join(this.layersDir, layerId);
  }

  layerExists(layerId: string): boolean {
    return existsSync(path.join(this.layerPath(layerId), '.complete'));
  }

  instanceDir(instanceId: string): string {
    if (!/^i-[0-9a-f]+$/.test(instanceId)) throw new Error(`bad instance id ${instanceId}`);
    return path.join(this.instancesDir, instanceId);
  }

  rootfs(instanceId: string): string {
    return path.join(this.instanceDir(instanceId), 'rootfs');
  }

  /** Overlay mount points under the instances directory, by instance id. */
  mountedInstances(): Set<string> {
    const ids = new Set<string>();
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mountPoint, type] = line.split(' ');
      if (type === 'overlay' && mountPoint?.startsWith(this.instancesDir + '/')) ids.add(path.basename(path.dirname(mountPoint)));
    }
    return ids;
  }

  isMounted(instanceId: string): boolean {
    return this.mountedInstances().has(instanceId);
  }

  /** Mounts the instance's overlay (layers listed top first); idempotent. */
  async mount(instanceId: string, layers: string[]): Promise<string> {
    const dir = this.instanceDir(instanceId);
    const rootfs = this.rootfs(instanceId);
    if (this.isMounted(instanceId)) return rootfs;
    for (const sub of ['upper', 'work', 'rootfs']) mkdirSync(path.join(dir, sub), { recursive: true });
    for (const l of layers) if (!this.layerExists(l)) throw new Error(`layer ${l} is missing from ${this.layersDir}`);
    const lower = layers.map((l) => this.layerPath(l)).join(':');
    await runOk('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`, rootfs]);
    return rootfs;
  }

  async unmount(instanceId: string): Promise<void> {
    if (this.isMounted(instanceId)) await runOk('umount', [this.rootfs(instanceId)]);
  }

  /** Unmounts and deletes everything the instance had (its upper layer included). */
  async remove(instanceId: string): Promise<void> {
    await this.unmount(instanceId);
    await rm(this.instanceDir(instanceId), { recursive: true, force: true });
  }

  /** Writes files into the mounted root filesystem (they land in the instance's upper layer). */
  async writeFiles(instanceId: string, files: InstanceFile[]): Promise<void> {
    const rootfs = this.rootfs(instanceId);
    for (const f of files) {
      const target = path.join(rootfs, f.path);
      if (!target.startsWith(rootfs + '/')) throw new Error(`refusing to write outside the rootfs: ${f.path}`);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(target, f.content, { mode: f.mode });
      await chmod(target, f.mode);
    }
  }
}
