/**
 * OAR Cloud benchmarks, all against the live server and real services; rewrites BENCHMARKS.md.
 *
 *   launch   RunInstances → running (API time, OAR submit → Running, container start, network), and the raw floor
 *            (oarsub → Running alone, virsh define + start alone); a burst of MaxCount=20
 *   api      DescribeInstances with 1,000 and 10,000 instance records, signed requests, concurrency 1/16/64,
 *            side by side with moto's server seeded the same way
 *   images   CreateImage of 1 MB and 100 MB of changes on the debian base
 *   memory   server RSS with 10,000 instance records
 *
 * `--quick` runs each part briefly (CI runs it through the test suite so that it cannot rot); `--no-write`
 * prints the results as JSON instead of rewriting BENCHMARKS.md.
 */
import { Vpcs } from '../src/domain/vpcs';
import { SecurityGroups } from '../src/domain/security-groups';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import aws4 from 'aws4';
import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { loadConfig, endpointUrl } from '../src/config';
import { connect, withDatabase, type Db } from '../src/adapters/db';
import { run as exec } from '../src/adapters/exec';
import { Accounts } from '../src/domain/accounts';
import { announceKeyChange } from '../src/domain/credential-cache';
import { SecretBox } from '../src/domain/secrets';
import { systemImageId } from '../src/domain/images';
import { newId } from '../src/domain/ids';
import { Libvirt } from '../src/adapters/libvirt';
import { ComputeNodes } from '../src/adapters/compute-node';
import { ImageStore } from '../src/adapters/image-store';
import { Oar } from '../src/adapters/oar';
import { migrate } from '../src/adapters/db';
import { InstanceStore } from '../src/domain/instances';
import { NetworkView } from '../src/domain/network';
import { Images } from '../src/domain/images';
import { KeyPairs } from '../src/domain/key-pairs';
import { Quotas } from '../src/domain/quotas';
import { AddressPool } from '../src/domain/addresses';
import { Tags } from '../src/domain/tags';
import { needsWork } from '../src/domain/reconcile-plan';
import { withAdministration } from '../src/cli/admin';
import { ensureSimulatedNodes, removeSimulatedNodes } from '../src/cli/nodes';
import { mixedLoad, type LoadResult } from './load';
import { benchNetwork, networkReport } from './network';
import { benchLoadBalancer, loadBalancerReport } from './load-balancer';
import { benchResize, resizeReport } from './resize';
import { benchMonitoring, monitoringReport } from './monitoring';
import { instanceState } from './figures';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';

// the SDK warns that releases after January 2027 need Node 22; the locked version runs on Node 20
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const config = loadConfig();
const libvirt = new Libvirt(config.libvirtUri);
const endpoint = endpointUrl(config);
const region = config.regions[0];
const ROOT = path.resolve(__dirname, '..', '..');

