/**
 * Administration against the live server and OAR: who may use the admin API, dashboard sessions, per-account
 * quotas enforced by RunInstances, and the `oarcloud node` commands checked against OAR's own `oarnodes`.
 */
import { expect } from 'chai';
import { DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  IMAGES,
  config,
  adminRequest,
  client,
  dropAccount,
  newAccount,
  oarcloud,
  oarnodes,
  terminateAll,
  waitForStates,
  withAdmin,
  type TestAccount,
} from '../support/live';

const ROUTES: [string, string, unknown?][] = [
  ['GET', '/snapshot'],
  ['GET', '/nodes'],
  ['GET', '/instances'],
  ['GET', '/accounts'],
  ['GET', '/images'],
  ['GET', '/events'],
  ['GET', '/stream'],
  ['POST', '/nodes', { host: '127.0.0.9', cores: 1, memoryMib: 512 }],
  ['POST', '/nodes/localhost/drain', { drain: true }],
  ['POST', '/nodes/localhost/state', { state: 'Absent' }],
  ['DELETE', '/nodes/localhost'],
  ['PUT', '/accounts/default/quota', { maxInstances: 0 }],
  ['POST', '/instances/i-0123456789abcdef0/terminate'],
  ['POST', '/instances/i-0123456789abcdef0/stop'],
  ['GET', '/keys'],
  ['POST', '/accounts', { name: 'not-made' }],
  ['DELETE', '/accounts/default'],
  ['POST', '/accounts/default/keys', { role: 'admin' }],
  ['POST', '/keys/AKIAAAAAAAAAAAAAAAAA/revoke'],
];

