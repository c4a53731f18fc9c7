/**
 * The server SIGKILLed in the middle of RunInstances (MaxCount=5) and of TerminateInstances, at several moments;
 * the client retries with the same ClientToken as the SDKs do. Exactly five instances exist afterwards, each ends
 * in the state asked for, and (the suite's leak check) no OAR job, container, overlay or address is left over.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { config, dropAccount, IMAGES, newAccount, sleep, terminateAll, waitForStates, type TestAccount } from '../support/live';
import { serverHealthy, startServerInBackground } from '../../src/cli/bootstrap';
import { Oar } from '../../src/adapters/oar';

async function killServerAfter(ms: number): Promise<void> {
  await sleep(ms);
  try {
    process.kill(Number(readFileSync(config.pidFile, 'utf8')), 'SIGKILL');
  } catch {
    // already gone
  }
  for (let i = 0; i < 50 && (await serverHealthy(config)); i++) await sleep(50);
}

/** Sends until the server answers: the request may have been lost with the server, or answered before it died. */
async function retry<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (err: any) {
      if (attempt > 40 || err?.$metadata?.httpStatusCode < 500) throw err;
      await startServerInBackground(config, true).catch(() => undefined);
      await sleep(250);
    }
  }
}

describe('crash and restart (real)', function () {
  this.timeout(600_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('crash');
  });
  afterEach(async () => {
    await startServerInBackground(config, true);
    await terminateAll(account);
  });
  after(() => dropAccount(account));

  for (const delay of [0, 3, 8, 20]) {
    it(`SIGKILL ${delay} ms into RunInstances MaxCount=5, then the same ClientToken: exactly 5 instances, all terminate cleanly`, async () => {
      const token = `crash-${delay}-${Date.now()}`;
      const params = { ImageId: IMAGES.busybox, InstanceType: 't2.nano' as const, MinCount: 5, MaxCount: 5, ClientToken: token };
      const first = account.ec2.send(new RunInstancesCommand(params)).catch((e) => e);
      await killServerAfter(delay);
      await first;
      await startServerInBackground(config, true);
      const run = await retry(() => account.ec2.send(new RunInstancesCommand(params)));
      const ids = run.Instances!.map((i) => i.InstanceId!);
      expect(ids).to.have.length(5);
      const byToken = await account.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] }));
      expect(
        byToken
          .Reservations!.flatMap((r) => r.Instances!)
          .map((i) => i.InstanceId)
          .sort(),
      ).to.deep.equal([...ids].sort());
      await waitForStates(account.ec2, ids, ['pending', 'running']);
      await account.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
      await waitForStates(account.ec2, ids, ['terminated'], 60_000);
      const oar = new Oar(config);
      const left = (await oar.activeJobs()).filter((j) => ids.includes(j.name ?? ''));
      await oar.close();
      expect(left).to.deep.equal([]);
    });
  }

  it('SIGKILL during TerminateInstances: the retried call finishes the job and nothing is left', async () => {
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 2, MaxCount: 2 }));
    const ids = run.Instances!.map((i) => i.InstanceId!);
    await waitForStates(account.ec2, ids, ['running']);
    const first = account.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })).catch((e) => e);
    await killServerAfter(2);
    await first;
    await startServerInBackground(config, true);
    await retry(() => account.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })));
    await waitForStates(account.ec2, ids, ['terminated'], 60_000);
  });
});