type Creds = { accessKeyId: string; secretAccessKey: string };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}
const median = (v: number[]) => percentile(v, 50);
const fmt = (ms: number) => (Number.isFinite(ms) ? (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`) : 'n/a');

const withDb = <T>(fn: (db: Db) => Promise<T>) => withDatabase(config.databaseUrl, fn);

async function benchAccount(name: string): Promise<Creds & { accountId: string; ec2: EC2Client }> {
  return withDb(async (db) => {
    const accounts = new Accounts(db, SecretBox.fromFile(config.masterKeyFile, false));
    const existing = await accounts.find(name);
    if (existing) await db('instances').where('account_id', existing.id).where('state', 'terminated').delete();
    const account = existing ?? (await accounts.create(name));
    const key = await accounts.createKey(account.id, 'bench', 'user');
    return { ...key, ec2: new EC2Client({ endpoint, region, credentials: key, maxAttempts: 1 }) };
  });
}

/** Drops a bench account and everything it holds (seeded records never had an OAR job or a container). */
async function dropBenchAccount(accountId: string): Promise<void> {
  await withDb(async (db) => {
    await db('accounts').where('id', accountId).delete();
    await announceKeyChange(db, '*');
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(everyMs);
  }
}

async function terminate(ec2: EC2Client, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  await waitFor(
    async () => {
      const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      return d.Reservations!.flatMap((r) => r.Instances!).every((i) => i.State!.Name === 'terminated') ? true : undefined;
    },
    120_000,
    100,
  );
}

/** Reads the reconciler's events for an instance: OAR submission, and the pending → running transition. */
async function eventTimes(instanceId: string): Promise<{ submitted?: number; running?: number }> {
  return withDb(async (db) => {
    const rows = await db('events').where('resource_id', instanceId).orderBy('id');
    const at = (pred: (m: string) => boolean) => rows.find((r: { message: string }) => pred(r.message))?.at?.getTime();
    return { submitted: at((m) => m.startsWith('submitted OAR job')), running: at((m) => m.startsWith('pending -> running')) };
  });
}

async function oarRunningAt(instanceId: string): Promise<number | undefined> {
  const db = connect(config.oarDatabaseUrl, { min: 0, max: 1 });
  try {
    const { rows } = await db.raw(
      `select min(l.date_start) as t from job_state_logs l join jobs j on j.job_id = l.job_id where j.job_name = ? and l.job_state = 'Running'`,
      [instanceId],
    );
    return rows[0]?.t ? Number(rows[0].t) * 1000 : undefined;
  } finally {
    await db.destroy();
  }
}

// ------------------------------------------------------------------------------------------------------ launch
async function benchLaunch(quick: boolean) {
  const acct = await benchAccount('bench-launch');
  const n = quick ? 2 : 20;
  const samples: { api: number; total: number; submitToRunning: number; oarRunningToContainer: number; network: number }[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    const wall0 = Date.now();
    const run = await acct.ec2.send(new RunInstancesCommand({ ImageId: systemImageId('busybox'), InstanceType: 't2.nano', MinCount: 1, MaxCount: 1 }));
    const api = now() - t0;
    const id = run.Instances![0].InstanceId!;
    const ip = run.Instances![0].PrivateIpAddress!;
    await waitFor(async () => ((await instanceState(acct.ec2, id)) === 'running' ? true : undefined), 60_000, 20);
    const total = now() - t0;
    const t1 = now();
    await waitFor(async () => ((await exec('busybox', ['ping', '-c', '1', '-W', '1', ip])).code === 0 ? true : undefined), 10_000, 10);
    const network = now() - t1;
    const ev = await eventTimes(id);
    const oarRunning = await oarRunningAt(id);
    samples.push({
      api,
      total,
      submitToRunning: ev.submitted && oarRunning ? oarRunning - ev.submitted : NaN,
      oarRunningToContainer: ev.running && oarRunning ? ev.running - oarRunning : NaN,
      network,
    });
    void wall0;
    await terminate(acct.ec2, [id]);
  }

  // the raw floor: oarsub → Running alone, and virsh define + start alone
  const floorOar: number[] = [];
  for (let i = 0; i < (quick ? 1 : 10); i++) {
    const t0 = now();
    const out = execFileSync(
      'runuser',
      [
        '-u',
        config.jobUser,
        '--',
        'oarsub',
        '-n',
        'bench-floor',
        '-d',
        `/home/${config.jobUser}`,
        '-O',
        '/dev/null',
        '-E',
        '/dev/null',
        '-l',
        '/core=1,walltime=0:05:00',
        config.jobCommand,
      ],
      { encoding: 'utf8' },
    );
    const job = /OAR_JOB_ID=(\d+)/.exec(out)![1];
    await waitFor(async () => (/Running/.test((await exec('oarstat', ['-s', '-j', job])).stdout) ? true : undefined), 60_000, 20);
    floorOar.push(now() - t0);
    await exec('runuser', ['-u', config.jobUser, '--', 'oardel', job]);
    await waitFor(async () => (/Error|Terminated/.test((await exec('oarstat', ['-s', '-j', job])).stdout) ? true : undefined), 60_000, 50);
  }
  const floorVirsh: number[] = [];
  const layer = path.join(config.dataDir, 'layers', 'base-busybox');
  for (let i = 0; i < (quick ? 1 : 10); i++) {
    const dir = path.join(config.dataDir, 'instances', `i-bench${String(i).padStart(12, '0')}`);
    execFileSync('mkdir', ['-p', `${dir}/upper`, `${dir}/work`, `${dir}/rootfs`]);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${layer},upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/rootfs`]);
    const xml = `<domain type='lxc'><name>bench-floor</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type>exe</type><init>/sbin/ec2-init</init></os>
<devices><emulator>/usr/lib/libvirt/libvirt_lxc</emulator><filesystem type='mount'><source dir='${dir}/rootfs'/><target dir='/'/></filesystem><console type='pty'/></devices></domain>`;
    writeFileSync(`${dir}/domain.xml`, xml);
    const t0 = now();
    execFileSync('virsh', ['-q', '-c', config.libvirtUri, 'define', `${dir}/domain.xml`]);
    execFileSync('virsh', ['-q', '-c', config.libvirtUri, 'start', 'bench-floor']);
    floorVirsh.push(now() - t0);
    execFileSync('virsh', ['-q', '-c', config.libvirtUri, 'destroy', 'bench-floor']);
    execFileSync('virsh', ['-q', '-c', config.libvirtUri, 'undefine', 'bench-floor']);
    execFileSync('umount', [`${dir}/rootfs`]);
    execFileSync('rm', ['-rf', dir]);
  }

  // a burst: MaxCount=20 (quick: 2) in one call; OAR runs as many as there are cores and queues the rest
  const burstN = quick ? 2 : 20;
  const cores = await withDb(async () => {
    const db = connect(config.oarDatabaseUrl, { min: 0, max: 1 });
    try {
      const { rows } = await db.raw("select count(*)::int as n from resources where state = 'Alive'");
      return rows[0].n as number;
    } finally {
      await db.destroy();
    }
  });
  const t0 = now();
  const burst = await acct.ec2.send(
    new RunInstancesCommand({ ImageId: systemImageId('busybox'), InstanceType: 't2.nano', MinCount: burstN, MaxCount: burstN }),
  );
  const burstApi = now() - t0;
  const ids = burst.Instances!.map((i) => i.InstanceId!);
  const firstWave = Math.min(cores, burstN);
  const firstWaveAt = await waitFor(
    async () => {
      const d = await acct.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      const running = d.Reservations!.flatMap((r) => r.Instances!).filter((i) => i.State!.Name === 'running').length;
      return running >= firstWave ? now() - t0 : undefined;
    },
    120_000,
    50,
  );
  // then keep the queue moving: terminate each running wave until every instance has run
  let ranAll = NaN;
  const started = new Set<string>();
  const deadline = Date.now() + (quick ? 60_000 : 600_000);
  while (Date.now() < deadline) {
    const d = await acct.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const list = d.Reservations!.flatMap((r) => r.Instances!);
    const running = list.filter((i) => i.State!.Name === 'running').map((i) => i.InstanceId!);
    running.forEach((r) => started.add(r));
    if (started.size === ids.length) {
      ranAll = now() - t0;
      break;
    }
    if (running.length) await acct.ec2.send(new TerminateInstancesCommand({ InstanceIds: running }));
    await sleep(100);
  }
  await terminate(acct.ec2, ids);
  return {
    n,
    samples,
    floorOar,
    floorVirsh,
    burst: { n: burstN, cores, api: burstApi, firstWave, firstWaveAt, ranAll },
  };
}

