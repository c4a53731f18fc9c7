/**
 * Faults of the services under a live server: libvirtd killed and restarted, PostgreSQL restarted, Almighty
 * stopped for a while. Instances keep their state, clients get retryable EC2 errors meanwhile, and service
 * resumes by itself once the dependency is back (provisioning, as `oarcloud up` runs it, restarts daemons).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { portOpen } from '../../src/adapters/net';
import { DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  describe1,
  dropAccount,
  execFileAsync,
  ping,
  execIn,
  IMAGES,
  newAccount,
  rawRequest,
  sleep,
  terminateAll,
  waitForStates,
  type TestAccount,
} from '../support/live';
import { provisionHost } from '../../src/cli/bootstrap';

describe('faults of the services (real)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('faults');
  });
  afterEach(async () => {
    provisionHost(true); // whatever a test broke is back
    await terminateAll(account);
  });
  after(() => dropAccount(account));

  it('libvirtd killed and restarted: running instances stay running and reachable, and are still managed', async () => {
    const id = (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }))).Instances![0].InstanceId!;
    const [inst] = await waitForStates(account.ec2, [id], ['running']);
    process.kill(Number(readFileSync('/run/libvirtd.pid', 'utf8')), 'SIGKILL');
    await sleep(3000); // several reconciler passes with libvirt unreachable
    expect((await describe1(account.ec2, id)).State?.Name).to.equal('running');
    expect(await ping(inst.PrivateIpAddress!)).to.equal(true);
    provisionHost(true);
    await sleep(1500);
    expect((await describe1(account.ec2, id)).State?.Name).to.equal('running');
    expect((await execIn(id, 'hostname')).trim()).to.equal(id);
  });

  it('PostgreSQL restarted: requests get a retryable 503 Unavailable meanwhile, then work again by themselves', async () => {
    const id = (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }))).Instances![0].InstanceId!;
    await waitForStates(account.ec2, [id], ['running']);
    await execFileAsync('pg_ctlcluster', ['15', 'main', 'stop', '-m', 'fast']);
    try {
      const down = await rawRequest({ Action: 'DescribeInstances' }, { creds: account });
      expect(down).to.include({ status: 503, code: 'Unavailable' });
    } finally {
      await execFileAsync('pg_ctlcluster', ['15', 'main', 'start']);
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await rawRequest({ Action: 'DescribeInstances' }, { creds: account })).status;
      if (status !== 200) await sleep(200);
    }
    expect(status).to.equal(200);
    provisionHost(true); // OAR's own daemons may have exited while their database was gone
    expect((await describe1(account.ec2, id)).State?.Name).to.equal('running');
  });

  it('Almighty stopped: a new instance stays pending with the reason, then runs once OAR is back', async () => {
    const pid = Number(readFileSync('/var/run/oar-server.pid', 'utf8'));
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && (await portOpen(6666)); i++) await sleep(100);
    expect(await portOpen(6666), 'Almighty stopped').to.equal(false);
    const id = (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }))).Instances![0].InstanceId!;
    await sleep(4000);
    const pending = await describe1(account.ec2, id);
    expect(pending.State?.Name).to.equal('pending');
    expect(pending.StateReason?.Message).to.match(/OAR/);
    provisionHost(true);
    await waitForStates(account.ec2, [id], ['running'], 60_000);
    const all = await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(all.Reservations).to.have.length(1);
  });
});
