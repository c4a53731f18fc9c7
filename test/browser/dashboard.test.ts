/**
 * The admin dashboard in headless Chromium (Debian's, driven by playwright-core): an admin signs in, launches an
 * instance with the aws CLI and watches it become running, adds a node, drains it and removes it from the page,
 * each change checked in OAR itself with `oarnodes`, charts the load and manages admin notifications, then terminates
 * the instance from the page. The page must load nothing but its own server's files.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { IMAGES, config, dropAccount, endpoint, execFileAsync, newAccount, oarcloud, oarnodes, type TestAccount } from '../support/live';
import { clientEnv } from '../../compat-tests/support';

const CHROMIUM = process.env.OARCLOUD_CHROMIUM ?? '/usr/bin/chromium';
// Chromium's own background traffic is refused on this closed network; these flags keep it quiet
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
const NODE = '127.0.0.4';
const SCREENSHOT = path.join(tmpdir(), 'oarcloud-dashboard.png');

describe('dashboard in headless Chromium', function () {
  this.timeout(240_000);
  let browser: Browser;
  let page: Page;
  let admin: TestAccount;
  let user: TestAccount;
  const requested: string[] = [];
  const pageErrors: string[] = [];

  const aws = async (...args: string[]) => {
    const { stdout } = await execFileAsync('aws', ['ec2', ...args, '--output', 'json'], { env: clientEnv(user) });
    return JSON.parse(stdout || '{}');
  };

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: docker/provision.sh installs Debian's chromium`);
    admin = await newAccount('dash-admin', 'admin');
    user = await newAccount('dash-user');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }); // playwright gives it a fresh profile
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // the dashboard's confirmations are <dialog>s; a native one would mean a bug, and would block the test
    page.on('dialog', (d) => void d.dismiss());
  });

  after(async () => {
    await browser?.close();
    if ((await oarnodes(NODE)).length) await oarcloud('node', 'remove', NODE, '--force');
    await dropAccount(user);
    await dropAccount(admin);
  });

  it('refuses a wrong secret and signs an admin in', async () => {
    await page.goto(`${endpoint}/_oarcloud/admin/`);
    await page.locator('#signin-form').waitFor();
    await page.fill('#signin-key', admin.accessKeyId);
    await page.fill('#signin-secret', 'not-the-secret');
    await page.click('#signin-submit');
    await page.locator('#signin-error', { hasText: 'wrong' }).waitFor({ timeout: 5000 });
    await page.fill('#signin-secret', admin.secretAccessKey);
    await page.click('#signin-submit');
    await page.locator('#app').waitFor();
    expect(await page.locator('#who').textContent()).to.contain(admin.name);
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 5000 });
    await page.locator('[data-node="localhost"]').waitFor();
  });

  it('shows an instance launched with the aws CLI become running, with its node', async () => {
    const out = await aws(
      'run-instances',
      '--image-id',
      IMAGES.busybox,
      '--instance-type',
      't2.nano',
      '--count',
      '1',
      '--tag-specifications',
      'ResourceType=instance,Tags=[{Key=Name,Value=from-the-cli}]',
    );
    const id: string = out.Instances[0].InstanceId;
    const row = page.locator(`tr[data-instance-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await row.locator('[data-testid="state"][data-state="running"]').waitFor({ timeout: 90_000 });
    const text = await row.textContent();
    expect(text).to.contain(user.name).and.contain('from-the-cli').and.contain('t2.nano');
    const described = await aws('describe-instances', '--instance-ids', id);
    expect(described.Reservations[0].Instances[0].State.Name).to.equal('running');
    expect(text).to.contain(described.Reservations[0].Instances[0].PrivateIpAddress);
    // the user's default VPC is listed with its default group and what it allows
    const vpc = page.locator('#vpcs tr', { hasText: described.Reservations[0].Instances[0].VpcId });
    await vpc.waitFor({ timeout: 5000 });
    expect(await vpc.textContent())
      .to.contain(user.name)
      .and.contain('default (1): in all from default; out all to 0.0.0.0/0');
  });

  it("lists a VPC's load balancer made with the aws CLI, with its type, scheme and listener", async () => {
    const vpc = (await aws('create-vpc', '--cidr-block', '10.88.0.0/16')).Vpc.VpcId;
    const subnet = (await aws('create-subnet', '--vpc-id', vpc, '--cidr-block', '10.88.1.0/24')).Subnet.SubnetId;
    const elb = async (...args: string[]) =>
      JSON.parse((await execFileAsync('aws', ['elbv2', ...args, '--output', 'json'], { env: clientEnv(user) })).stdout || '{}');
    const group = (await elb('create-target-group', '--name', 'dash', '--protocol', 'TCP', '--port', '80', '--vpc-id', vpc)).TargetGroups[0].TargetGroupArn;
    const lb = (await elb('create-load-balancer', '--name', 'dash-lb', '--type', 'network', '--scheme', 'internal', '--subnets', subnet)).LoadBalancers[0];
    await elb(
      'create-listener',
      '--load-balancer-arn',
      lb.LoadBalancerArn,
      '--protocol',
      'TCP',
      '--port',
      '9000',
      '--default-actions',
      `Type=forward,TargetGroupArn=${group}`,
    );
    const row = page.locator('#vpcs tr', { hasText: vpc });
    await row.locator('text=dash-lb').waitFor({ timeout: 10_000 });
    await row.locator('text=TCP:9000').waitFor({ timeout: 5000 });
    expect(await row.textContent())
      .to.contain('network, internal')
      .and.contain(lb.AvailabilityZones[0].LoadBalancerAddresses[0].PrivateIPv4Address);
    await elb('delete-load-balancer', '--load-balancer-arn', lb.LoadBalancerArn);
    await elb('delete-target-group', '--target-group-arn', group);
  });

  it("charts the nodes' and the running instance's CPU and network (uPlot, served by the server itself)", async () => {
    const [id] = (await aws('describe-instances')).Reservations.flatMap((r: any) => r.Instances.map((i: any) => i.InstanceId));
    // per node: a line for localhost once the collector has measured the instance twice (10 s apart)
    await page.locator('#chart-cpu canvas').waitFor({ timeout: 40_000 });
    await page.locator('#chart-cpu .u-legend', { hasText: 'localhost' }).waitFor({ timeout: 40_000 });
    await page.locator('#chart-net canvas').waitFor();
    await page.selectOption('#chart-subject', id);
    await page.locator('#cpu-caption', { hasText: '% of its vCPUs' }).waitFor({ timeout: 15_000 });
    await page.locator('#chart-cpu .u-legend', { hasText: id }).waitFor({ timeout: 15_000 });
    await page.locator('#chart-net .u-legend', { hasText: 'out' }).waitFor();
    await page.selectOption('#chart-subject', '');
  });

  it('sends the alarms to an e-mail address added from the page, and stops after its removal', async () => {
    await page.fill('#add-notify input[name="endpoint"]', 'dash-admin@example.test');
    await page.click('#add-notify button[type="submit"]');
    const row = page.locator('#notify tr[data-endpoint="dash-admin@example.test"]');
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).to.contain('email');
    expect((await oarcloud('notify', 'show')).stdout).to.contain('dash-admin@example.test');
    await row.locator('button[data-action="remove"]').click();
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.click('#confirm-ok');
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    expect((await oarcloud('notify', 'show')).stdout).not.to.contain('dash-admin@example.test');
  });

  it('adds a node from the page and OAR has it', async () => {
    await page.fill('#add-node input[name="host"]', NODE);
    await page.fill('#add-node input[name="cores"]', '2');
    await page.fill('#add-node input[name="memoryMib"]', '2048');
    await page.click('#add-node button[type="submit"]');
    await page.locator(`[data-node="${NODE}"]`).waitFor({ timeout: 20_000 });
    // the node shows as soon as its first slot exists: wait until the page counts all of them
    const slots = 2 * config.slotsPerCore;
    await page.locator(`[data-node="${NODE}"] [data-testid="slots"]`, { hasText: `/${slots} slots` }).waitFor({ timeout: 60_000 });
    const oar = await oarnodes(NODE);
    expect(oar).to.have.length(slots); // two cores of OARCLOUD_SLOTS_PER_CORE slots
    expect(oar.every((r) => r.state === 'Alive')).to.equal(true);
  });

  it('drains the node from the page: OAR marks its resources drained, and the page shows it', async () => {
    await page.click(`[data-node="${NODE}"] button[data-action="drain"]`);
    await page.locator(`[data-node="${NODE}"] [data-testid="drained"]`).waitFor({ timeout: 10_000 });
    expect((await oarnodes(NODE)).every((r) => r.drain === 'YES')).to.equal(true);
    await page.locator('#events', { hasText: `drained ${NODE}` }).waitFor({ timeout: 5000 });
    // and back
    await page.click(`[data-node="${NODE}"] button[data-action="drain"]`);
    await page.locator(`[data-node="${NODE}"] [data-testid="drained"]`).waitFor({ state: 'detached', timeout: 10_000 });
    expect((await oarnodes(NODE)).every((r) => r.drain === 'NO')).to.equal(true);
  });

  it('sees a change made in OAR by someone else within two seconds', async () => {
    const started = Date.now();
    await execFileAsync('oarnodesetting', ['-h', NODE, '-d', 'on']);
    await page.locator(`[data-node="${NODE}"] [data-testid="drained"]`).waitFor({ timeout: 4000 });
    const seenAfter = Date.now() - started;
    expect(seenAfter, 'the page follows OAR live').to.be.below(3000);
  });

  it('raises an alarm when a node leaves, and clears it when it is back', async () => {
    await execFileAsync('oarnodesetting', ['-h', NODE, '-s', 'Absent', '-n']);
    const alarm = page.locator(`#alarms .alarm[data-subject="${NODE}"]`);
    await alarm.waitFor({ timeout: 5000 });
    expect(await alarm.textContent()).to.contain(`${NODE} is Absent`);
    await page.click(`[data-node="${NODE}"] button[data-action="state"]`); // "Set Alive"
    await alarm.waitFor({ state: 'detached', timeout: 10_000 });
    expect((await oarnodes(NODE)).every((r) => r.state === 'Alive')).to.equal(true);
  });

  it('removes the node after a confirmation, and OAR no longer has it', async () => {
    await page.click(`[data-node="${NODE}"] button[data-action="remove"]`);
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.click('#confirm-ok');
    await page.locator(`[data-node="${NODE}"]`).waitFor({ state: 'detached', timeout: 30_000 });
    expect(await oarnodes(NODE)).to.have.length(0);
  });

  it('terminates the instance from the page; its owner sees why', async () => {
    const [id] = (await aws('describe-instances')).Reservations.flatMap((r: any) => r.Instances.map((i: any) => i.InstanceId));
    await page.click(`tr[data-instance-id="${id}"] button[data-action="terminate"]`);
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.click('#confirm-ok');
    await page.click('#state-filter button[data-state=""]');
    await page.locator('#state-filter button[data-state=""][aria-pressed="true"]').waitFor();
    await page.locator(`tr[data-instance-id="${id}"] [data-state="terminated"]`).waitFor({ timeout: 60_000 });
    const seen = (await aws('describe-instances', '--instance-ids', id)).Reservations[0].Instances[0];
    expect(seen.State.Name).to.equal('terminated');
    expect(seen.StateReason.Message).to.equal('Server.ScheduledStop: terminated by an administrator');
  });

  it('creates an account and a key for it; the key works with the aws CLI until revoked from the page', async () => {
    const name = `page-${Date.now().toString(36)}`;
    await page.fill('#add-account input[name="accountName"]', name);
    await page.click('#add-account button[type="submit"]');
    const row = page.locator('#accounts tr', { hasText: name });
    await row.waitFor({ timeout: 10_000 });
    await row.locator('button[data-action="key"]').click();
    await page.fill('#key-form input[name="user"]', 'dana');
    await page.click('#key-form button[value="create"]');
    await page.locator('#secret-dialog[open]').waitFor();
    const creds = { accessKeyId: (await page.textContent('#new-key-id'))!, secretAccessKey: (await page.textContent('#new-key-secret'))! };
    await page.click('#secret-close');
    const asNew = (args: string[]) => execFileAsync('aws', ['ec2', ...args, '--output', 'json'], { env: clientEnv(creds) });
    expect(JSON.parse((await asNew(['describe-instances'])).stdout).Reservations).to.deep.equal([]);
    await page.click(`#keys tr[data-key="${creds.accessKeyId}"] button[data-action="revoke"]`);
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.click('#confirm-ok');
    await page.locator(`#keys tr[data-key="${creds.accessKeyId}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    const refused = await asNew(['describe-instances']).catch((e) => e);
    expect(String(refused.stderr)).to.contain('AuthFailure');
    await row.locator('button[data-action="delete"]').click();
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.click('#confirm-ok');
    await row.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('loaded nothing from elsewhere, raised no script error, and signs out', async () => {
    const origin = new URL(endpoint).origin;
    expect(requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).to.deep.equal([]);
    expect(pageErrors).to.deep.equal([]);
    await page.screenshot({ path: SCREENSHOT, fullPage: true }); // for a human to look at
    await page.click('#signout');
    await page.locator('#signin-form').waitFor();
    const after = await page.evaluate(() => fetch('/_oarcloud/admin/api/snapshot').then((r) => r.status));
    expect(after).to.equal(401);
  });
});