// ------------------------------------------------------------------------------------------------------ cluster
/**
 * Over three simulated nodes (this machine's server drained): a burst of MaxCount=20 from the call to all running,
 * and what one reconciler pass reads with 1,000 running instances spread over them.
 */
async function benchCluster(quick: boolean) {
  const perSlotMib = Math.floor(config.localMemoryMib / (config.localCores * config.slotsPerCore));
  const slots = quick ? 1 : 7;
  const size = { cores: 1, slotsPerCore: slots, memoryMib: slots * perSlotMib };
  const say = () => undefined;
  const nodes = await withAdministration(config, async (admin) => {
    await removeSimulatedNodes(config, admin, say);
    return ensureSimulatedNodes(config, admin, 3, size, say);
  });
  const acct = await benchAccount('bench-cluster');
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'node', 'drain', 'localhost']);
    const n = quick ? 3 : 20;
    const t0 = now();
    const burst = await acct.ec2.send(new RunInstancesCommand({ ImageId: systemImageId('busybox'), InstanceType: 't2.nano', MinCount: n, MaxCount: n }));
    const api = now() - t0;
    const ids = burst.Instances!.map((i) => i.InstanceId!);
    const allRunning = await waitFor(
      async () => {
        const d = await acct.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
        return d.Reservations!.flatMap((r) => r.Instances!).every((i) => i.State!.Name === 'running') ? now() - t0 : undefined;
      },
      300_000,
      100,
    );
    const placement = await withDb(async (db) => (await db('instances').whereIn('id', ids).pluck('oar_node')) as string[]);
    const perNode = nodes.map((node) => placement.filter((p) => p === node).length);
    await terminate(acct.ec2, ids);
    const pass = await reconcilerPassCost(nodes, quick ? 100 : 1000);
    return { n, api, allRunning, perNode, nodes, pass };
  } finally {
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'node', 'undrain', 'localhost']);
    await withAdministration(config, (admin) => removeSimulatedNodes(config, admin, say));
    await dropBenchAccount(acct.accountId);
  }
}

/**
 * What one reconciler pass reads, with `total` running instances spread over the nodes: the unsettled instances
 * (one SQL query), their OAR jobs (one SQL query on OAR's database, real job ids) and each node's containers (one
 * libvirt list per node, in parallel), then the pure check of every instance. The instances are rows in a database
 * of their own (a copy of the schema), so that the live server's reconciler never sees them.
 */
async function reconcilerPassCost(nodes: string[], total: number) {
  const name = 'oarcloud_bench_pass';
  const admin = (sql: string) => execFileSync('su', ['postgres', '-c', `psql -qAtX -c "${sql}"`]);
  admin(`drop database if exists ${name}`);
  admin(`create database ${name} owner oarcloud`);
  const db = connect(config.databaseUrl.replace(/\/oarcloud$/, `/${name}`), { min: 0, max: 2 });
  const oar = new Oar(config);
  try {
    await migrate(db);
    const jobIds = (await withDatabase(config.oarDatabaseUrl, (o) => o('jobs').orderBy('job_id', 'desc').limit(total).pluck('job_id'))).map(Number);
    const accountId = '000000000001';
    await db('accounts').insert({ id: accountId, name: 'bench-pass' });
    await db('reservations').insert({ id: 'r-0000000000000000b', account_id: accountId, request_hash: 'bench' });
    const rows = Array.from({ length: total }, (_, i) => ({
      id: newId('i'),
      account_id: accountId,
      reservation_id: 'r-0000000000000000b',
      ami_launch_index: i,
      image_id: systemImageId('busybox'),
      layers: ['base-busybox'],
      instance_type: 't2.nano',
      vcpus: 1,
      memory_mib: 512,
      oar_cores: 1,
      state: 'running',
      desired_state: 'running',
      availability_zone: `${region}a`,
      transition_reason: '',
      oar_job_id: jobIds[i % jobIds.length],
      oar_node: nodes[i % nodes.length],
      disk_node: nodes[i % nodes.length],
    }));
    for (let i = 0; i < rows.length; i += 500) await db('instances').insert(rows.slice(i, i + 500));
    const store = new InstanceStore({
      db,
      network: new NetworkView(config),
      images: new Images(db),
      keyPairs: new KeyPairs(db),
      quotas: new Quotas(db),
      addresses: new AddressPool(config, db),
      tags: new Tags(db),
      vpcs: new Vpcs(db, new NetworkView(config), () => `${region}a`),
      securityGroups: new SecurityGroups(db),
      capacity: oar,
      retentionSeconds: 3600,
    });
    const computeNodes = new ComputeNodes(libvirt, new ImageStore(config.dataDir), { ...config, gateway: '', subnet: '' });
    const samples: { rows: number; jobs: number; lists: number; check: number; total: number }[] = [];
    for (let round = 0; round < 10; round++) {
      const t0 = now();
      const unsettled = await store.unsettled();
      const t1 = now();
      const jobs = await oar.jobs(unsettled.map((r) => r.oar_job_id!));
      const t2 = now();
      const lists = new Map(await Promise.all(nodes.map(async (node) => [node, await computeNodes.get(node).libvirt.list()] as const)));
      const t3 = now();
      let work = 0;
      for (const r of unsettled) if (needsWork(r, jobs.get(r.oar_job_id!), lists.get(r.oar_node!)?.get(r.id))) work += 1;
      const t4 = now();
      samples.push({ rows: t1 - t0, jobs: t2 - t1, lists: t3 - t2, check: t4 - t3, total: t4 - t0 });
      void work;
    }
    const p50 = (k: keyof (typeof samples)[number]) => median(samples.map((x) => x[k]));
    return { instances: total, nodes: nodes.length, rows: p50('rows'), jobs: p50('jobs'), lists: p50('lists'), check: p50('check'), total: p50('total') };
  } finally {
    await oar.close();
    await db.destroy();
    admin(`drop database if exists ${name}`);
  }
}

