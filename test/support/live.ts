/**
 * Helpers for suites that run against the live server `oarcloud test` started: fresh accounts made through the
 * admin path, SDK clients pointed at the endpoint, raw signed requests, waits, and commands inside containers.
 */
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { Agent } from 'node:http';
import aws4 from 'aws4';
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  TerminateInstancesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  ModifyInstanceAttributeCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { loadConfig } from '../../src/config';
import { connect } from '../../src/adapters/db';
import { Accounts } from '../../src/domain/accounts';
import { SecretBox } from '../../src/domain/secrets';
import { systemImageId } from '../../src/domain/images';
import type { InstanceRow } from '../../src/domain/instances';
import { Libvirt } from '../../src/adapters/libvirt';
import { ComputeNodes } from '../../src/adapters/compute-node';
import { ImageStore } from '../../src/adapters/image-store';

export const execFileAsync = promisify(execFile);
export const config = loadConfig();
export const endpoint = process.env.OARCLOUD_TEST_ENDPOINT ?? `http://127.0.0.1:${config.port}`;
export const region = process.env.OARCLOUD_TEST_REGION ?? config.regions[0];
export const IMAGES = { busybox: systemImageId('busybox'), debian: systemImageId('debian'), debianCloud: systemImageId('debian-cloud') };

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}
export interface TestAccount extends Creds {
  accountId: string;
  name: string;
  ec2: EC2Client;
}

/**
 * An SDK client that never retries (tests see every error) and opens a connection per request: the compat tests
 * block the event loop while a CLI runs (spawnSync), so a kept-alive socket the server closed meanwhile (its 65 s
 * keep-alive timeout) would be reused before its close was read, and the one try would fail with "socket hang up".
 */
export function client(creds: Creds): EC2Client {
  return new EC2Client({ endpoint, region, credentials: creds, maxAttempts: 1, requestHandler: { httpAgent: new Agent({ keepAlive: false }) } });
}

/** An Elastic Load Balancing (v2) client for the same endpoint, as `client` is for EC2. */
export function elbClient(creds: Creds): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({
    endpoint,
    region,
    credentials: creds,
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  });
}

/** A CloudWatch client (JSON 1.0, as the JS SDK v3 speaks it) and an SNS client (Query), as `client` is for EC2. */
export function cloudwatchClient(creds: Creds): CloudWatchClient {
  return new CloudWatchClient({ endpoint, region, credentials: creds, maxAttempts: 1, requestHandler: { httpAgent: new Agent({ keepAlive: false }) } });
}
export function snsClient(creds: Creds): SNSClient {
  return new SNSClient({ endpoint, region, credentials: creds, maxAttempts: 1, requestHandler: { httpAgent: new Agent({ keepAlive: false }) } });
}
/** An EventBridge Scheduler client (REST-JSON), as `client` is for EC2. */
export function schedulerClient(creds: Creds): SchedulerClient {
  return new SchedulerClient({ endpoint, region, credentials: creds, maxAttempts: 1, requestHandler: { httpAgent: new Agent({ keepAlive: false }) } });
}

/** A VPC with one subnet whose main route table sends 0.0.0.0/0 to an attached internet gateway. */
export async function publicSubnet(ec2: EC2Client, vpcCidr: string, subnetCidr: string): Promise<{ vpc: string; subnet: string; igw: string }> {
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: vpcCidr }))).Vpc!.VpcId!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: subnetCidr }))).Subnet!.SubnetId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  const filters = [
    { Name: 'vpc-id', Values: [vpc] },
    { Name: 'association.main', Values: ['true'] },
  ];
  const main = (await ec2.send(new DescribeRouteTablesCommand({ Filters: filters }))).RouteTables![0].RouteTableId!;
  await ec2.send(new CreateRouteCommand({ RouteTableId: main, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
  return { vpc, subnet, igw };
}

/** The admin path: the same Accounts domain the `oarcloud account/key` commands use. */
export async function withAdmin<T>(fn: (accounts: Accounts) => Promise<T>): Promise<T> {
  const db = connect(config.databaseUrl, { min: 0, max: 1 });
  try {
    return await fn(new Accounts(db, SecretBox.fromFile(config.masterKeyFile, false)));
  } finally {
    await db.destroy();
  }
}

export async function newAccount(prefix = 'test', role: 'user' | 'admin' = 'user'): Promise<TestAccount> {
  const name = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  return withAdmin(async (accounts) => {
    await accounts.create(name);
    const key = await accounts.createKey(name, 'tester', role);
    return { name, accountId: key.accountId, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, ec2: client(key) };
  });
}

/** Terminates every instance of the account (clearing termination protection) and waits until all are terminated. */
export async function terminateAll(account: TestAccount | undefined): Promise<void> {
  if (!account) return;
  const all = await account.ec2.send(new DescribeInstancesCommand({}));
  const live = (all.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
  const ids = live.map((i) => i.InstanceId!);
  if (!ids.length) return;
  for (const id of ids) {
    // an instance that was shutting down may be terminated by now: nothing to clear then
    await account.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: false } })).catch((err) => {
      if (err?.name !== 'IncorrectInstanceState') throw err;
    });
  }
  await account.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  await waitForStates(account.ec2, ids, ['terminated'], 300_000); // OAR ends running jobs one after the other
}

/** Terminates every instance of the account, then deletes the account. */
export async function dropAccount(account: TestAccount | undefined): Promise<void> {
  if (!account) return;
  await terminateAll(account);
  await withAdmin((accounts) => accounts.delete(account.name));
}

