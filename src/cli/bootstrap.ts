/**
 * What `oarcloud up` does, step by step, each step idempotent: host provisioning (docker/provision.sh),
 * database migrations, the system and bootstrap accounts, the system images, then the API server in the
 * background. `oarcloud test` runs the same steps first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { endpointUrl, type Config } from '../config';
import { connect, migrate } from '../adapters/db';
import { Accounts, SYSTEM_ACCOUNT_NAME } from '../domain/accounts';
import { SecretBox } from '../domain/secrets';
import { Images } from '../domain/images';
import { ImageStore } from '../adapters/image-store';
import { Oar } from '../adapters/oar';
import { buildStamp } from '../transport/app';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BOOTSTRAP_ACCOUNT = 'default';
export const SERVER_LOG = '/var/log/oarcloud/server.log';

export interface BootstrapCredentials {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function credentialsFile(config: Config): string {
  return path.join(path.dirname(config.masterKeyFile), 'bootstrap-credentials.json');
}

const say = (quiet: boolean, msg: string) => {
  if (!quiet) process.stderr.write(`${msg}\n`);
};

export function provisionHost(quiet = false): void {
  say(quiet, '== provisioning the host (docker/provision.sh)');
  const r = spawnSync('bash', [path.join(ROOT, 'docker', 'provision.sh')], { stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  if (r.status !== 0) {
    if (quiet) process.stderr.write(`${r.stdout}${r.stderr}`);
    throw new Error('provisioning failed: see the lines above');
  }
}

/** Migrations, accounts, bootstrap key (kept across runs, recreated only if revoked) and system images. */
export async function prepareDatabase(config: Config, quiet = false): Promise<BootstrapCredentials> {
  const db = connect(config.databaseUrl);
  try {
    const applied = await migrate(db);
    if (applied.length) say(quiet, `== database migrated: ${applied.join(', ')}`);
    const accounts = new Accounts(db, SecretBox.fromFile(config.masterKeyFile));
    const system = await accounts.ensure(SYSTEM_ACCOUNT_NAME, { system: true });
    const account = await accounts.ensure(BOOTSTRAP_ACCOUNT);
    const file = credentialsFile(config);
    let creds: BootstrapCredentials | undefined = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
    if (!creds || creds.accountId !== account.id || !(await accounts.resolveKey(creds.accessKeyId))) {
      const key = await accounts.createKey(account.id, 'admin', 'admin');
      creds = { accountId: account.id, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
      say(quiet, `== bootstrap access key ${key.accessKeyId} created for account ${account.id} (${file})`);
    }
    await registerSystemImages(config, db, system.id);
    await shiftImageLayers(config, db, quiet);
    await ensureLocalSlots(config, quiet);
    return creds;
  } finally {
    await db.destroy();
  }
}

/** This machine as the OAR node `localhost`: OARCLOUD_OAR_CORES cores of OARCLOUD_SLOTS_PER_CORE slots each. */
async function ensureLocalSlots(config: Config, quiet: boolean): Promise<void> {
  const oar = new Oar(config);
  try {
    const { added, updated } = await oar.nodes.ensureSlots('localhost', config.localCores, config.localMemoryMib, config.slotsPerCore);
    if (added || updated) {
      say(quiet, `== OAR node localhost: ${config.localCores} cores of ${config.slotsPerCore} slots (${added} slot(s) added, ${updated} updated)`);
    }
  } finally {
    await oar.close();
  }
}

const IMAGE_DESCRIPTIONS: Record<string, string> = {
  busybox: 'BusyBox root filesystem (2 MB): starts in milliseconds',
  debian: 'Debian 12 minimal with openssh-server',
  'debian-cloud': "Debian 12 minimal with openssh-server and Debian's cloud-init (EC2 datasource)",
};

/** Every complete base layer `base-<name>` becomes (or stays) the public system image `<name>`. */
export async function registerSystemImages(config: Config, db: ReturnType<typeof connect>, systemAccountId: string): Promise<void> {
  const store = new ImageStore(config.dataDir);
  if (!existsSync(store.layersDir)) return;
  const images = new Images(db);
  for (const dir of readdirSync(store.layersDir)) {
    const m = /^base-([\w.-]+)$/.exec(dir);
    if (!m || !store.layerExists(dir)) continue;
    await images.registerSystemImage(systemAccountId, m[1], dir, IMAGE_DESCRIPTIONS[m[1]] ?? `${m[1]} base image`);
  }
}

/**
 * Unprivileged containers see the host ids shifted by OARCLOUD_IDMAP_BASE: every layer an image uses must be
 * owned accordingly. Layers made before (or by an older version) are shifted once; a marker records it.
 */
export async function shiftImageLayers(config: Config, db: ReturnType<typeof connect>, quiet = false): Promise<void> {
  if (config.idmapBase === null) return;
  const store = new ImageStore(config.dataDir);
  for (const layer of await new Images(db).layersInUse()) {
    if (!store.layerExists(layer)) continue;
    if (await store.shiftLayer(layer, config.idmapBase)) say(quiet, `== layer ${layer} shifted for unprivileged containers (ids + ${config.idmapBase})`);
  }
}

export async function serverHealth(config: Config): Promise<{ build: string; pid: number; leader?: boolean } | undefined> {
  try {
    const res = await fetch(`${endpointUrl(config)}/_oarcloud/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as { build: string; pid: number; leader?: boolean }) : undefined;
  } catch {
    return undefined;
  }
}

export async function serverHealthy(config: Config): Promise<boolean> {
  return (await serverHealth(config)) !== undefined;
}

/** Starts `oarcloud serve` in the background (pid file, log file) unless a healthy server already answers. */
export async function startServerInBackground(config: Config, quiet = false): Promise<void> {
  const running = await serverHealth(config);
  if (running && running.build === buildStamp()) {
    say(quiet, `== API server already answering at ${endpointUrl(config)}`);
    return;
  }
  if (running) {
    say(quiet, '== API server runs an older build: restarting it');
    await stopServer(config);
  }
  mkdirSync(path.dirname(SERVER_LOG), { recursive: true });
  const out = openSync(SERVER_LOG, 'a');
  // the server inherits this process's V8 flags (bin/oarcloud sets them)
  const child = spawn(process.execPath, [...process.execArgv, path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  child.unref();
  for (let i = 0; i < 150; i++) {
    if (await serverHealthy(config)) {
      say(quiet, `== API server started (pid ${child.pid}, log ${SERVER_LOG})`);
      return;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the API server did not come up; last lines of ${SERVER_LOG}:\n${tail(SERVER_LOG, 15)}`);
}

export async function stopServer(config: Config): Promise<boolean> {
  const pid = existsSync(config.pidFile) ? Number(readFileSync(config.pidFile, 'utf8').trim()) : NaN;
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  // until it is gone, not merely silent: it finishes its loops' work after it stopped answering
  const alive = () => {
    try {
      process.kill(pid, 0);
      return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 150 && alive(); i++) await new Promise((r) => setTimeout(r, 200));
  return true;
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  const size = statSync(file).size;
  const text = readFileSync(file, 'utf8').slice(Math.max(0, size - 20_000));
  return text
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
}

export function envExports(config: Config, creds: BootstrapCredentials): string {
  const url = endpointUrl(config);
  return [
    `export AWS_ACCESS_KEY_ID=${creds.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}`,
    `export AWS_DEFAULT_REGION=${config.regions[0]}`,
    `export AWS_REGION=${config.regions[0]}`,
    `export AWS_ENDPOINT_URL=${url}`,
    `export AWS_ENDPOINT_URL_EC2=${url}`,
  ].join('\n');
}
