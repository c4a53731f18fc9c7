/**
 * Issue 17, by schedule: EventBridge Scheduler on its REST-JSON wire, through the JS SDK v3. The API's answers and
 * errors as AWS gives them; schedules that really stop, start and resize an instance; a run missed while no server
 * was up fires once, late, when one is back. And (item 4) every resize is an event its owner sees: in their own
 * events (`oarcloud my-events`), and published to the topic the instance's `oarcloud:notify` tag names.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { ModifyInstanceAttributeCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { HttpSink } from '../support/receivers';
import { connect } from '../../src/adapters/db';
import { SERVER_LOG, serverHealthy, startServerInBackground } from '../../src/cli/bootstrap';
import {
  config,
  dropAccount,
  execIn,
  IMAGES,
  newAccount,
  oarcloudWith,
  region,
  rejection,
  schedulerClient,
  sleep,
  snsClient,
  terminateAll,
  waitForStates,
  type TestAccount,
} from '../support/live';

const ROLE = 'arn:aws:iam::123456789012:role/scheduler';
const target = (operation: string, input: object) => ({ Arn: `arn:aws:scheduler:::aws-sdk:ec2:${operation}`, RoleArn: ROLE, Input: JSON.stringify(input) });

/** A schedule input with what every call needs; `overrides` replace members. */
function schedule(name: string, overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    ScheduleExpression: 'rate(1 hour)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: target('stopInstances', { InstanceIds: ['i-0123456789abcdef0'] }),
    ...overrides,
  };
}

