/**
 * The layer store on disk. A layer is a read-only directory under <data>/layers/<id>; an image is an ordered
 * list of layers; an instance's root filesystem is an overlay of its image's layers with the instance's own
 * upper directory on top (<data>/instances/<id>/{upper,work,rootfs}). Stopping unmounts it and keeps upper.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, opendir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runOk } from './exec';

export interface InstanceFile {
  path: string;
  content: string | Buffer;
  mode: number;
}

const IDMAP_MARKER = '.idmap';

/** Adds `base` to every uid and gid below it, in the whole tree (symlinks themselves, never their targets). */
async function shiftIds(root: string, base: number): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of await opendir(dir)) {
      const p = path.join(dir, entry.name);
      const st = await lstat(p);
      if (st.uid < base || st.gid < base) {
        const mode = st.mode;
        await lchown(p, st.uid < base ? st.uid + base : st.uid, st.gid < base ? st.gid + base : st.gid);
        // chown clears set-uid/set-gid bits: put them back
        if (!entry.isSymbolicLink() && mode & 0o6000) await chmod(p, mode & 0o7777);
      }
      if (entry.isDirectory()) await walk(p);
    }
  };
  const st = await lstat(root);
  if (st.uid < base) await lchown(root, st.uid + base, st.gid < base ? st.gid + base : st.gid);
  await walk(root);
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

  /**
   * Mounts the instance's overlay (layers listed top first); idempotent. The upper directory is the merged root's
   * inode, so it belongs to the container's root (`owner`, a host id when containers are unprivileged).
   */
  async mount(instanceId: string, layers: string[], owner = 0): Promise<string> {
    const dir = this.instanceDir(instanceId);
    const rootfs = this.rootfs(instanceId);
    if (this.isMounted(instanceId)) return rootfs;
    for (const sub of ['upper', 'work', 'rootfs']) mkdirSync(path.join(dir, sub), { recursive: true });
    await lchown(path.join(dir, 'upper'), owner, owner);
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

  /**
   * Makes a new read-only layer from `sources` (directories, topmost first) and returns its size in bytes.
   * One source (an instance's upper directory) is copied as is: overlay whiteouts (0:0 character devices) and
   * opaque directories (trusted.overlay.opaque) come along because tar keeps devices and every xattr. Several
   * sources are first merged through a read-only overlay, which resolves whiteouts: that flattens a chain.
   * The layer is built beside its final place and renamed, then marked complete.
   */
  async createLayer(layerId: string, sources: string[], exclude: string[] = [], idmapBase: number | null = null): Promise<number> {
    const target = this.layerPath(layerId);
    const building = `${target}.building`;
    const merged = `${target}.merged`;
    await rm(building, { recursive: true, force: true });
    await mkdir(building, { recursive: true });
    let from = sources[0];
    if (sources.length > 1) {
      await mkdir(merged, { recursive: true });
      await runOk('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${sources.join(':')}`, merged]);
      from = merged;
    }
    try {
      const excludes = exclude.map((e) => `--exclude=./${e}`);
      const xattrs = ['--xattrs', '--xattrs-include=*', '--numeric-owner'];
      await runOk(
        'sh',
        ['-c', `tar -C "$1" ${xattrs.join(' ')} ${excludes.join(' ')} -cf - . | tar -C "$2" ${xattrs.join(' ')} -xpf -`, 'sh', from, building],
        { timeoutMs: 3_600_000 },
      );
    } finally {
      if (sources.length > 1) {
        await runOk('umount', [merged]).catch(() => undefined);
        await rm(merged, { recursive: true, force: true });
      }
    }
    if (idmapBase !== null) await shiftIds(building, idmapBase);
    const size = Number((await runOk('du', ['-sb', building])).split(/\s+/)[0]);
    await rm(target, { recursive: true, force: true });
    await rename(building, target);
    if (idmapBase !== null) await writeFile(path.join(target, IDMAP_MARKER), String(idmapBase));
    await writeFile(path.join(target, '.complete'), '');
    return size;
  }

  /**
   * Makes a layer usable by unprivileged containers: every file owned by a host id below `base` is given that id
   * plus `base`, so the container's root (host id `base`) owns what root owned. Done once per layer (marker file).
   */
  async shiftLayer(layerId: string, base: number): Promise<boolean> {
    const dir = this.layerPath(layerId);
    const marker = path.join(dir, IDMAP_MARKER);
    if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === String(base)) return false;
    await shiftIds(dir, base);
    await writeFile(marker, String(base));
    return true;
  }

  /** Removes a scratch directory beside the layers (a remote instance's upper layer copied here for a capture). */
  async removeScratch(dir: string): Promise<void> {
    if (path.dirname(dir) !== this.layersDir || !dir.endsWith('.upper')) throw new Error(`not a scratch directory: ${dir}`);
    await rm(dir, { recursive: true, force: true });
  }

  async removeLayer(layerId: string): Promise<void> {
    await rm(this.layerPath(layerId), { recursive: true, force: true });
  }

  /** Layer directories present on disk. */
  layers(): string[] {
    return existsSync(this.layersDir) ? readdirSync(this.layersDir).filter((d) => !d.includes('.')) : [];
  }

  upperDir(instanceId: string): string {
    return path.join(this.instanceDir(instanceId), 'upper');
  }

  /** Writes files into the mounted root filesystem (they land in the instance's upper layer). */
  async writeFiles(instanceId: string, files: InstanceFile[], owner = 0): Promise<void> {
    const rootfs = this.rootfs(instanceId);
    for (const f of files) {
      const target = path.join(rootfs, f.path);
      if (!target.startsWith(rootfs + '/')) throw new Error(`refusing to write outside the rootfs: ${f.path}`);
      // directories we create belong to the container's root too
      const created = await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      for (let d = path.dirname(target); created && d.length >= created.length; d = path.dirname(d)) await lchown(d, owner, owner);
      // the image is the user's: a link in it (etc -> /etc, resolv.conf -> /etc/shadow) must not lead out of it
      const [dir, root] = await Promise.all([realpath(path.dirname(target)), realpath(rootfs)]);
      if (dir !== root && !dir.startsWith(root + '/')) throw new Error(`refusing to write through a link out of the rootfs: ${f.path}`);
      if ((await lstat(target).catch(() => undefined))?.isSymbolicLink()) await rm(target);
      await writeFile(target, f.content, { mode: f.mode });
      await chmod(target, f.mode);
      await lchown(target, owner, owner);
    }
  }
}