// ------------------------------------------------------------------------------------------------------ api
/** A minimal SigV4-signing HTTP load generator (aws4 signs every request, as the SDKs do). */
async function load(url: string, creds: Creds, body: string, concurrency: number, seconds: number) {
  const u = new URL(url);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = now() + seconds * 1000;
  const worker = async () => {
    while (now() < deadline) {
      const signed = aws4.sign(
        {
          host: u.host,
          method: 'POST',
          path: '/',
          body,
          service: 'ec2',
          region,
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        },
        creds,
      );
      const t0 = now();
      try {
        const res = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(now() - t0);
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (now() - t0) / 1000;
  return { requests: latencies.length, rps: latencies.length / elapsed, p50: median(latencies), p99: percentile(latencies, 99), errors };
}

async function seedInstances(accountId: string, total: number): Promise<string[]> {
  return withDb(async (db) => {
    const have = (await db('instances').where('account_id', accountId).pluck('id')) as string[];
    if (have.length >= total) return have.sort();
    const reservation = newId('r');
    await db('reservations').insert({ id: reservation, account_id: accountId, request_hash: 'bench' });
    const rows = [];
    for (let i = have.length; i < total; i++) {
      const id = newId('i');
      rows.push({
        id,
        account_id: accountId,
        reservation_id: reservation,
        ami_launch_index: i,
        image_id: systemImageId('busybox'),
        layers: ['base-busybox'],
        instance_type: 't2.micro',
        vcpus: 1,
        memory_mib: 1024,
        oar_cores: 1,
        state: 'stopped',
        desired_state: 'stopped',
        availability_zone: `${region}a`,
        transition_reason: 'seeded by bench',
      });
    }
    for (let i = 0; i < rows.length; i += 1000) await db('instances').insert(rows.slice(i, i + 1000));
    await db('tags').insert(rows.map((r, i) => ({ resource_id: r.id, account_id: accountId, resource_type: 'instance', key: 'Name', value: `seed-${i}` })));
    return ((await db('instances').where('account_id', accountId).pluck('id')) as string[]).sort();
  });
}

async function startMoto(port: number): Promise<ChildProcess> {
  const moto = spawn('python3', ['-m', 'moto.server', '-p', String(port)], { stdio: 'ignore' });
  await waitFor(
    async () =>
      (await fetch(`http://127.0.0.1:${port}/moto-api/`).then(
        (r) => r.ok,
        () => false,
      ))
        ? true
        : undefined,
    30_000,
    200,
  );
  return moto;
}

async function seedMoto(port: number, total: number): Promise<string[]> {
  const script = `
import boto3, json
ec2 = boto3.client("ec2", endpoint_url="http://127.0.0.1:${port}", region_name="${region}", aws_access_key_id="x", aws_secret_access_key="y")
ami = ec2.describe_images()["Images"][0]["ImageId"]
ids = []
left = ${total}
while left > 0:
    n = min(left, 500)
    ids += [i["InstanceId"] for i in ec2.run_instances(ImageId=ami, MinCount=n, MaxCount=n, InstanceType="t2.micro")["Instances"]]
    left -= n
print(json.dumps(ids))`;
  return JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
}

async function benchApi(quick: boolean) {
  const seconds = quick ? 1 : 10;
  const sizes = quick ? [1000] : [1000, 10000];
  const concurrencies = quick ? [1, 16] : [1, 16, 64];
  const results: Record<string, unknown>[] = [];
  const acct = await benchAccount('bench-api');
  const workloads = (ids: string[]) => ({
    'by id (a waiter poll)': `Action=DescribeInstances&Version=2016-11-15&InstanceId.1=${ids[Math.floor(ids.length / 2)]}`,
    'page of 100': 'Action=DescribeInstances&Version=2016-11-15&MaxResults=100',
  });
  let rssAt10k = NaN;
  const snapshots: { records: number; p50: number; p95: number; bytes: number }[] = [];
  const admin = await withDb((db) => new Accounts(db, SecretBox.fromFile(config.masterKeyFile, false)).createKey(acct.accountId, 'bench-admin', 'admin'));
  try {
    for (const size of sizes) {
      const ids = await seedInstances(acct.accountId, size);
      snapshots.push({ records: size, ...(await adminSnapshots(admin, quick ? 10 : 30)) });
      for (const [name, body] of Object.entries(workloads(ids))) {
        for (const c of concurrencies)
          results.push({ server: 'oarcloud', records: size, workload: name, concurrency: c, ...(await load(endpoint, acct, body, c, seconds)) });
      }
      if (size === 10000) rssAt10k = serverRss();
    }
  } finally {
    // the seeded records would otherwise sit in every admin view as 10,000 stopped instances
    await dropBenchAccount(acct.accountId);
  }
  // moto, seeded with the same 1,000 instances, same workloads
  const port = 5055;
  let moto: ChildProcess | undefined;
  try {
    moto = await startMoto(port);
    const ids = await seedMoto(port, 1000);
    for (const [name, body] of Object.entries(workloads(ids))) {
      for (const c of concurrencies)
        results.push({
          server: 'moto',
          records: 1000,
          workload: name,
          concurrency: c,
          ...(await load(`http://127.0.0.1:${port}`, { accessKeyId: 'AKIAMOTO', secretAccessKey: 'x' }, body, c, seconds)),
        });
    }
  } catch (err) {
    results.push({ server: 'moto', error: String(err) });
  } finally {
    moto?.kill();
  }
  return { seconds, results, rssAt10k, snapshots };
}

/** What the dashboard's feed costs: sequential admin snapshots (GET, SigV4 for the service "oarcloud"). */
async function adminSnapshots(creds: Creds, n: number): Promise<{ p50: number; p95: number; bytes: number }> {
  const url = new URL('/_oarcloud/admin/api/snapshot', endpoint);
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const signed = aws4.sign({ host: url.host, method: 'GET', path: url.pathname, service: 'oarcloud', region }, creds);
    const t0 = now();
    const res = await fetch(url, { headers: signed.headers as Record<string, string> });
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`admin snapshot answered ${res.status}`);
    times.push(now() - t0);
    bytes = body.byteLength;
  }
  return { p50: median(times), p95: percentile(times, 95), bytes };
}

function serverRss(): number {
  const pid = readFileSync(config.pidFile, 'utf8').trim();
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
  return Number(kb) / 1024;
}

// ------------------------------------------------------------------------------------------------------ images
async function benchImages(quick: boolean) {
  const acct = await benchAccount('bench-images');
  const sizes = quick ? [1] : [1, 100];
  const out: { mib: number; runs: number[] }[] = [];
  const run = await acct.ec2.send(
    new RunInstancesCommand({ ImageId: systemImageId(quick ? 'busybox' : 'debian'), InstanceType: 't2.micro', MinCount: 1, MaxCount: 1 }),
  );
  const id = run.Instances![0].InstanceId!;
  await waitFor(async () => ((await instanceState(acct.ec2, id)) === 'running' ? true : undefined), 60_000);
  for (const mib of sizes) {
    const runs: number[] = [];
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      await libvirt.exec(id, `dd if=/dev/urandom of=/root/blob-${mib}-${i} bs=1M count=${mib} 2>/dev/null`);
      const t0 = now();
      const { ImageId } = await acct.ec2.send(new CreateImageCommand({ InstanceId: id, Name: `bench-${mib}-${i}-${Date.now()}` }));
      await waitFor(
        async () => {
          const img = (await acct.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0];
          if (img.State === 'failed') throw new Error(img.StateReason?.Message);
          return img.State === 'available' ? true : undefined;
        },
        120_000,
        10,
      );
      runs.push(now() - t0);
      await acct.ec2.send(new DeregisterImageCommand({ ImageId }));
      await libvirt.exec(id, `rm -f /root/blob-${mib}-${i}`);
    }
    out.push({ mib, runs });
  }
  await terminate(acct.ec2, [id]);
  return out;
}

