/**
 * Issue 20, read-after-write: once a state-changing call has answered, no later DescribeInstances shows an earlier
 * state than the one it answered, and the state never steps back. Four clients poll as fast as they can while the
 * real reconciler stops, starts and terminates a real container.
 */
import { expect } from 'chai';
import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { dropAccount, IMAGES, newAccount, terminateAll, waitForStates, type TestAccount } from '../support/live';

const POLLERS = 4;

/**
 * Runs `call`, then polls until `path`'s last state: each poller's observations must walk `path` forwards from the
 * state the call answered. Returns every poller's observations (for the failure message and the count).
 */
async function watchForward(ec2: EC2Client, id: string, call: () => Promise<string>, path: string[]): Promise<string[][]> {
  const answered = await call();
  expect(path, `the call answered ${answered}`).to.include(answered);
  const final = path[path.length - 1];
  const deadline = Date.now() + 60_000;
  const poll = async () => {
    const seen: string[] = [];
    while (seen[seen.length - 1] !== final && Date.now() < deadline) {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      seen.push(out.Reservations![0].Instances![0].State!.Name!);
    }
    return seen;
  };
  const runs = await Promise.all(Array.from({ length: POLLERS }, poll));
  for (const seen of runs) {
    let at = path.indexOf(answered);
    for (const state of seen) {
      const next = path.indexOf(state);
      expect(next, `after the call answered ${answered}, a poller saw ${seen.join(' → ')}`).to.be.at.least(at);
      at = next;
    }
    expect(seen[seen.length - 1]).to.equal(final);
  }
  return runs;
}

describe('Read-after-write instance states (real)', function () {
  this.timeout(240_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('consistency');
  });
  afterEach(() => terminateAll(account));
  after(() => dropAccount(account));

  it('stop, start and terminate never show an earlier state than the call answered, under concurrent polling', async () => {
    const ec2 = account.ec2;
    const run = await ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0].InstanceId!;
    const launched = await watchForward(ec2, id, async () => run.Instances![0].State!.Name!, ['pending', 'running']);

    const stopped = await watchForward(
      ec2,
      id,
      async () => (await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }))).StoppingInstances![0].CurrentState!.Name!,
      ['stopping', 'stopped'],
    );
    const started = await watchForward(
      ec2,
      id,
      async () => (await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }))).StartingInstances![0].CurrentState!.Name!,
      ['pending', 'running'],
    );
    // a stop right after a start, then a termination while it stops: each answer holds from then on
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    const terminated = await watchForward(
      ec2,
      id,
      async () => (await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))).TerminatingInstances![0].CurrentState!.Name!,
      ['shutting-down', 'terminated'],
    );
    const reads = [launched, stopped, started, terminated].flat(2).length;
    expect(reads, 'the pollers really overlapped the transitions').to.be.greaterThan(8 * POLLERS);
  });

  it('a start right after a launch and a stop of a pending instance move forward only', async () => {
    const ec2 = account.ec2;
    const run = await ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0].InstanceId!;
    // stopped while OAR still schedules it: stopping, then stopped, never running in between
    await watchForward(ec2, id, async () => (await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }))).StoppingInstances![0].CurrentState!.Name!, [
      'stopping',
      'stopped',
    ]);
    await watchForward(ec2, id, async () => (await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }))).StartingInstances![0].CurrentState!.Name!, [
      'pending',
      'running',
    ]);
    const [running] = await waitForStates(ec2, [id], ['running']);
    expect(running.State!.Name).to.equal('running');
  });
});
