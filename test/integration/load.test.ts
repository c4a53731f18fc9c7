/** 50 concurrent clients of mixed Describe/Run/Terminate: no 5xx, no instance lost, none leaked (leak check). */
import { expect } from 'chai';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { dropAccount, endpoint, newAccount, region, terminateAll, waitForStates, type TestAccount } from '../support/live';
import { mixedLoad } from '../../bench/load';

const SECONDS = Number(process.env.OARCLOUD_LOAD_SECONDS ?? 60);

describe(`load: 50 concurrent clients for ${SECONDS} s (real)`, function () {
  this.timeout((SECONDS + 480) * 1000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('load');
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  it('answers every request without a 5xx and loses no instance', async () => {
    // the SDK's own retries would hide server errors: one attempt per call
    const ec2 = new EC2Client({ endpoint, region, credentials: account, maxAttempts: 1 });
    const result = await mixedLoad(ec2, 50, SECONDS);
    console.log(
      `      ${result.requests} requests, ${(result.requests / SECONDS).toFixed(0)}/s, status ${JSON.stringify(result.status)}, ` +
        `actions ${JSON.stringify(Object.fromEntries(Object.entries(result.byAction).map(([a, v]) => [a, `${v.count} p50 ${v.p50.toFixed(0)} ms p99 ${v.p99.toFixed(0)} ms`])))}`,
    );
    expect(result.serverErrors, JSON.stringify(result.status)).to.equal(0);
    expect(result.launched.length).to.be.above(0);
    // every instance a client was given exists, and all of them terminate
    const seen = await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: result.launched }));
    expect(seen.Reservations!.flatMap((r) => r.Instances!).length).to.equal(result.launched.length);
    await terminateAll(account);
    // most of them run now (slots): OAR ends their jobs one after the other
    await waitForStates(account.ec2, result.launched, ['terminated'], 300_000);
  });
});