describe('admin API: who may use it', function () {
  let admin: TestAccount;
  let user: TestAccount;
  before(async () => {
    admin = await newAccount('admin', 'admin');
    user = await newAccount('plain');
  });
  after(async () => {
    await dropAccount(admin);
    await dropAccount(user);
  });

  it('answers 401 AuthFailure without credentials, on every route', async () => {
    for (const [method, path, body] of ROUTES) {
      const r = await adminRequest(method, path, { body });
      expect(r.status, `${method} ${path}`).to.equal(401);
      expect(r.json.error.code).to.equal('AuthFailure');
    }
  });

  it("refuses a plain user's key with 403 UnauthorizedOperation on every route, and changes nothing", async () => {
    for (const [method, path, body] of ROUTES) {
      const r = await adminRequest(method, path, { creds: user, body });
      expect(r.status, `${method} ${path}`).to.equal(403);
      expect(r.json.error.code).to.equal('UnauthorizedOperation');
    }
    const nodes = await oarnodes('localhost');
    expect(nodes.every((n) => n.state === 'Alive' && n.drain === 'NO')).to.equal(true);
    expect(await oarnodes('127.0.0.9')).to.have.length(0);
    expect(await withAdmin((a) => a.find('not-made'))).to.equal(undefined);
    const signIn = await adminRequest('POST', '/session', { body: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey } });
    expect(signIn.status).to.equal(403);
    expect(signIn.setCookie).to.equal(null);
  });

  it("accepts an admin's SigV4 only when scoped to the service oarcloud", async () => {
    const ok = await adminRequest('GET', '/nodes', { creds: admin });
    expect(ok.status).to.equal(200);
    expect(ok.json.nodes.map((n: any) => n.host)).to.include('localhost');
    const wrongScope = await adminRequest('GET', '/nodes', { creds: admin, service: 'ec2' });
    expect(wrongScope.status).to.equal(401);
    expect(wrongScope.json.error.code).to.equal('AuthFailure');
  });

  it('signs in with a cookie session, requires the dashboard header for changes, and signs out', async () => {
    const wrong = await adminRequest('POST', '/session', { body: { accessKeyId: admin.accessKeyId, secretAccessKey: 'x'.repeat(40) } });
    expect(wrong.status).to.equal(401);
    const r = await adminRequest('POST', '/session', { body: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey } });
    expect(r.status).to.equal(200);
    expect(r.setCookie)
      .to.match(/oarcloud_admin=[^;]+;.*httponly/i)
      .and.match(/samesite=strict/i);
    const cookie = r.setCookie!.split(';')[0];
    expect((await adminRequest('GET', '/session', { cookie })).json.account).to.equal(admin.name);
    // a cross-site form would carry the cookie but not the header
    const forged = await fetch(new URL('/_oarcloud/admin/api/nodes/localhost/drain', process.env.OARCLOUD_TEST_ENDPOINT), {
      method: 'POST',
      headers: { cookie, 'content-type': 'text/plain' },
      body: '{"drain":true}',
    });
    expect(forged.status).to.equal(403);
    expect((await oarnodes('localhost')).every((n) => n.drain === 'NO')).to.equal(true);
    await adminRequest('DELETE', '/session', { cookie });
    expect((await adminRequest('GET', '/snapshot', { cookie })).status).to.equal(401);
  });

  it('ends a session when its access key is revoked', async () => {
    const second = await withAdmin((a) => a.createKey(admin.name, 'second', 'admin'));
    const r = await adminRequest('POST', '/session', { body: { accessKeyId: second.accessKeyId, secretAccessKey: second.secretAccessKey } });
    const cookie = r.setCookie!.split(';')[0];
    expect((await adminRequest('GET', '/snapshot', { cookie })).status).to.equal(200);
    await withAdmin((a) => a.revokeKey(second.accessKeyId));
    expect((await adminRequest('GET', '/snapshot', { cookie })).status).to.equal(401);
  });

  it("terminates another account's protected instance; its owner sees why", async () => {
    const run = await user.ec2.send(
      new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 1, MaxCount: 1, DisableApiTermination: true }),
    );
    const id = run.Instances![0].InstanceId!;
    const r = await adminRequest('POST', `/instances/${id}/terminate`, { creds: admin });
    expect(r.status).to.equal(200);
    expect(r.json.instance.accountId).to.equal(user.accountId);
    const [done] = await waitForStates(user.ec2, [id], ['terminated'], 60_000);
    expect(done.StateReason?.Message).to.equal('Server.ScheduledStop: terminated by an administrator');
    const again = await adminRequest('POST', `/instances/${id}/terminate`, { creds: admin });
    expect(again.status).to.equal(409);
    expect(again.json.error.code).to.equal('IncorrectState');
    const unknown = await adminRequest('POST', '/instances/i-0123456789abcdef0/stop', { creds: admin });
    expect(unknown.status).to.equal(404);
  });

  it('creates an account and a key that works at once, revokes it, deletes the account', async () => {
    const name = `made-${Date.now().toString(36)}`;
    const made = await adminRequest('POST', '/accounts', { creds: admin, body: { name } });
    expect(made.status).to.equal(201);
    const key = (await adminRequest('POST', `/accounts/${name}/keys`, { creds: admin, body: { user: 'carol', role: 'user' } })).json.key;
    expect(key.accessKeyId).to.match(/^AKIA/);
    expect(key.secretAccessKey).to.have.length(40);
    const listed = (await adminRequest('GET', '/keys', { creds: admin })).json.keys.find((k: any) => k.accessKeyId === key.accessKeyId);
    expect(listed).to.include({ accountName: name, user: 'carol', role: 'user' });
    expect(listed).not.to.have.property('secretAccessKey');
    const ec2 = client(key);
    expect((await ec2.send(new DescribeInstancesCommand({}))).Reservations).to.deep.equal([]);
    expect((await adminRequest('POST', `/keys/${key.accessKeyId}/revoke`, { creds: admin })).status).to.equal(204);
    expect((await ec2.send(new DescribeInstancesCommand({})).catch((e) => e)).name).to.equal('AuthFailure');
    expect((await adminRequest('DELETE', `/accounts/${made.json.account.id}`, { creds: admin })).status).to.equal(204);
    expect(await withAdmin((a) => a.find(name))).to.equal(undefined);
  });

  it('answers bad input with EC2 error codes as JSON', async () => {
    const bad = async (method: string, path: string, body: unknown, status: number, code: string) => {
      const r = await adminRequest(method, path, { creds: admin, body });
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).to.equal(status);
      expect(r.json.error.code).to.equal(code);
    };
    await bad('PUT', '/accounts/default/quota', { maxInstances: -1 }, 400, 'InvalidParameterValue');
    await bad('PUT', '/accounts/default/quota', { maxCores: 'lots' }, 400, 'InvalidParameterValue');
    await bad('PUT', '/accounts/no-such-account/quota', { maxCores: 1 }, 404, 'NotFound');
    await bad('POST', '/nodes/no-such-node/drain', { drain: true }, 404, 'NotFound');
    await bad('POST', '/nodes/localhost/drain', { drain: 'yes' }, 400, 'InvalidParameterValue');
    await bad('POST', '/nodes/localhost/state', { state: 'Dead' }, 400, 'InvalidParameterValue');
    await bad('POST', '/nodes', { host: 'bad host!', cores: 1, memoryMib: 512 }, 400, 'InvalidParameterValue');
    await bad('POST', '/nodes', { host: '192.0.2.1', cores: 1, memoryMib: 512 }, 400, 'InvalidParameterValue');
    await bad('POST', '/nodes', { host: '127.0.0.9', cores: 0, memoryMib: 512 }, 400, 'InvalidParameterValue');
    await bad('POST', '/nodes', { host: 'localhost', cores: 1, memoryMib: 512 }, 409, 'IncorrectState');
    await bad('GET', '/no-such-route', undefined, 404, 'NotFound');
    await bad('POST', '/accounts', { name: 'bad name!' }, 400, 'InvalidParameterValue');
    await bad('POST', '/accounts', { name: admin.name }, 409, 'IncorrectState');
    await bad('DELETE', '/accounts/system', undefined, 409, 'IncorrectState');
    await bad('DELETE', '/accounts/no-such-account', undefined, 404, 'NotFound');
    await bad('POST', `/accounts/${admin.name}/keys`, { role: 'root' }, 400, 'InvalidParameterValue');
    await bad('POST', `/accounts/${admin.name}/keys`, { user: '../x' }, 400, 'InvalidParameterValue');
    await bad('POST', '/keys/AKIAAAAAAAAAAAAAAAAA/revoke', undefined, 404, 'NotFound');
    const notJson = await fetch(new URL('/_oarcloud/admin/api/session', process.env.OARCLOUD_TEST_ENDPOINT), { method: 'POST', body: '{nope' });
    expect(notJson.status).to.equal(400);
  });
});