/** Whether an address answers one ping within 2 s. */
export function ping(ip: string): Promise<boolean> {
  return execFileAsync('busybox', ['ping', '-c', '1', '-W', '2', ip]).then(
    () => true,
    () => false,
  );
}

/** Columns of an instance's row in the database (what the API does not show: its OAR job, flags). */
export async function instanceRow<K extends keyof InstanceRow>(instanceId: string, ...columns: K[]): Promise<Pick<InstanceRow, K>> {
  const db = connect(config.databaseUrl, { min: 0, max: 1 });
  try {
    return (await db('instances')
      .where('id', instanceId)
      .first(...columns)) as Pick<InstanceRow, K>;
  } finally {
    await db.destroy();
  }
}

/** The error a call fails with (the SDK's: `name` is the EC2 code); a call that succeeds fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    return e as { name: string; message: string };
  }
  throw new Error('the call succeeded');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function describe1(ec2: EC2Client, id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0].Instances![0];
}

/** Polls every 200 ms until every instance is in one of `states`; returns their last descriptions. */
export async function waitForStates(ec2: EC2Client, ids: string[], states: string[], timeoutMs = 30_000): Promise<Instance[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Instance[] = [];
  while (Date.now() < deadline) {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    last = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    if (last.length === ids.length && last.every((i) => states.includes(i.State!.Name!))) return last;
    await sleep(200);
  }
  throw new Error(
    `timed out waiting for ${states.join('|')}: ${last.map((i) => `${i.InstanceId}=${i.State?.Name} (${i.StateReason?.Message ?? ''})`).join(', ')}`,
  );
}

export const libvirt = new Libvirt(config.libvirtUri);
export const computeNodes = new ComputeNodes(libvirt, new ImageStore(config.dataDir), {
  ...config,
  gateway: `${config.subnetPrefix}.1`,
  subnet: `${config.subnetPrefix}.0/24`,
});

/** The OAR node an instance runs on (null before it ever ran), as the server recorded it. */
/** Polls an image until it is no longer pending (or the time is up); its last description. */
export async function waitForImage(ec2: EC2Client, imageId: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0];
    if (image.State !== 'pending' || Date.now() > deadline) return image;
    await sleep(200);
  }
}

export async function nodeOf(instanceId: string): Promise<string | null> {
  const db = connect(config.databaseUrl, { min: 0, max: 1 });
  try {
    return (await db('instances').where('id', instanceId).first('oar_node'))?.oar_node ?? null;
  } finally {
    await db.destroy();
  }
}

/** Runs a shell command inside the container, as its root, on whichever node it runs (nsenter there). */
export async function execIn(instanceId: string, command: string): Promise<string> {
  return computeNodes.get(await nodeOf(instanceId)).exec(instanceId, command);
}

/** A raw EC2 Query request, signed with aws4 (or not), for cases the SDKs refuse to send. */
export async function rawRequest(
  params: Record<string, string>,
  opts: { creds?: Creds; region?: string; service?: string; amzDate?: string; mutateBody?: (b: string) => string; method?: 'GET' | 'POST' } = {},
): Promise<{ status: number; body: string; code?: string }> {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Version: '2016-11-15', ...params }).toString();
  let headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  if (opts.creds) {
    if (opts.amzDate) headers['X-Amz-Date'] = opts.amzDate;
    const signed = aws4.sign(
      { host: url.host, method: 'POST', path: '/', body, service: opts.service ?? 'ec2', region: opts.region ?? region, headers },
      opts.creds,
    );
    headers = Object.fromEntries(Object.entries(signed.headers ?? {}).map(([k, v]) => [k, String(v)]));
    delete headers['Content-Length'];
  }
  const res = await fetch(endpoint, { method: 'POST', headers, body: opts.mutateBody ? opts.mutateBody(body) : body });
  const text = await res.text();
  return { status: res.status, body: text, code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1] };
}

/**
 * A request to the admin JSON API: signed with SigV4 for the service "oarcloud" when `creds` is given, or carrying
 * a session cookie (and the header the dashboard's scripts send with every change).
 */
export async function adminRequest(
  method: string,
  path: string,
  opts: { creds?: Creds; service?: string; cookie?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any; setCookie: string | null }> {
  const url = new URL(`/_oarcloud/admin/api${path}`, endpoint);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  let headers: Record<string, string> = { ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  if (opts.cookie) headers = { ...headers, cookie: opts.cookie, 'x-oarcloud-admin': '1' };
  if (opts.creds) {
    const signed = aws4.sign(
      { host: url.host, method, path: url.pathname + url.search, body, service: opts.service ?? 'oarcloud', region, headers },
      opts.creds,
    );
    headers = Object.fromEntries(Object.entries(signed.headers ?? {}).map(([k, v]) => [k, String(v)]));
    delete headers['Content-Length'];
  }
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, setCookie: res.headers.get('set-cookie') };
}

/** Runs the `oarcloud` command (the built CLI) and returns its exit code and output. */
export async function oarcloud(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return oarcloudWith({}, ...args);
}

/** `oarcloud` with more in its environment (a user's AWS_* credentials, as the aws CLI takes them). */
export async function oarcloudWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
  return execFileAsync(process.execPath, [cli, ...args], { timeout: 60_000, env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err) => ({ code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
}

/** OAR's own view of a node's resources (oarnodes -J), to check a change really reached OAR. */
export async function oarnodes(host: string): Promise<{ state: string; drain: string }[]> {
  const { stdout } = await execFileAsync('oarnodes', ['-J', '--sql', `network_address = '${host.replace(/'/g, '')}'`]);
  return Object.values(JSON.parse(stdout || '{}')) as { state: string; drain: string }[];
}