describe('EventBridge Scheduler (real)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  let other: TestAccount;
  let scheduler: SchedulerClient;
  const db = connect(config.databaseUrl);
  const runsOf = (name: string) => db('schedule_runs').where({ account_id: account.accountId, schedule_name: name }).orderBy('id');

  before(async () => {
    [account, other] = await Promise.all([newAccount('sched'), newAccount('sched-other')]);
    scheduler = schedulerClient(account);
  });
  after(async () => {
    await Promise.all([dropAccount(account), dropAccount(other)]);
    await db.destroy();
  });

  it('creates, reads, lists, updates and deletes schedules as AWS answers them', async () => {
    const start = new Date(Date.now() + 86_400_000);
    const created = await scheduler.send(
      new CreateScheduleCommand(
        schedule('weekday-stop', {
          ScheduleExpression: 'cron(0 19 ? * MON-FRI *)',
          ScheduleExpressionTimezone: 'Europe/Paris',
          Description: 'stop the dev box at night',
          StartDate: start,
        }),
      ),
    );
    expect(created.ScheduleArn).to.equal(`arn:aws:scheduler:${region}:${account.accountId}:schedule/default/weekday-stop`);
    const got = await scheduler.send(new GetScheduleCommand({ Name: 'weekday-stop' }));
    expect(got).to.include({
      Name: 'weekday-stop',
      GroupName: 'default',
      State: 'ENABLED',
      ScheduleExpressionTimezone: 'Europe/Paris',
      ActionAfterCompletion: 'NONE',
    });
    expect(Math.abs(got.StartDate!.getTime() - start.getTime())).to.be.below(1000);
    expect(got.Target).to.deep.include({ Arn: 'arn:aws:scheduler:::aws-sdk:ec2:stopInstances', RoleArn: ROLE });
    expect(got.Target!.RetryPolicy).to.deep.equal({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    // its first run is the first weekday 19:00 in Paris after the start date
    const [row] = await db('schedules').where({ account_id: account.accountId, name: 'weekday-stop' });
    const next: Date = row.next_run_at;
    expect(next.getTime()).to.be.greaterThan(start.getTime());
    const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(next);
    expect(paris).to.match(/^(Mon|Tue|Wed|Thu|Fri) 19:00$/);

    await scheduler.send(new UpdateScheduleCommand({ ...schedule('weekday-stop'), State: 'DISABLED' }));
    const updated = await scheduler.send(new GetScheduleCommand({ Name: 'weekday-stop', GroupName: 'default' }));
    expect(updated).to.include({ State: 'DISABLED', ScheduleExpression: 'rate(1 hour)', ScheduleExpressionTimezone: 'UTC' });
    expect(updated.Description).to.equal(undefined);
    expect((await db('schedules').where({ account_id: account.accountId, name: 'weekday-stop' }).first()).next_run_at).to.equal(null);

    for (const name of ['a-1', 'a-2', 'a-3', 'b-1']) await scheduler.send(new CreateScheduleCommand(schedule(name)));
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await scheduler.send(new ListSchedulesCommand({ MaxResults: 2, NextToken: token }));
      pages.push(page.Schedules!.map((s) => s.Name!));
      token = page.NextToken;
    } while (token);
    expect(pages).to.deep.equal([['a-1', 'a-2'], ['a-3', 'b-1'], ['weekday-stop']]);
    expect((await scheduler.send(new ListSchedulesCommand({ NamePrefix: 'a-' }))).Schedules!.map((s) => s.Name)).to.deep.equal(['a-1', 'a-2', 'a-3']);
    expect((await scheduler.send(new ListSchedulesCommand({ State: 'DISABLED' }))).Schedules!.map((s) => s.Name)).to.deep.equal(['weekday-stop']);
    const [summary] = (await scheduler.send(new ListSchedulesCommand({ NamePrefix: 'b' }))).Schedules!;
    expect(summary.Target).to.deep.equal({ Arn: 'arn:aws:scheduler:::aws-sdk:ec2:stopInstances' });

    // another account sees none of it
    const theirs = schedulerClient(other);
    expect((await theirs.send(new ListSchedulesCommand({}))).Schedules).to.deep.equal([]);
    expect((await rejection(theirs.send(new GetScheduleCommand({ Name: 'a-1' })))).name).to.equal('ResourceNotFoundException');

    for (const name of ['a-1', 'a-2', 'a-3', 'b-1', 'weekday-stop']) await scheduler.send(new DeleteScheduleCommand({ Name: name }));
    const gone = await rejection(scheduler.send(new GetScheduleCommand({ Name: 'a-1' })));
    expect(gone).to.include({ name: 'ResourceNotFoundException', message: 'Schedule a-1 does not exist.' });
  });

  it("answers bad input with the service's own errors and statuses, and keeps nothing of it", async () => {
    const cases: [CreateScheduleCommandInput, string, RegExp][] = [
      [schedule('bad name'), 'ValidationException', /failed to satisfy constraint: Member must satisfy regular expression pattern/],
      [schedule('x', { ScheduleExpression: 'cron(0 8 * * MON *)' }), 'ValidationException', /either the day of the month or the day of the week/],
      [schedule('x', { ScheduleExpression: 'rate(1 minutes)' }), 'ValidationException', /write 1 minute/],
      [schedule('x', { ScheduleExpression: 'every day' }), 'ValidationException', /Invalid Schedule Expression every day/],
      [schedule('x', { ScheduleExpressionTimezone: 'Mars/Olympus' }), 'ValidationException', /Invalid time zone Mars\/Olympus/],
      [
        schedule('x', { StartDate: new Date(Date.now() + 7200_000), EndDate: new Date(Date.now() + 3600_000) }),
        'ValidationException',
        /EndDate must come after/,
      ],
      [schedule('x', { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }), 'ValidationException', /MaximumWindowInMinutes is required/],
      [schedule('x', { Target: { Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f', RoleArn: ROLE } }), 'ValidationException', /universal targets/],
      [schedule('x', { Target: target('stopInstances', { InstanceId: 'i-1' }) }), 'ValidationException', /not a valid StopInstances request/],
      [schedule('x', { Target: { ...target('stopInstances', {}), Input: 'not json' } }), 'ValidationException', /as JSON/],
      [schedule('x', { GroupName: 'nowhere' }), 'ResourceNotFoundException', /Schedule group nowhere does not exist/],
      [schedule('x', { KmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/abc' }), 'ValidationException', /KmsKeyArn is not supported/],
    ];
    for (const [input, code, message] of cases) {
      const err: any = await scheduler.send(new CreateScheduleCommand(input)).catch((e) => e);
      expect(err.name, input.Name).to.equal(code);
      expect(err.message, input.Name).to.match(message);
      expect(err.$metadata.httpStatusCode, input.Name).to.equal(code === 'ResourceNotFoundException' ? 404 : 400);
    }
    expect((await scheduler.send(new ListSchedulesCommand({}))).Schedules).to.deep.equal([]);

    await scheduler.send(new CreateScheduleCommand({ ...schedule('once'), ClientToken: 'token-1' }));
    // the same creation retried (same token) answers as the first; another one conflicts
    expect((await scheduler.send(new CreateScheduleCommand({ ...schedule('once'), ClientToken: 'token-1' }))).ScheduleArn).to.match(/schedule\/default\/once$/);
    const conflict: any = await scheduler.send(new CreateScheduleCommand({ ...schedule('once'), ClientToken: 'token-2' })).catch((e) => e);
    expect([conflict.name, conflict.$metadata.httpStatusCode]).to.deep.equal(['ConflictException', 409]);
    await scheduler.send(new DeleteScheduleCommand({ Name: 'once' }));
  });

  it('keeps schedule groups with tags; deleting a group deletes its schedules; the default group stays', async () => {
    const { ScheduleGroupArn: arn } = await scheduler.send(new CreateScheduleGroupCommand({ Name: 'nightly', Tags: [{ Key: 'team', Value: 'ops' }] }));
    expect(arn).to.match(new RegExp(`^arn:aws:scheduler:[a-z0-9-]+:${account.accountId}:schedule-group/nightly$`));
    expect(await scheduler.send(new GetScheduleGroupCommand({ Name: 'nightly' }))).to.include({ Name: 'nightly', State: 'ACTIVE', Arn: arn });
    const groups = await scheduler.send(new ListScheduleGroupsCommand({}));
    expect(groups.ScheduleGroups!.map((g) => g.Name)).to.deep.equal(['default', 'nightly']);
    await scheduler.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'env', Value: 'dev' }] }));
    await scheduler.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['team'] }));
    expect((await scheduler.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).to.deep.equal([{ Key: 'env', Value: 'dev' }]);
    expect((await rejection(schedulerClient(other).send(new ListTagsForResourceCommand({ ResourceArn: arn })))).name).to.equal('ResourceNotFoundException');

    await scheduler.send(new CreateScheduleCommand(schedule('in-group', { GroupName: 'nightly' })));
    expect((await scheduler.send(new ListSchedulesCommand({ GroupName: 'nightly' }))).Schedules!.map((s) => s.Name)).to.deep.equal(['in-group']);
    await scheduler.send(new DeleteScheduleGroupCommand({ Name: 'nightly' }));
    expect((await rejection(scheduler.send(new GetScheduleCommand({ Name: 'in-group', GroupName: 'nightly' })))).name).to.equal('ResourceNotFoundException');
    expect((await rejection(scheduler.send(new DeleteScheduleGroupCommand({ Name: 'default' })))).message).to.equal('You cannot delete the default group.');
  });

  it('rate(1 minute) schedules stop, start and resize a running instance, each run recorded; each resize an event its owner sees and is sent', async () => {
    // the owner's notifications: a topic with a confirmed HTTP subscription, named by the instance's oarcloud:notify tag
    const sink = await new HttpSink().start();
    const sns = snsClient(account);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'resizes' }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: sink.url('/resizes') }));
    const confirmation = JSON.parse((await sink.waitFor((p) => p.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation', 30_000)).body);
    expect((await fetch(confirmation.SubscribeURL)).status).to.equal(200);
    const run = await account.ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.busybox,
        InstanceType: 't2.nano',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'oarcloud:notify', Value: TopicArn }] }],
      }),
    );
    const id = run.Instances![0].InstanceId!;
    await waitForStates(account.ec2, [id], ['running'], 60_000);
    const soon = () => new Date(Date.now() + 2000);
    const plan: [string, string, object, string][] = [
      ['stopper', 'stopInstances', { InstanceIds: [id] }, 'stopped'],
      ['starter', 'startInstances', { InstanceIds: [id] }, 'running'],
    ];
    for (const [name, operation, input, state] of plan) {
      await scheduler.send(
        new CreateScheduleCommand(schedule(name, { ScheduleExpression: 'rate(1 minute)', StartDate: soon(), Target: target(operation, input) })),
      );
      await waitForStates(account.ec2, [id], [state], 60_000);
      // off before its second run, a minute on
      await scheduler.send(new DeleteScheduleCommand({ Name: name }));
      // while stopped, a type change by hand (an event too)
      if (state === 'stopped') await account.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't2.micro' } }));
      const runs = await runsOf(name);
      expect(runs.map((r) => r.outcome)).to.deep.equal(['succeeded']);
      expect(runs[0].late_ms).to.be.below(5000);
    }
    // a live resize by schedule, once (at(): in the schedule's time zone, then deleted as asked)
    const at = new Date(Date.now() + 3000);
    const wallClock = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo', dateStyle: 'short', timeStyle: 'medium' }).format(at).replace(' ', 'T');
    await scheduler.send(
      new CreateScheduleCommand(
        schedule('grow', {
          ScheduleExpression: `at(${wallClock})`,
          ScheduleExpressionTimezone: 'Asia/Tokyo',
          ActionAfterCompletion: 'DELETE',
          Target: target('modifyInstanceAttribute', { InstanceId: id, InstanceType: { Value: 't2.small' } }),
        }),
      ),
    );
    for (let i = 0; i < 100 && (await runsOf('grow')).every((r) => !r.outcome); i++) await sleep(200);
    const [grown] = await runsOf('grow');
    expect(grown).to.include({ outcome: 'succeeded', error: null });
    const memTotalMiB = Number(/MemTotal:\s+(\d+)/.exec(await execIn(id, 'cat /proc/meminfo'))![1]) / 1024;
    expect(memTotalMiB).to.be.above(1900); // t2.small's 2 GiB, where t2.micro had 1 GiB
    expect((await db('instances').where({ id }).first()).instance_type).to.equal('t2.small');
    expect((await rejection(scheduler.send(new GetScheduleCommand({ Name: 'grow' })))).name).to.equal('ResourceNotFoundException');

    // each resize was sent to the topic, saying who asked
    const notified = async (by: string) => JSON.parse(JSON.parse((await sink.waitFor((p) => p.body.includes(`by ${by}`), 30_000)).body).Message);
    expect(await notified('user tester')).to.deep.include({
      event: 'resize',
      instanceId: id,
      message: 'instance type changed from t2.nano to t2.micro while stopped, by user tester',
    });
    expect((await notified('schedule default/grow')).message).to.match(
      /^resized in place from t2.micro to t2.small by schedule default\/grow \(OAR job \d+ → \d+\)$/,
    );
    sink.close();

    // and the owner reads them among their own events, with the schedules' runs; another account sees none
    const as = (who: TestAccount) => ({ AWS_ACCESS_KEY_ID: who.accessKeyId, AWS_SECRET_ACCESS_KEY: who.secretAccessKey, AWS_REGION: region });
    const mine = await oarcloudWith(as(account), 'my-events', '--resource', id, '--kind', 'resize');
    expect(mine.code, mine.stderr).to.equal(0);
    expect(mine.stdout).to.contain('instance type changed from t2.nano to t2.micro while stopped, by user tester');
    expect(mine.stdout).to.match(/resized in place from t2.micro to t2.small by schedule default\/grow/);
    const runs = await oarcloudWith(as(account), 'my-events', '--kind', 'schedule');
    expect(runs.stdout).to.contain('schedule default/stopper ran arn:aws:scheduler:::aws-sdk:ec2:stopInstances');
    const theirs = await oarcloudWith(as(other), 'my-events', '--resource', id);
    expect(theirs.code, theirs.stderr).to.equal(0);
    expect(theirs.stdout).to.not.contain(id);
    await terminateAll(account);
  });

  it('a run missed while no server was up fires once, late, when one is back, and says how late', async () => {
    await scheduler.send(new CreateScheduleCommand(schedule('missed', { ScheduleExpression: 'rate(1 minute)', StartDate: new Date(Date.now() + 60_000) })));
    const logSize = readFileSync(SERVER_LOG).length;
    try {
      process.kill(Number(readFileSync(config.pidFile, 'utf8')), 'SIGKILL');
      for (let i = 0; i < 50 && (await serverHealthy(config)); i++) await sleep(50);
      // five periods go by while no server runs (the clock moved for the schedule, not for the machine)
      const due = new Date(Date.now() - 5 * 60_000);
      await db('schedules').where({ account_id: account.accountId, name: 'missed' }).update({ next_run_at: due });
    } finally {
      // whatever failed above, the rest of the suite needs a server
      await startServerInBackground(config, true);
    }
    try {
      for (let i = 0; i < 100 && (await runsOf('missed')).every((r) => !r.outcome); i++) await sleep(200);
      await sleep(1500);
      const runs = await runsOf('missed');
      expect(runs).to.have.length(1);
      expect(runs[0].late_ms).to.be.within(5 * 60_000, 6 * 60_000);
      expect(runs[0].outcome).to.equal('failed');
      expect(runs[0].error).to.match(/^InvalidInstanceID.NotFound: /);
      const next: Date = (await db('schedules').where({ account_id: account.accountId, name: 'missed' }).first()).next_run_at;
      expect(next.getTime()).to.be.greaterThan(Date.now());
      const logged = readFileSync(SERVER_LOG).subarray(logSize).toString('utf8');
      expect(logged).to.match(/"lateMs":3\d{5}.*schedule run missed: firing it once, late/);
    } finally {
      await scheduler.send(new DeleteScheduleCommand({ Name: 'missed' }));
    }
  });
});
