/**
 * `oarcloud test`: brings everything up (as `up` does), runs the unit, integration and compat suites with mocha
 * against the live server, then checks that nothing was left behind: no libvirt domain, no unfinished OAR job of
 * the service user, no overlay mount, no address lease. Ends with the line "N passed, N failed".
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';
import { endpointUrl, type Config } from '../config';
import { withDatabase } from '../adapters/db';
import { AddressPool } from '../domain/addresses';
import { isInstanceId } from '../domain/ids';
import { run } from '../adapters/exec';
import { ImageStore } from '../adapters/image-store';
import { ProxyHost } from '../adapters/haproxy';
import { Oar } from '../adapters/oar';
import { ROOT, type BootstrapCredentials } from './bootstrap';
import { simulatedNodes } from '../adapters/node-join';
import { Schedules } from '../domain/schedules';

function findTests(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.test.js')) out.push(p);
    }
  };
  try {
    walk(dir);
  } catch {
    // a suite folder may not exist yet
  }
  return out.sort();
}

export async function leftovers(config: Config): Promise<string[]> {
  const found: string[] = [];
  const domains = await run('virsh', ['-q', '-c', config.libvirtUri, 'list', '--all', '--name']);
  const names = domains.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(isInstanceId);
  if (names.length) found.push(`libvirt domains: ${names.join(' ')}`);
  const oar = new Oar(config);
  try {
    const jobs = await oar.activeJobs();
    if (jobs.length) found.push(`OAR jobs: ${jobs.map((j) => `${j.id}(${j.name},${j.state})`).join(' ')}`);
  } finally {
    await oar.close();
  }
  const mounts = [...new ImageStore(config.dataDir).mountedInstances()];
  if (mounts.length) found.push(`overlay mounts: ${mounts.join(' ')}`);
  const namespaces = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith('ocn'));
  if (namespaces.length) found.push(`simulated node namespaces: ${namespaces.map((l) => l.split(' ')[0]).join(' ')}`);
  if (simulatedNodes().length)
    found.push(
      `simulated node state: ${simulatedNodes()
        .map((n) => `node${n}`)
        .join(' ')}`,
    );
  const leases = await withDatabase(config.databaseUrl, (db) => new AddressPool(config, db).leases());
  if (leases.length) found.push(`address leases: ${leases.map((l) => `${l.ip}(${l.instanceId ?? l.loadBalancerId})`).join(' ')}`);
  // a schedule left behind would go on acting (stopping instances, raising events) long after the suite
  const schedules = await withDatabase(config.databaseUrl, (db) => new Schedules(db, config.regions[0]).stillDue());
  if (schedules.length) found.push(`schedules still due to run: ${schedules.join(' ')}`);
  // the data plane follows the database within seconds: give it that long
  for (let attempt = 0; ; attempt++) {
    const network = await networkLeftovers();
    if (!network.length || attempt === 15) return [...found, ...network];
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * VPC bridges, routers and relays, public-address routes, instance packet-filter chains, and load balancers'
 * namespaces, proxies and names on this machine.
 */
async function networkLeftovers(): Promise<string[]> {
  const found: string[] = [];
  const bridges = (await run('ip', ['-o', 'link', 'show', 'type', 'bridge'])).stdout.split('\n').flatMap((l) => /^\d+: (ocv\d+)[:@]/.exec(l)?.[1] ?? []);
  if (bridges.length) found.push(`VPC bridges: ${bridges.join(' ')}`);
  const routers = (await run('ip', ['netns', 'list'])).stdout.split('\n').flatMap((l) => /^(ocr\d+)/.exec(l)?.[1] ?? []);
  if (routers.length) found.push(`VPC router namespaces: ${routers.join(' ')}`);
  const relays = (await run('pgrep', ['-f', 'metadata-relay'])).stdout.split('\n').filter(Boolean);
  if (relays.length) found.push(`metadata relay processes: ${relays.join(' ')}`);
  for (const proto of ['77', '78']) {
    const routes: { dst: string }[] = JSON.parse((await run('ip', ['-j', 'route', 'show', 'proto', proto])).stdout || '[]');
    if (routes.length) found.push(`public address routes: ${routes.map((r) => r.dst).join(' ')}`);
  }
  const table = await run('nft', ['list', 'table', 'inet', 'oarcloud']);
  const chains = [...table.stdout.matchAll(/chain (in_oc[0-9a-z_]+) /g)].map((m) => m[1]);
  if (chains.length) found.push(`packet filter chains of instances and load balancers: ${chains.join(' ')}`);
  const proxies = new ProxyHost();
  const balancers = [...(await proxies.namespaces()), ...(await proxies.list())];
  if (balancers.length) found.push(`load balancer namespaces and files: ${balancers.join(' ')}`);
  const haproxy = (await run('pgrep', ['-x', 'haproxy'])).stdout.split('\n').filter(Boolean);
  if (haproxy.length) found.push(`haproxy processes: ${haproxy.join(' ')}`);
  if (/elb\.oarcloud\.internal/.test(readFileSync('/etc/hosts', 'utf8'))) found.push('load balancer names in /etc/hosts');
  return found;
}

export async function runTests(config: Config, creds: BootstrapCredentials, opts: { grep?: string; suites: string[] }): Promise<boolean> {
  // the SDK warns that releases after January 2027 need Node 22; the locked version runs on Node 20
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.OARCLOUD_TEST_ENDPOINT = endpointUrl(config);
  process.env.OARCLOUD_TEST_ACCESS_KEY_ID = creds.accessKeyId;
  process.env.OARCLOUD_TEST_SECRET_ACCESS_KEY = creds.secretAccessKey;
  process.env.OARCLOUD_TEST_REGION = config.regions[0];
  const dist = path.join(ROOT, 'dist');
  const files = opts.suites.flatMap((s) => findTests(path.join(dist, s)));
  const mocha = new Mocha({ reporter: 'spec', timeout: 120_000, grep: opts.grep, color: false });
  for (const f of files) mocha.addFile(f);
  const stats = await new Promise<Mocha.Stats>((resolve) => {
    const runner = mocha.run(() => resolve(runner.stats!));
  });
  let failed = stats.failures;
  const left = await leftovers(config);
  if (left.length) {
    failed += 1;
    console.log(`\nLEAK CHECK FAILED: the suite left behind:\n  ${left.join('\n  ')}`);
  } else console.log('\nleak check: no domain, OAR job, overlay mount, address lease, simulated node or schedule left behind');
  console.log(`${stats.passes} passed, ${failed} failed${stats.pending ? `, ${stats.pending} skipped` : ''}`);
  return failed === 0 && stats.passes > 0;
}
