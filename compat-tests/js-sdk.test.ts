/** @aws-sdk/client-ec2 v3 with its waiters, against real instances. */
import { expect } from 'chai';
import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { dropAccount, terminateAll, IMAGES, newAccount, type TestAccount } from '../test/support/live';

describe('compat: AWS SDK for JavaScript v3 (real instances)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('jssdk');
  });
  afterEach(() => terminateAll(account));
  after(() => dropAccount(account));

  it('RunInstances, waitUntilInstanceRunning, TerminateInstances, waitUntilInstanceTerminated', async () => {
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 2, MaxCount: 2 }));
    const InstanceIds = run.Instances!.map((i) => i.InstanceId!);
    const running = await waitUntilInstanceRunning({ client: account.ec2, maxWaitTime: 120, minDelay: 1, maxDelay: 2 }, { InstanceIds });
    expect(running.state).to.equal('SUCCESS');
    const described = await account.ec2.send(new DescribeInstancesCommand({ InstanceIds }));
    expect(described.Reservations![0].Instances!.map((i) => i.State!.Name)).to.deep.equal(['running', 'running']);
    await account.ec2.send(new TerminateInstancesCommand({ InstanceIds }));
    const terminated = await waitUntilInstanceTerminated({ client: account.ec2, maxWaitTime: 120, minDelay: 1, maxDelay: 2 }, { InstanceIds });
    expect(terminated.state).to.equal('SUCCESS');
  });
});