// ------------------------------------------------------------------------------------------------------ report
function machine() {
  const v = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0].trim();
    } catch {
      return 'n/a';
    }
  };
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    node: process.version,
    oar: v('dpkg-query', ['-W', '-f=${Version}', 'oar-server']),
    libvirt: v('dpkg-query', ['-W', '-f=${Version}', 'libvirt-daemon']),
    postgresql: v('psql', ['--version']),
    moto: v('python3', ['-c', 'import moto; print(moto.__version__)']),
  };
}

function report(
  m: ReturnType<typeof machine>,
  launch: Awaited<ReturnType<typeof benchLaunch>>,
  api: Awaited<ReturnType<typeof benchApi>>,
  images: Awaited<ReturnType<typeof benchImages>>,
): string {
  const col = (k: keyof (typeof launch.samples)[number]) => launch.samples.map((s) => s[k]).filter(Number.isFinite);
  const total = col('total');
  const ok = (cond: boolean) => (cond ? 'met' : '**missed**');
  const oarRows = api.results.filter((r) => r.server === 'oarcloud') as any[];
  const motoRows = api.results.filter((r) => r.server === 'moto' && !r.error) as any[];
  const ratio = (workload: string, c: number) => {
    const a = oarRows.find((r) => r.records === 1000 && r.workload === workload && r.concurrency === c);
    const b = motoRows.find((r) => r.workload === workload && r.concurrency === c);
    return a && b ? a.rps / b.rps : NaN;
  };
  const ratios = motoRows.map((r) => ratio(r.workload, r.concurrency)).filter(Number.isFinite);
  const minRatio = ratios.length ? Math.min(...ratios) : NaN;
  const img1 = images.find((i) => i.mib === 1);
  const img100 = images.find((i) => i.mib === 100);
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (\`bin/oarcloud bench\`) on ${m.date}. Everything runs on one machine: the API server,`,
    'PostgreSQL, OAR, libvirtd, the containers and the load generator share its cores, so absolute numbers are modest;',
    'medians and ratios are what to compare. These machines are noisy: expect ±20 % between runs.',
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}. Node ${m.node}, OAR ${m.oar}, libvirt ${m.libvirt}, ${m.postgresql}, moto ${m.moto}.`,
    '',
    '## Targets',
    '',
    '| target | measured | |',
    '|---|---|---|',
    `| launch p50 ≤ 3 s | ${fmt(median(total))} | ${ok(median(total) <= 3000)} |`,
    `| launch p95 ≤ 5 s | ${fmt(percentile(total, 95))} | ${ok(percentile(total, 95) <= 5000)} |`,
    `| MaxCount=${launch.burst.n} t2.nano: call → all running ≤ 10 s | ${fmt(launch.burst.firstWaveAt)} | ${ok(launch.burst.firstWaveAt <= 10_000)} |`,
    `| DescribeInstances ≥ 10× moto's throughput | ${Number.isFinite(minRatio) ? `${minRatio.toFixed(1)}× (lowest ratio over all workloads and concurrencies)` : 'n/a'} | ${ok(minRatio >= 10)} |`,
    `| CreateImage of a 1 MB change ≤ 1 s | ${img1 ? fmt(median(img1.runs)) : 'n/a'} | ${ok(!!img1 && median(img1.runs) <= 1000)} |`,
    `| server RSS ≤ 150 MB with 10,000 instance records | ${Number.isFinite(api.rssAt10k) ? `${api.rssAt10k.toFixed(0)} MB` : 'n/a'} | ${ok(api.rssAt10k <= 150)} |`,
    '',
    `## Launch: RunInstances → running (${launch.n} sequential busybox t2.nano launches)`,
    '',
    '| part | p50 | p95 |',
    '|---|---|---|',
    `| RunInstances answered (API) | ${fmt(median(col('api')))} | ${fmt(percentile(col('api'), 95))} |`,
    `| OAR: submitted → job Running (OAR's log has 1 s resolution) | ${fmt(median(col('submitToRunning')))} | ${fmt(percentile(col('submitToRunning'), 95))} |`,
    `| OAR Running → container started and instance running | ${fmt(median(col('oarRunningToContainer')))} | ${fmt(percentile(col('oarRunningToContainer'), 95))} |`,
    `| **RunInstances → DescribeInstances says running** | **${fmt(median(total))}** | **${fmt(percentile(total, 95))}** |`,
    `| running → the address answers ping | ${fmt(median(col('network')))} | ${fmt(percentile(col('network'), 95))} |`,
    '',
    'The raw floor, measured in the same run:',
    '',
    '| floor | p50 | p95 |',
    '|---|---|---|',
    `| \`oarsub\` → Running alone (${launch.floorOar.length} jobs) | ${fmt(median(launch.floorOar))} | ${fmt(percentile(launch.floorOar, 95))} |`,
    `| \`virsh define\` + \`start\` alone (${launch.floorVirsh.length} containers) | ${fmt(median(launch.floorVirsh))} | ${fmt(percentile(launch.floorVirsh, 95))} |`,
    '',
    `Ratio launch p50 / (oarsub floor + virsh floor): ${(median(total) / (median(launch.floorOar) + median(launch.floorVirsh))).toFixed(2)}.`,
    '',
    `Burst: one RunInstances with MaxCount=${launch.burst.n} answered in ${fmt(launch.burst.api)}; this host has ${launch.burst.cores} OAR core resources, so`,
    `${launch.burst.firstWave} ran at once (all ${launch.burst.firstWave} running after ${fmt(launch.burst.firstWaveAt)}) and OAR queued the rest as \`pending\`. Terminating`,
    `each running wave as soon as it ran, every instance of the burst had run after ${fmt(launch.burst.ranAll)}.`,
    '',
    `## API: DescribeInstances (${api.seconds} s per cell, every request SigV4-signed by aws4)`,
    '',
    '| server | records | workload | concurrency | requests/s | p50 | p99 | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...(api.results as any[])
      .filter((r) => !r.error)
      .map((r) => `| ${r.server} | ${r.records} | ${r.workload} | ${r.concurrency} | ${r.rps.toFixed(0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} |`),
    ...(api.results as any[]).filter((r) => r.error).map((r) => `| ${r.server} | | failed to run: ${r.error} | | | | | |`),
    '',
    'Ratios OAR Cloud / moto at 1,000 records: ' +
      motoRows.map((r) => `${r.workload} c=${r.concurrency}: ${ratio(r.workload, r.concurrency).toFixed(1)}×`).join('; ') +
      '.',
    '',
    '## Admin dashboard: one snapshot (nodes from OAR, instances, accounts, images, keys, events, alarms)',
    '',
    '| instance records | p50 | p95 | size |',
    '|---|---|---|---|',
    ...api.snapshots.map((x) => `| ${x.records} | ${fmt(x.p50)} | ${fmt(x.p95)} | ${(x.bytes / 1024).toFixed(0)} KB |`),
    '',
    api.snapshots.length
      ? `The live feed reads one snapshot a second while a dashboard is open (however many are open): at ${api.snapshots.at(-1)!.records} records that is about ${(api.snapshots.at(-1)!.p50 / 10).toFixed(1)}% of one core's time (p50 ÷ 1 s).`
      : '',
    '',
    '## CreateImage (debian base, time from CreateImage to DescribeImages saying available)',
    '',
    '| changed bytes | runs | p50 | max |',
    '|---|---|---|---|',
    ...images.map((i) => `| ${i.mib} MB | ${i.runs.length} | ${fmt(median(i.runs))} | ${fmt(Math.max(...i.runs))} |`),
    '',
    img1 && img100
      ? `Capture time grows with the changed bytes (100 MB / 1 MB = ${(median(img100.runs) / median(img1.runs)).toFixed(1)}×), not with the image size: only the instance's own layer is copied.`
      : '',
    '',
    '## Memory',
    '',
    `Server RSS after the API runs with 10,000 instance records: ${Number.isFinite(api.rssAt10k) ? `${api.rssAt10k.toFixed(0)} MB` : 'n/a'}`,
    '(the server runs with `--max-semi-space-size=4`, set by `bin/oarcloud`).',
    '',
    ...missedNotes({
      launchP50: median(total),
      launchP95: percentile(total, 95),
      burst: launch.burst.firstWaveAt,
      minRatio,
      img1: img1 ? median(img1.runs) : NaN,
      rss: api.rssAt10k,
    }),
  ];
  return lines.join('\n');
}

