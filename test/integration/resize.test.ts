/**
 * Issue 17, live resize: ModifyInstanceAttribute InstanceType on a running instance moves its container onto an OAR
 * job of the new size on the same node without a restart; OAR's accounting follows; a resize that does not fit, or a
 * shrink below the memory in use, changes nothing.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeInstancesCommand, ModifyInstanceAttributeCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { DescribeAlarmHistoryCommand, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { connect } from '../../src/adapters/db';
import {
  cloudwatchClient,
  config,
  dropAccount,
  execFileAsync,
  execIn,
  IMAGES,
  instanceRow,
  libvirt,
  newAccount,
  oarcloud,
  region,
  rejection,
  terminateAll,
  waitForStates,
  type TestAccount,
} from '../support/live';

const MiB = 1024 * 1024;

/** What the container holds and shows: its type, the init's PID, its limits as seen from inside and outside. */
async function observe(ec2: EC2Client, id: string) {
  const [instance] = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances!;
  const memoryDir = await libvirt.cgroupDir(id, 'memory');
  return {
    type: instance.InstanceType,
    ip: instance.PrivateIpAddress,
    init: await libvirt.initPid(id),
    nproc: Number((await execIn(id, 'nproc')).trim()),
    memTotalKiB: Number(/MemTotal:\s+(\d+)/.exec(await execIn(id, 'cat /proc/meminfo'))![1]),
    limitMiB: Number(readFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), 'utf8')) / MiB,
    job: (await instanceRow(id, 'oar_job_id')).oar_job_id!,
  };
}

/** OAR's state of a job and the number of resources (slots) it holds. */
async function oarJob(jobId: number): Promise<{ state: string; resources: number }> {
  const { stdout } = await execFileAsync('oarstat', ['-f', '-j', String(jobId)]);
  const state = /^\s*state = (\S+)/m.exec(stdout)?.[1] ?? '';
  const assigned = /^\s*assigned_resources = (\S*)/m.exec(stdout)?.[1] ?? '';
  return { state, resources: assigned ? assigned.split('+').length : 0 };
}

async function waitForJobEnd(jobId: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const { state } = await oarJob(jobId);
    if (state === 'Terminated' || state === 'Error') return state;
    await new Promise((r) => setTimeout(r, 200));
  }
  return (await oarJob(jobId)).state;
}

describe('Live resize of a running instance (real)', function () {
  this.timeout(180_000);
  let account: TestAccount;
  let id: string;
  before(async () => {
    account = await newAccount('resize');
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 1, MaxCount: 1 }));
    id = run.Instances![0].InstanceId!;
    await waitForStates(account.ec2, [id], ['running']);
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  const resize = (type: string) => account.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: type } }));

  it('grows and shrinks in place: PID 1, a file in /tmp and the address stay; nproc, memory and the OAR job follow', async () => {
    await execIn(id, 'echo kept > /tmp/marker');
    const before = await observe(account.ec2, id);
    expect(before).to.deep.include({ type: 't2.nano', nproc: 1, limitMiB: 512 });

    await resize('t2.medium'); // 2 vCPUs, 4 GiB
    const grown = await observe(account.ec2, id);
    expect(grown).to.deep.include({ type: 't2.medium', ip: before.ip, init: before.init, nproc: 2, limitMiB: 4096 });
    expect(grown.memTotalKiB).to.equal(4096 * 1024);
    expect(await execIn(id, 'cat /tmp/marker')).to.equal('kept\n');
    // one job holds the instance: the new one, of the new size; the old one is released
    expect(grown.job).not.to.equal(before.job);
    expect(await oarJob(grown.job)).to.deep.include({ state: 'Running' });
    expect((await oarJob(grown.job)).resources).to.be.greaterThan((await oarJob(before.job)).resources);
    expect(await waitForJobEnd(before.job)).to.be.oneOf(['Terminated', 'Error']);

    await resize('t2.nano');
    const shrunk = await observe(account.ec2, id);
    expect(shrunk).to.deep.include({ type: 't2.nano', init: before.init, nproc: 1, limitMiB: 512 });
    expect(await execIn(id, 'cat /tmp/marker')).to.equal('kept\n');
    expect(await waitForJobEnd(grown.job)).to.be.oneOf(['Terminated', 'Error']);
    // each resize is an event the admin (and the dashboard) sees
    const { stdout } = await oarcloud('events', '--limit', '200');
    expect(stdout).to.include(`resized in place from t2.nano to t2.medium by user tester (OAR job ${before.job} → ${grown.job})`);
    expect(stdout).to.include(`resized in place from t2.medium to t2.nano by user tester (OAR job ${grown.job} → ${shrunk.job})`);
  });

  it('answers InsufficientInstanceCapacity when the node has no room beside the current job, and changes nothing', async () => {
    const before = await observe(account.ec2, id);
    // c5.large takes two whole cores: while the instance's own slot holds one of them, it cannot start
    const err = await rejection(resize('c5.large'));
    expect(err.name).to.equal('InsufficientInstanceCapacity');
    expect(err.message).to.match(/no room for c5\.large/);
    expect(await observe(account.ec2, id)).to.deep.equal(before);
  });

  it('refuses to shrink below the memory in use, and changes nothing', async () => {
    await resize('t2.small'); // 2 GiB
    // a process holding 700 MiB: dd's buffer, kept while nobody reads the pipe
    await execIn(id, "setsid sh -c 'dd if=/dev/zero bs=700M count=1 | sleep 600' </dev/null >/dev/null 2>&1 &");
    const memoryDir = await libvirt.cgroupDir(id, 'memory');
    for (let i = 0; i < 50 && Number(readFileSync(path.join(memoryDir, 'memory.usage_in_bytes'), 'utf8')) < 700 * MiB; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await observe(account.ec2, id);
    const err = await rejection(resize('t2.nano'));
    expect(err.name).to.equal('InvalidParameterValue');
    expect(err.message).to.match(/uses \d+ MiB of memory now; t2\.nano has 512 MiB/);
    expect(await observe(account.ec2, id)).to.deep.equal(before);
    await execIn(id, 'killall dd; true');
    await resize('t2.nano');
    expect((await observe(account.ec2, id)).type).to.equal('t2.nano');
  });
});