describe('quotas: per-account limits enforced by RunInstances', function () {
  this.timeout(180_000);
  let account: TestAccount;
  let admin: TestAccount;
  before(async () => {
    account = await newAccount('quota');
    admin = await newAccount('admin', 'admin');
  });
  after(async () => {
    await dropAccount(account);
    await dropAccount(admin);
  });

  const run = (min: number, max = min) =>
    account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: min, MaxCount: max, InstanceType: 't2.nano' }));
  const quota = (body: unknown) => adminRequest('PUT', `/accounts/${account.accountId}/quota`, { creds: admin, body });

  it('limits the number of instances: MinCount over the limit fails, MaxCount is cut down to it', async () => {
    expect((await quota({ maxInstances: 2 })).json.limits.maxInstances).to.equal(2);
    const over = await run(3).catch((e) => e);
    expect(over.name).to.equal('InstanceLimitExceeded');
    expect(over.message).to.match(/2 more instance/);
    const cut = await run(1, 5);
    expect(cut.Instances).to.have.length(2);
    expect((await run(1).catch((e) => e)).name).to.equal('InstanceLimitExceeded');
    const shown = await adminRequest('GET', '/accounts', { creds: admin });
    const mine = shown.json.accounts.find((a: any) => a.id === account.accountId);
    expect(mine.usage.instances).to.equal(2);
    expect(mine.limits.maxInstances).to.equal(2);
  });

  it('limits cores, and concurrent launches cannot overshoot a limit', async () => {
    await quota({ maxInstances: null, maxCores: 2 });
    expect((await run(1).catch((e) => e)).name).to.equal('InstanceLimitExceeded'); // 2 cores held already
    await quota({ maxCores: 5 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => run(1)));
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(3);
    for (const r of results) if (r.status === 'rejected') expect(r.reason.name).to.equal('InstanceLimitExceeded');
    const viaCli = await oarcloud('quota', 'show', account.name);
    expect(viaCli.stdout).to.match(new RegExp(`${account.name}\\s+5\\s+64\\s+5\\s+5`));
  });

  it('frees the quota when instances terminate', async () => {
    await terminateAll(account);
    const again = await run(1, 5);
    expect(again.Instances).to.have.length(5);
    await terminateAll(account);
  });
});

