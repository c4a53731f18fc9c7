/**
 * Network isolation between accounts on the shared bridge (their default VPCs), with real containers: an instance
 * reaches the other instances of its account (its default security group) and the gateway, never another
 * account's, not even by taking another address (port security).
 */
import { expect } from 'chai';
import { DescribeSecurityGroupsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { dropAccount, execIn, IMAGES, newAccount, oarcloud, oarnodes, waitForStates, type TestAccount } from '../support/live';

/** Whether `from` gets an answer to one ping of `to` (optionally from a given source address). */
async function reaches(from: string, to: string, source?: string): Promise<boolean> {
  const out = await execIn(from, `ping -c 1 -W 2 ${source ? `-I ${source} ` : ''}${to} >/dev/null 2>&1 && echo yes || echo no`);
  return out.trim() === 'yes';
}

describe('network isolation between accounts (real)', function () {
  this.timeout(180_000);
  // three instances run at once: a second OAR node (an address of this machine) gives the cores
  const extraNode = '127.0.0.5';
  let a: TestAccount;
  let b: TestAccount;
  const ip: Record<string, string> = {};
  let a1: string, a2: string, b1: string;

  before(async () => {
    if ((await oarnodes(extraNode)).length === 0) {
      const added = await oarcloud('node', 'add', extraNode, '--cores', '2', '--memory', '2048');
      if (added.code !== 0) throw new Error(added.stderr);
    }
    a = await newAccount('net-a');
    b = await newAccount('net-b');
    const launch = async (account: TestAccount, count: number) =>
      (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: count, MaxCount: count }))).Instances!.map(
        (i) => i.InstanceId!,
      );
    [a1, a2] = await launch(a, 2);
    [b1] = await launch(b, 1);
    for (const [account, ids] of [
      [a, [a1, a2]],
      [b, [b1]],
    ] as const) {
      for (const i of await waitForStates(account.ec2, [...ids], ['running'], 90_000)) ip[i.InstanceId!] = i.PrivateIpAddress!;
    }
  });
  after(async () => {
    await dropAccount(a);
    await dropAccount(b);
    if ((await oarnodes(extraNode)).length) await oarcloud('node', 'remove', extraNode, '--force');
  });

  it('lets instances of one account reach each other and the gateway', async () => {
    expect(await reaches(a1, ip[a2])).to.equal(true);
    expect(await reaches(a2, ip[a1])).to.equal(true);
    expect(await reaches(b1, '10.77.0.1')).to.equal(true);
  });

  it("never lets an instance reach another account's, either way", async () => {
    expect(await reaches(b1, ip[a1])).to.equal(false);
    expect(await reaches(a1, ip[b1])).to.equal(false);
    expect(await reaches(a2, ip[b1])).to.equal(false);
  });

  it("does not let root inside take another account's address to get through", async () => {
    // root in the container may add any address to its interface; frames from its port keep its own rules
    await execIn(b1, `ip addr add ${ip[a2]}/24 dev eth0`);
    expect(await reaches(b1, ip[a1], ip[a2])).to.equal(false);
    await execIn(b1, `ip addr del ${ip[a2]}/24 dev eth0`);
  });

  it('describes the default security group as what isolates accounts: all traffic from its own members only', async () => {
    const [group] = (await a.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }))).SecurityGroups!;
    expect(group.IpPermissions).to.have.length(1);
    expect(group.IpPermissions![0]).to.include({ IpProtocol: '-1' });
    expect(group.IpPermissions![0].UserIdGroupPairs!.map((p) => p.GroupId)).to.deep.equal([group.GroupId]);
    expect(group.IpPermissions![0].IpRanges).to.deep.equal([]);
  });
});