/** For each missed target: why, from what the run measured, and what would fix it. */
function missedNotes(m: { launchP50: number; launchP95: number; burst: number; minRatio: number; img1: number; rss: number }): string[] {
  const notes: string[] = [];
  if (!(m.burst <= 10_000)) {
    notes.push(
      '- **Burst**: OAR spends CPU on every job it starts, and this machine has two cores. Measured on an idle machine: one job from',
      '  `oarsub` to Running costs ~2.4 CPU-seconds of OAR processes (bipbip, its ssh hops, the cpuset manager, oarexec, the',
      '  meta-scheduler, NodeChangeState); twenty array jobs submitted by one `oarsub --array 20` took 25 s and 49 CPU-seconds to all',
      '  run, twenty single submissions 30 s and 60 CPU-seconds. So one OAR job per instance cannot start twenty in 10 s here, and',
      '  array submission would save a fifth at most. What would fix it: jobs started before they are needed (the warm pool of',
      '  besteffort jobs in the fast-launch issue), or more cores.',
    );
  }
  if (!(m.launchP50 <= 3000) || !(m.launchP95 <= 5000)) {
    notes.push(
      "- **Launch**: compare the OAR part with the `oarsub` floor above. When the floor itself is over 3 s, OAR's scheduler is the cause",
      '  (a submission arriving while Almighty handles another event waits for its next pass); the reconciler already wakes Almighty',
      '  (`Qsub` on its port) right after each submission. What would fix the rest: keeping one pre-submitted job per instance type',
      '  ready to take the next instance.',
    );
  }
  if (!(m.minRatio >= 10)) {
    notes.push(
      '- **DescribeInstances vs moto**: the ratio is lowest for the by-id poll at concurrency 1. moto answers it with a Python dict',
      '  lookup; we verify the SigV4 signature, run one SQL query (rows and tags together) and encode XML, on the same two cores that',
      '  run PostgreSQL and the load generator, whose own signing and HTTP work are part of every measured latency. On pages of 100',
      '  we are two orders of magnitude faster, because moto filters and serialises in Python. What would raise the by-id ratio:',
      '  a load generator on another machine (half the CPU here is the client), prepared statements, and an XML encoder compiled',
      '  per output shape instead of walking the model for every response.',
    );
  }
  if (!(m.img1 <= 1000))
    notes.push('- **CreateImage**: the capture copies the instance layer with tar; a reflink-capable filesystem (XFS, btrfs) would make it a metadata copy.');
  if (!(m.rss <= 150)) {
    notes.push(
      '- **Memory**: the RSS is taken right after 64 concurrent clients fetched pages of 100 instances from 10,000 records: V8 keeps',
      '  the heap it grew for those responses. What would fix it: streaming the XML of large pages instead of building each response',
      '  in memory, and a lower `--max-old-space-size`.',
    );
  }
  return notes.length ? ['## Missed targets', '', ...notes, ''] : [];
}