describe('oarcloud node commands, checked in OAR', function () {
  this.timeout(120_000);
  const host = '127.0.0.3';
  after(async () => {
    if ((await oarnodes(host)).length) await oarcloud('node', 'remove', host, '--force');
  });

  it('adds a host with N cores and a memory size, lists it, drains, sets Absent/Alive and removes it', async () => {
    const add = await oarcloud('node', 'add', host, '--cores', '2', '--memory', '2048');
    expect(add.code, add.stderr).to.equal(0);
    // two cores of OARCLOUD_SLOTS_PER_CORE slots each, the memory shared out among them to the MiB
    let oar = await oarnodes(host);
    expect(oar).to.have.length(2 * config.slotsPerCore);
    expect(new Set(oar.map((r: any) => r.core)).size).to.equal(2);
    expect(oar.reduce((sum: number, r: any) => sum + Number(r.mem), 0)).to.equal(2048);
    const list = await oarcloud('node', 'list');
    expect(list.stdout).to.match(new RegExp(`${host.replace(/\./g, '\\.')}\\s+Alive\\s+no\\s+2\\s+0\\s+2\\s+2048`));

    expect((await oarcloud('node', 'drain', host)).code).to.equal(0);
    expect((await oarnodes(host)).every((r) => r.drain === 'YES')).to.equal(true);
    expect((await oarcloud('node', 'undrain', host)).code).to.equal(0);
    expect((await oarnodes(host)).every((r) => r.drain === 'NO')).to.equal(true);

    expect((await oarcloud('node', 'absent', host)).code).to.equal(0);
    expect((await oarnodes(host)).every((r) => r.state === 'Absent')).to.equal(true);
    const alarms = await oarcloud('alarms');
    expect(alarms.code, 'exit 1 (warnings) or 2 (critical)').to.be.at.least(1);
    expect(alarms.stdout).to.match(/warning\s+127\.0\.0\.3\s+127\.0\.0\.3 is Absent/);
    expect((await oarcloud('node', 'alive', host)).code).to.equal(0);
    expect((await oarnodes(host)).every((r) => r.state === 'Alive')).to.equal(true);

    const twice = await oarcloud('node', 'add', host, '--cores', '1', '--memory', '512');
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.match(/already exists/);

    expect((await oarcloud('node', 'remove', host)).code).to.equal(0);
    oar = await oarnodes(host);
    expect(oar).to.have.length(0);
    const events = await oarcloud('events', '--limit', '10');
    expect(events.stdout).to.match(/removed OAR node 127\.0\.0\.3/);
  });

  it('refuses a host that was never joined, and unknown hosts, with a clear message', async () => {
    const remote = await oarcloud('node', 'add', '192.0.2.10', '--cores', '1', '--memory', '512');
    expect(remote.code).to.equal(1);
    expect(remote.stderr).to.match(/is not a compute node yet/);
    expect(remote.stderr).to.include('Run: oarcloud node join root@192.0.2.10');
    expect(await oarnodes('192.0.2.10')).to.have.length(0);
    const unknown = await oarcloud('node', 'drain', 'no-such-node');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/no OAR node 'no-such-node'/);
  });

  it('refuses to set Absent a node whose instances OAR would end, unless forced', async () => {
    const account = await newAccount('absent');
    try {
      const out = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1, InstanceType: 't2.nano' }));
      const id = out.Instances![0].InstanceId!;
      const deadline = Date.now() + 60_000;
      let node: string | undefined;
      while (!node && Date.now() < deadline) {
        const list = await oarcloud('instance', 'list', '--account', account.name, '--state', 'running');
        node = new RegExp(`${id}\\s+\\S+\\s+running\\s+\\S+\\s+\\d+\\s+(\\S+)`).exec(list.stdout)?.[1];
      }
      expect(node, 'the instance runs and `instance list` shows its node').to.be.a('string');
      const refused = await oarcloud('node', 'absent', node!);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include(id);
      expect((await oarnodes(node!)).every((r) => r.state === 'Alive')).to.equal(true);

      // and the admin stops, then terminates it from the shell
      expect((await oarcloud('instance', 'stop', id)).code).to.equal(0);
      const [stopped] = await waitForStates(account.ec2, [id], ['stopped'], 60_000);
      expect(stopped.StateReason?.Message).to.equal('Server.ScheduledStop: stopped by an administrator');
      expect((await oarcloud('instance', 'terminate', id)).code).to.equal(0);
      await waitForStates(account.ec2, [id], ['terminated'], 60_000);
      const unknown = await oarcloud('instance', 'terminate', 'i-0123456789abcdef0');
      expect(unknown.stderr).to.match(/no instance 'i-0123456789abcdef0'/);
    } finally {
      await dropAccount(account);
    }
  });
});
