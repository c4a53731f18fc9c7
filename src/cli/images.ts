/**
 * `oarcloud image ...`: admins build the base images, import a root filesystem (directory, .tar, .tar.zst) as a
 * public system image, list and delete images. Imported trees get OAR Cloud's init if they have none.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Config } from '../config';
import { withDatabase, type Db } from '../adapters/db';
import { ImageStore } from '../adapters/image-store';
import { runOk } from '../adapters/exec';
import { Accounts, SYSTEM_ACCOUNT_NAME } from '../domain/accounts';
import { SecretBox } from '../domain/secrets';
import { ImageCapturer } from '../domain/image-capture';
import { Images } from '../domain/images';
import { ROOT, registerSystemImages } from './bootstrap';

const withImages = <T>(config: Config, fn: (db: Db) => Promise<T>) => withDatabase(config.databaseUrl, fn);

/** Rebuilds a base image (busybox, debian or debian-cloud) and registers it; its image id stays the same. */
export async function buildImage(config: Config, kind: string): Promise<void> {
  const store = new ImageStore(config.dataDir);
  process.stderr.write(`building ${kind} (log: /var/log/oarcloud/image-${kind}.log)...\n`);
  const r = spawnSync('bash', [
    '-c',
    `"$0" "$1" "$2" > /var/log/oarcloud/image-$1.log 2>&1`,
    path.join(ROOT, 'fixtures', 'images', 'build.sh'),
    kind,
    store.layerPath(`base-${kind}`),
  ]);
  if (r.status !== 0) throw new Error(`build failed: see /var/log/oarcloud/image-${kind}.log`);
  await withImages(config, async (db) => {
    const system = await new Accounts(db, SecretBox.fromFile(config.masterKeyFile)).ensure(SYSTEM_ACCOUNT_NAME, { system: true });
    await registerSystemImages(config, db, system.id);
    const image = (await new Images(db).systemImages()).find((i) => i.name === kind);
    console.log(`${image?.id}\t${kind}`);
  });
}

/** Extracts a tarball into `dir` with a progress bar on the bytes read. */
async function extractTarball(file: string, dir: string): Promise<void> {
  const zstd = /\.(zst|zstd)$/.test(file);
  const tar = spawn('tar', ['-C', dir, '--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', '-', ...(zstd ? ['--zstd'] : [])], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const bar = new SingleBar({ format: 'importing [{bar}] {percentage}% {value}/{total} MiB', hideCursor: true }, Presets.shades_classic);
  const total = statSync(file).size;
  bar.start(Math.ceil(total / 1048576), 0);
  let read = 0;
  const input = createReadStream(file);
  input.on('data', (chunk) => {
    read += chunk.length;
    bar.update(Math.floor(read / 1048576));
  });
  input.pipe(tar.stdin!);
  const code = await new Promise<number>((resolve) => tar.on('close', (c) => resolve(c ?? 1)));
  bar.update(Math.ceil(total / 1048576));
  bar.stop();
  if (code !== 0) throw new Error(`tar exited ${code} while extracting ${file}`);
}

export async function importImage(config: Config, source: string, name: string, description?: string): Promise<void> {
  if (!existsSync(source)) throw new Error(`${source} does not exist`);
  const store = new ImageStore(config.dataDir);
  const layer = ImageCapturer.newLayerId();
  let tree = source;
  let scratch: string | undefined;
  if (!statSync(source).isDirectory()) {
    scratch = mkdtempSync(path.join(config.dataDir, 'import-'));
    await extractTarball(source, scratch);
    tree = scratch;
  }
  try {
    if (!existsSync(path.join(tree, 'sbin', 'ec2-init'))) {
      const images = path.join(ROOT, 'fixtures', 'images');
      await runOk('install', ['-D', '-m', '755', path.join(images, 'ec2-init'), path.join(tree, 'sbin', 'ec2-init')]);
      await runOk('install', ['-D', '-m', '755', path.join(images, 'run-user-data'), path.join(tree, 'usr', 'sbin', 'oarcloud-run-user-data')]);
    }
    process.stderr.write('writing the layer...\n');
    const size = await store.createLayer(layer, [tree], [], config.idmapBase);
    await withImages(config, async (db) => {
      const system = await new Accounts(db, SecretBox.fromFile(config.masterKeyFile)).ensure(SYSTEM_ACCOUNT_NAME, { system: true });
      const image = await new Images(db).registerImported(system.id, name, layer, description ?? `imported from ${path.basename(source)}`, size);
      console.log(`${image.id}\t${name}\t${(size / 1048576).toFixed(1)} MiB`);
    });
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

export async function listImages(config: Config): Promise<void> {
  await withImages(config, async (db) => {
    console.log('IMAGE_ID\tNAME\tSTATE\tPUBLIC\tOWNER\tLAYERS\tSIZE_MIB\tCREATED');
    for (const r of await new Images(db).all()) {
      console.log(
        [
          r.id,
          r.name,
          r.state,
          r.is_public,
          r.owner_name,
          r.layers.length,
          r.size_bytes ? (Number(r.size_bytes) / 1048576).toFixed(1) : '-',
          r.created_at.toISOString(),
        ].join('\t'),
      );
    }
  });
}

export async function deleteImage(config: Config, imageId: string): Promise<void> {
  await withImages(config, async (db) => {
    if (!(await new Images(db).deregisterAny(imageId))) throw new Error(`no image ${imageId}`);
    console.log(`deregistered ${imageId}; its layers are removed once no instance uses them`);
  });
}