async function benchLoad(quick: boolean): Promise<LoadResult> {
  const acct = await benchAccount('bench-load');
  const result = await mixedLoad(acct.ec2, 50, quick ? 5 : 60);
  const all = await acct.ec2.send(new DescribeInstancesCommand({}));
  const live = all
    .Reservations!.flatMap((r) => r.Instances!)
    .filter((i) => i.State!.Name !== 'terminated')
    .map((i) => i.InstanceId!);
  await terminate(acct.ec2, live);
  return result;
}

function loadReport(l: LoadResult): string[] {
  return [
    `## Load: ${l.clients} concurrent SDK clients for ${l.seconds} s (mixed Describe/Run/Terminate)`,
    '',
    `${l.requests} requests (${(l.requests / l.seconds).toFixed(0)}/s), ${l.serverErrors} server errors, ${l.launched.length} instances launched and all terminated afterwards.`,
    `Answers: ${Object.entries(l.status)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}.`,
    '',
    '| action | requests | p50 | p99 |',
    '|---|---|---|---|',
    ...Object.entries(l.byAction).map(([a, v]) => `| ${a} | ${v.count} | ${fmt(v.p50)} | ${fmt(v.p99)} |`),
    '',
  ];
}

function clusterReport(c: Awaited<ReturnType<typeof benchCluster>>): string[] {
  return [
    '',
    '## Cluster: three simulated nodes',
    '',
    `Three simulated nodes (namespaces on this machine, \`up --nodes\`'s code; see the README), each one core of slots, the`,
    `server's own node drained. They share this machine's two cores with OAR, the server and each other: the figures show`,
    'the cost of acting on other nodes (ssh, the agent, layer transfers), not more capacity.',
    '',
    '| measure | value |',
    '|---|---|',
    `| MaxCount=${c.n} t2.nano: RunInstances answered | ${fmt(c.api)} |`,
    `| MaxCount=${c.n} t2.nano: call → all running | ${fmt(c.allRunning)} (per node: ${c.perNode.join(' / ')}) |`,
    `| reconciler pass, ${c.pass.instances} running instances over ${c.pass.nodes} nodes: unsettled rows (SQL) | ${fmt(c.pass.rows)} |`,
    `| … their OAR jobs (one SQL query on OAR's database) | ${fmt(c.pass.jobs)} |`,
    `| … each node's containers (one libvirt list per node, in parallel, over ssh) | ${fmt(c.pass.lists)} |`,
    `| … the check of every instance (pure) | ${fmt(c.pass.check)} |`,
    `| **one pass in all** (p50 of 10) | **${fmt(c.pass.total)}** |`,
    '',
  ];
}