describe('Resize by rule: a CloudWatch alarm action (real)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('resize-rule');
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  /** Polls the instance's type until it is `type`. */
  async function typeBecomes(id: string, type: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [instance] = (await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances!;
      if (instance.InstanceType === type) return;
      if (Date.now() > deadline) throw new Error(`${id} is still ${instance.InstanceType}, not ${type}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  it('a busy loop resizes the instance up; the cooldown holds back an early way back; a quiet period brings it back', async () => {
    const cw = cloudwatchClient(account);
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0].InstanceId!;
    await waitForStates(account.ec2, [id], ['running']);
    const resizeTo = (type: string) => `arn:aws:oarcloud:${region}::resize/${type}`;
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'busy',
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Dimensions: [{ Name: 'InstanceId', Value: id }],
        Statistic: 'Average',
        Period: 10,
        EvaluationPeriods: 1,
        Threshold: 50,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [resizeTo('t2.small')],
        OKActions: [resizeTo('t2.nano')],
      }),
    );
    // a busy loop that writes its PID, to be stopped later
    await execIn(id, "printf 'echo $$ > /tmp/spin.pid\\nwhile :; do :; done\\n' > /tmp/spin; setsid sh /tmp/spin </dev/null >/dev/null 2>&1 &");
    await typeBecomes(id, 't2.small');
    const actions = async () =>
      (await cw.send(new DescribeAlarmHistoryCommand({ AlarmName: 'busy', HistoryItemType: 'Action' }))).AlarmHistoryItems!.map((h) => h.HistorySummary!);
    // the action's outcome is written once the resize call has answered, just after the type shows
    for (let i = 0; i < 50 && !(await actions()).some((s) => s.startsWith(`Successfully executed action ${resizeTo('t2.small')}`)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await actions()).some((s) => s.startsWith(`Successfully executed action ${resizeTo('t2.small')}`))).to.equal(true);

    // the way back asked for at once is held back by the cooldown, and the alarm history says why
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'busy', StateValue: 'OK', StateReason: 'testing the cooldown' }));
    const summaries = await actions();
    expect(
      summaries.some((s) => s.startsWith(`Failed to execute action ${resizeTo('t2.nano')}`) && /alarm actions wait 300 s between resizes/.test(s)),
    ).to.equal(true);
    const [still] = (await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances!;
    expect(still.InstanceType).to.equal('t2.small');

    // once the cooldown is over (moved back here rather than waited for) a quiet period brings it back
    const db = connect(config.databaseUrl, { min: 0, max: 1 });
    try {
      await db('instances')
        .where('id', id)
        .update({ resized_at: new Date(Date.now() - 3600_000) });
    } finally {
      await db.destroy();
    }
    await execIn(id, 'kill $(cat /tmp/spin.pid)');
    await typeBecomes(id, 't2.nano');
    // both resizes are events that name the alarm that asked
    const { stdout } = await oarcloud('events', '--limit', '200');
    expect(stdout).to.match(new RegExp(`${id} +resized in place from t2.nano to t2.small by alarm busy`));
    expect(stdout).to.match(new RegExp(`${id} +resized in place from t2.small to t2.nano by alarm busy`));
  });
});