async function benchNetworkPart(quick: boolean) {
  const acct = await benchAccount('bench-network');
  try {
    const figures = await benchNetwork(config, acct.ec2, quick);
    return { figures, report: networkReport(figures).join('\n') };
  } finally {
    await dropBenchAccount(acct.accountId);
  }
}

async function benchLoadBalancerPart(quick: boolean) {
  const acct = await benchAccount('bench-lb');
  try {
    const elb = new ElasticLoadBalancingV2Client({ endpoint, region, credentials: acct, maxAttempts: 1 });
    const figures = await benchLoadBalancer(acct.ec2, elb, quick);
    return { figures, report: loadBalancerReport(figures).join('\n') };
  } finally {
    await dropBenchAccount(acct.accountId);
  }
}

async function benchMonitoringPart(quick: boolean) {
  const acct = await benchAccount('bench-monitoring');
  try {
    const figures = await withDb((db) => benchMonitoring({ db, accountId: acct.accountId, creds: acct, ec2: acct.ec2, endpoint, region }, quick));
    return { figures, report: monitoringReport(figures).join('\n') };
  } finally {
    await dropBenchAccount(acct.accountId);
  }
}

async function benchResizePart(quick: boolean, when = 'Measured by the full run.') {
  const acct = await benchAccount('bench-resize');
  try {
    const figures = await benchResize(acct.ec2, quick);
    return { figures, report: resizeReport(figures, when).join('\n') };
  } finally {
    await dropBenchAccount(acct.accountId);
  }
}

/** Runs only the named parts (launch, api, images, load, cluster, network, lb, monitoring, resize) and returns their figures; writes nothing. */
export async function runBenchParts(parts: string[], quick: boolean): Promise<Record<string, unknown>> {
  const all: Record<string, (quick: boolean) => Promise<unknown>> = {
    launch: benchLaunch,
    api: benchApi,
    images: benchImages,
    load: benchLoad,
    cluster: benchCluster,
    network: benchNetworkPart,
    lb: benchLoadBalancerPart,
    monitoring: benchMonitoringPart,
    resize: (q) => benchResizePart(q, `Measured by \`bin/oarcloud bench --only resize\` on ${new Date().toISOString().slice(0, 10)}.`),
  };
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    if (!all[part]) throw new Error(`no bench part '${part}' (${Object.keys(all).join(', ')})`);
    out[part] = await all[part](quick);
  }
  return out;
}

export async function runBench(opts: { quick: boolean; write: boolean }) {
  const m = machine();
  process.stderr.write('bench: launch...\n');
  const launch = await benchLaunch(opts.quick);
  process.stderr.write('bench: api...\n');
  const api = await benchApi(opts.quick);
  process.stderr.write('bench: images...\n');
  const images = await benchImages(opts.quick);
  process.stderr.write('bench: load...\n');
  const load = await benchLoad(opts.quick);
  process.stderr.write('bench: cluster...\n');
  const cluster = await benchCluster(opts.quick);
  process.stderr.write('bench: network...\n');
  const network = await benchNetworkPart(opts.quick);
  process.stderr.write('bench: load balancer...\n');
  const lb = await benchLoadBalancerPart(opts.quick);
  process.stderr.write('bench: monitoring...\n');
  const monitoring = await benchMonitoringPart(opts.quick);
  process.stderr.write('bench: resize...\n');
  const resize = await benchResizePart(opts.quick);
  const text =
    report(m, launch, api, images) +
    '\n' +
    loadReport(load).join('\n') +
    '\n' +
    clusterReport(cluster).join('\n') +
    '\n' +
    network.report +
    '\n' +
    lb.report +
    '\n' +
    monitoring.report +
    '\n' +
    resize.report;
  if (opts.write) writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), text);
  return {
    machine: m,
    launch,
    api,
    images,
    load,
    cluster,
    network: network.figures,
    lb: lb.figures,
    monitoring: monitoring.figures,
    resize: resize.figures,
    text,
  };
}
