/**
 * CloudWatch and SNS against real containers, a real SMTP server and a real HTTP endpoint: a busy loop in a container
 * drives CPUUtilization over an alarm's threshold; the alarm goes to ALARM within two periods, its topic's e-mail and
 * HTTP subscribers (confirmed through their links) get the alarm's JSON, signed with the certificate we serve, and its
 * EC2 stop action stops the instance. Also: the instance's metrics, PutMetricData's statistics and percentiles, alarm
 * rules on missing data and manual states, delivery retries that never hold up other deliveries, admin notifications,
 * the three wires' errors, and another account that sees none of it.
 */
import { expect } from 'chai';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  DisableAlarmActionsCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
  type Statistic,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { cloudwatchClient, dropAccount, IMAGES, newAccount, oarcloud, rawRequest, sleep, snsClient, waitForStates, type TestAccount } from '../support/live';
import { HttpSink, MailSink, validateWithSnsValidator, verifySnsSignature } from '../support/receivers';
import { connect } from '../../src/adapters/db';
import { config } from '../support/live';
import { EC2_METRICS } from '../../src/domain/metric-collector';

/** The SDK error's code (the JS SDK puts the Query code of an awsQueryCompatible JSON error in `Code`). */
const codeOf = (err: any) => err?.Code ?? err?.name;

async function expectCode(p: Promise<unknown>, code: string, status?: number): Promise<void> {
  try {
    await p;
  } catch (err: any) {
    expect(codeOf(err), String(err?.message)).to.equal(code);
    if (status) expect(err.$metadata?.httpStatusCode).to.equal(status);
    return;
  }
  expect.fail(`expected ${code}`);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000, every = 1000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

describe('monitoring (CloudWatch metrics and alarms, SNS over real SMTP and HTTP)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  let other: TestAccount;
  let cw: CloudWatchClient;
  let sns: SNSClient;
  let mail: MailSink;
  let web: HttpSink;

  before(async () => {
    [account, other] = await Promise.all([newAccount('monitoring'), newAccount('monitoring-other')]);
    cw = cloudwatchClient(account);
    sns = snsClient(account);
    mail = await new MailSink().start();
    web = await new HttpSink().start();
    // the admin's relay, set as an admin would (the CLI)
    const set = await oarcloud('notify', 'smtp', `127.0.0.1:${mail.port}`, '--from', 'OAR Cloud <cloud@test.local>');
    expect(set.code, set.stderr).to.equal(0);
  });

  after(async () => {
    await oarcloud('notify', 'smtp', '--off');
    await Promise.all([dropAccount(account), dropAccount(other)]);
    await mail?.close();
    await web?.close();
  });

  /** Subscribes the sinks to a new topic and confirms both through the links they were sent; the topic ARN. */
  async function confirmedTopic(name: string, emailTo: string, path: string): Promise<string> {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
    const [email, http] = await Promise.all([
      sns.send(new SubscribeCommand({ TopicArn, Protocol: 'email', Endpoint: emailTo, ReturnSubscriptionArn: true })),
      sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: web.url(path), ReturnSubscriptionArn: true })),
    ]);
    const pending = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: email.SubscriptionArn }));
    expect(pending.Attributes?.PendingConfirmation).to.equal('true');
    // HTTP: the SubscriptionConfirmation POST, signed; its SubscribeURL confirms (unsigned GET, as AWS's)
    const post = await web.waitFor((p) => p.path === path && p.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation');
    const confirmation = JSON.parse(post.body);
    expect(confirmation.TopicArn).to.equal(TopicArn);
    expect(await verifySnsSignature(confirmation)).to.equal(true);
    expect((await fetch(confirmation.SubscribeURL)).status).to.equal(200);
    // e-mail: the confirmation mail's link
    const letter = await mail.waitFor(emailTo, (m) => m.subject === 'AWS Notification - Subscription Confirmation');
    const link = /Confirm subscription: (\S+)/.exec(letter.text)?.[1];
    expect(link, letter.text).to.be.a('string');
    expect((await fetch(link!)).status).to.equal(200);
    for (const arn of [email.SubscriptionArn, http.SubscriptionArn]) {
      const attrs = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: arn }));
      expect(attrs.Attributes?.PendingConfirmation, arn).to.equal('false');
    }
    return TopicArn!;
  }

  it('a busy container raises a CPU alarm within two periods: signed e-mail and HTTP notifications arrive and the stop action stops it', async () => {
    const topic = await confirmedTopic('cpu-alerts', 'ops@example.test', '/alarms');
    const run = await account.ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.busybox,
        InstanceType: 't2.micro',
        MinCount: 1,
        MaxCount: 1,
        UserData: Buffer.from('#!/bin/sh\nwhile :; do :; done &\n').toString('base64'),
      }),
    );
    const id = run.Instances![0].InstanceId!;
    await waitForStates(account.ec2, [id], ['running'], 120_000);
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'cpu-high',
        AlarmDescription: 'CPU over half of the vCPU',
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Dimensions: [{ Name: 'InstanceId', Value: id }],
        Statistic: 'Average',
        Period: 10,
        EvaluationPeriods: 2,
        Threshold: 50,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [topic, `arn:aws:automate:${config.regions[0]}:ec2:stop`],
      }),
    );
    const started = Date.now();
    const alarm = await until(
      'ALARM',
      async () => {
        const a = (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['cpu-high'] }))).MetricAlarms?.[0];
        return a?.StateValue === 'ALARM' && a;
      },
      90_000,
    );
    // within two periods of the first breaching one (or of the alarm's creation, if the loop breached before): the
    // second period's end plus at most one evaluation step (5 s) and a little slack
    const tens = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Dimensions: [{ Name: 'InstanceId', Value: id }],
        StartTime: new Date(started - 300_000),
        EndTime: new Date(),
        Period: 10,
        Statistics: ['Average'],
      }),
    );
    const breaching = tens.Datapoints!.filter((d) => d.Average! > 50).map((d) => new Date(d.Timestamp!).getTime());
    expect(breaching.length).to.be.at.least(2);
    const reference = Math.max(Math.min(...breaching), new Date(alarm.AlarmConfigurationUpdatedTimestamp!).getTime());
    expect(new Date(alarm.StateTransitionedTimestamp!).getTime() - reference).to.be.at.most(2 * 10_000 + 5_000 + 2_000);
    expect(alarm.StateReason).to.match(/^Threshold Crossed: 2 out of the last 2 datapoints/);
    const post = await web.waitFor((p) => p.path === '/alarms' && p.headers['x-amz-sns-message-type'] === 'Notification');
    const notification = JSON.parse(post.body);
    expect(await verifySnsSignature(notification)).to.equal(true);
    // and the AWS Labs validator accepts it (given our certificate over HTTPS, as it insists)
    await validateWithSnsValidator(notification);
    expect(notification.Subject).to.equal(`ALARM: "cpu-high" in US East (N. Virginia)`);
    const body = JSON.parse(notification.Message);
    expect(body).to.include({ AlarmName: 'cpu-high', NewStateValue: 'ALARM', AWSAccountId: account.accountId });
    expect(body.OldStateValue).to.be.oneOf(['INSUFFICIENT_DATA', 'OK']);
    expect(body.Trigger).to.include({ MetricName: 'CPUUtilization', Namespace: 'AWS/EC2', Threshold: 50, Period: 10 });
    const letter = await mail.waitFor('ops@example.test', (m) => m.subject === `ALARM: "cpu-high" in US East (N. Virginia)`);
    expect(JSON.parse(letter.text.split('\n\n--\n')[0])).to.include({ AlarmName: 'cpu-high', NewStateValue: 'ALARM' });
    // a tampered message does not verify
    expect(await verifySnsSignature({ ...notification, Message: notification.Message.replace('ALARM', 'OK') })).to.equal(false);
    await waitForStates(account.ec2, [id], ['stopped'], 120_000);
    const history = (await cw.send(new DescribeAlarmHistoryCommand({ AlarmName: 'cpu-high' }))).AlarmHistoryItems ?? [];
    expect(history.map((h) => h.HistoryItemType)).to.include.members(['ConfigurationUpdate', 'StateUpdate', 'Action']);
    expect(history.filter((h) => h.HistoryItemType === 'Action').every((h) => h.HistorySummary!.startsWith('Successfully executed'))).to.equal(true);
    // what the collector measured meanwhile
    const stats = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Dimensions: [{ Name: 'InstanceId', Value: id }],
        StartTime: new Date(Date.now() - 600_000),
        EndTime: new Date(),
        Period: 60,
        Statistics: ['Maximum', 'SampleCount'],
        Unit: 'Percent',
      }),
    );
    expect(Math.max(...stats.Datapoints!.map((d) => d.Maximum!))).to.be.above(50);
    const metrics = await cw.send(new ListMetricsCommand({ Dimensions: [{ Name: 'InstanceId', Value: id }] }));
    const names = new Set(metrics.Metrics!.map((m) => `${m.Namespace}/${m.MetricName}`));
    for (const n of EC2_METRICS) expect(names, n).to.include(`AWS/EC2/${n}`);
    expect(names).to.include('CWAgent/mem_used_percent');
    const byType = await cw.send(new ListMetricsCommand({ Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceType' }] }));
    expect(byType.Metrics!.map((m) => m.Dimensions![0].Value)).to.include('t2.micro');
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: ['cpu-high'] }));
  });

  it("PutMetricData's values give exact statistics and percentiles, only for the exact dimensions and unit, by GetMetricStatistics and GetMetricData", async () => {
    const at = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'App/Orders',
        MetricData: [
          {
            MetricName: 'Latency',
            Dimensions: [{ Name: 'Service', Value: 'checkout' }],
            Timestamp: at,
            Values: [10, 20, 30, 40, 100],
            Counts: [1, 1, 1, 1, 1],
            Unit: 'Milliseconds',
          },
          {
            MetricName: 'Latency',
            Dimensions: [{ Name: 'Service', Value: 'checkout' }],
            Timestamp: new Date(at.getTime() + 1000),
            Value: 50,
            Unit: 'Milliseconds',
          },
          {
            MetricName: 'Latency',
            Dimensions: [{ Name: 'Service', Value: 'cart' }],
            Timestamp: at,
            StatisticValues: { SampleCount: 4, Sum: 8, Minimum: 1, Maximum: 3 },
            Unit: 'Milliseconds',
          },
        ],
      }),
    );
    const query = (extra: object) =>
      cw.send(
        new GetMetricStatisticsCommand({
          Namespace: 'App/Orders',
          MetricName: 'Latency',
          StartTime: new Date(at.getTime() - 60_000),
          EndTime: new Date(at.getTime() + 120_000),
          Period: 60,
          ...extra,
        }),
      );
    const checkout = await query({ Dimensions: [{ Name: 'Service', Value: 'checkout' }], Statistics: ['SampleCount', 'Sum', 'Minimum', 'Maximum', 'Average'] });
    expect(checkout.Datapoints).to.have.length(1);
    expect(checkout.Datapoints![0]).to.deep.include({ SampleCount: 6, Sum: 250, Minimum: 10, Maximum: 100, Unit: 'Milliseconds' });
    expect(checkout.Datapoints![0].Average).to.be.closeTo(41.667, 0.001);
    expect(new Date(checkout.Datapoints![0].Timestamp!).getTime()).to.equal(at.getTime());
    const p50 = await query({ Dimensions: [{ Name: 'Service', Value: 'checkout' }], ExtendedStatistics: ['p50', 'p100'] });
    expect(p50.Datapoints![0].ExtendedStatistics).to.deep.equal({ p50: 35, p100: 100 });
    const cart = await query({ Dimensions: [{ Name: 'Service', Value: 'cart' }], Statistics: ['SampleCount', 'Average'] });
    expect(cart.Datapoints![0]).to.deep.include({ SampleCount: 4, Average: 2 });
    // a metric is its exact dimension set, and its unit
    expect((await query({ Statistics: ['Sum'] })).Datapoints).to.deep.equal([]);
    expect((await query({ Dimensions: [{ Name: 'Service', Value: 'cart' }], Statistics: ['Sum'], Unit: 'Seconds' })).Datapoints).to.deep.equal([]);
    const data = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(at.getTime() - 60_000),
        EndTime: new Date(at.getTime() + 120_000),
        MetricDataQueries: [
          {
            Id: 'sum',
            MetricStat: {
              Metric: { Namespace: 'App/Orders', MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'checkout' }] },
              Period: 60,
              Stat: 'Sum',
            },
          },
          {
            Id: 'p90',
            MetricStat: {
              Metric: { Namespace: 'App/Orders', MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'checkout' }] },
              Period: 60,
              Stat: 'p90',
            },
          },
        ],
      }),
    );
    expect(data.MetricDataResults!.map((r) => [r.Id, r.Values, r.StatusCode])).to.deep.equal([
      ['sum', [250], 'Complete'],
      ['p90', [75], 'Complete'],
    ]);
    // older than the 3 hours of raw points: read from the per-minute rollup (a late value is folded in at once); a
    // percentile there is that of the minutes' averages
    const old = new Date(Math.floor((Date.now() - 5 * 3600_000) / 300_000) * 300_000);
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'App/Orders',
        MetricData: [
          { MetricName: 'Backlog', Timestamp: old, Values: [1, 2, 3], Unit: 'Count' },
          { MetricName: 'Backlog', Timestamp: new Date(old.getTime() + 60_000), Value: 10, Unit: 'Count' },
        ],
      }),
    );
    const backlog = (extra: { Period: number; Statistics?: Statistic[]; ExtendedStatistics?: string[] }) =>
      cw.send(
        new GetMetricStatisticsCommand({
          Namespace: 'App/Orders',
          MetricName: 'Backlog',
          StartTime: old,
          EndTime: new Date(old.getTime() + 300_000),
          ...extra,
        }),
      );
    const minutes = await backlog({ Period: 60, Statistics: ['SampleCount', 'Sum', 'Minimum', 'Maximum'] });
    expect(minutes.Datapoints!.map((d) => [new Date(d.Timestamp!).getTime() - old.getTime(), d.SampleCount, d.Sum, d.Minimum, d.Maximum])).to.deep.equal([
      [0, 3, 6, 1, 3],
      [60_000, 1, 10, 10, 10],
    ]);
    expect((await backlog({ Period: 300, ExtendedStatistics: ['p50'] })).Datapoints![0].ExtendedStatistics).to.deep.equal({ p50: 6 });
    const listed = await cw.send(new ListMetricsCommand({ Namespace: 'App/Orders', Dimensions: [{ Name: 'Service', Value: 'cart' }] }));
    expect(listed.Metrics).to.deep.equal([{ Namespace: 'App/Orders', MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'cart' }] }]);
    // CloudWatch's own errors, on JSON 1.0 (this SDK) and on the Query wire (Terraform's)
    await expectCode(cw.send(new PutMetricDataCommand({ Namespace: 'AWS/EC2', MetricData: [{ MetricName: 'x', Value: 1 }] })), 'InvalidParameterValue', 400);
    await expectCode(query({ Statistics: ['Sum'], Period: 7 }), 'InvalidParameterValue', 400);
    await expectCode(
      cw.send(new GetMetricDataCommand({ StartTime: at, EndTime: new Date(), MetricDataQueries: [{ Id: 'e', Expression: 'SUM(METRICS())' }] })),
      'InvalidParameterValue',
    );
    const viaQuery = await rawRequest(
      { Action: 'SetAlarmState', Version: '2010-08-01', AlarmName: 'none', StateValue: 'OK', StateReason: 'x' },
      { creds: account, service: 'monitoring' },
    );
    expect(viaQuery.status).to.equal(404);
    expect(viaQuery.code).to.equal('ResourceNotFound');
    expect(viaQuery.body).to.contain('<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type>');
  });

  it('alarm rules: missing data treated as breaching, SetAlarmState runs the actions, disabled actions do not', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'rules' }));
    const hook = web.url('/rules');
    const sub = await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: hook, ReturnSubscriptionArn: true }));
    const confirmation = JSON.parse((await web.waitFor((p) => p.path === '/rules')).body);
    await fetch(confirmation.SubscribeURL);
    const alarm = (name: string, treat: string) =>
      cw.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: 'App/Nothing',
          MetricName: 'Silence',
          Statistic: 'Sum',
          Period: 10,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: treat,
          AlarmActions: [TopicArn!],
          OKActions: [TopicArn!],
        }),
      );
    await alarm('silent-breaching', 'breaching');
    await alarm('silent-missing', 'missing');
    const state = async (name: string) => (await cw.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms![0].StateValue;
    await until('breaching → ALARM', async () => (await state('silent-breaching')) === 'ALARM', 40_000);
    await until('missing → INSUFFICIENT_DATA', async () => (await state('silent-missing')) === 'INSUFFICIENT_DATA', 40_000);
    await web.waitFor((p) => p.path === '/rules' && JSON.parse(p.body).Subject === 'ALARM: "silent-breaching" in US East (N. Virginia)');
    // a manual state runs the actions of the new state
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'silent-missing', StateValue: 'OK', StateReason: 'testing the OK action' }));
    await web.waitFor((p) => p.path === '/rules' && JSON.parse(p.body).Subject === 'OK: "silent-missing" in US East (N. Virginia)');
    await expectCode(
      cw.send(new SetAlarmStateCommand({ AlarmName: 'silent-missing', StateValue: 'OK', StateReason: 'x', StateReasonData: '{not json' })),
      'InvalidFormat',
    );
    await cw.send(new DisableAlarmActionsCommand({ AlarmNames: ['silent-missing'] }));
    const before = web.posts.length;
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'silent-missing', StateValue: 'ALARM', StateReason: 'actions are off' }));
    await sleep(3000);
    expect(web.posts.slice(before).filter((p) => p.path === '/rules')).to.deep.equal([]);
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: ['silent-breaching', 'silent-missing'] }));
    await expectCode(cw.send(new DeleteAlarmsCommand({ AlarmNames: ['silent-missing'] })), 'ResourceNotFound', 404);
    await sns.send(new UnsubscribeCommand({ SubscriptionArn: sub.SubscriptionArn }));
    await expectCode(sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: sub.SubscriptionArn })), 'NotFound', 404);
  });

  it('a failing endpoint is retried with back-off and holds up nobody else; Publish answers at once', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'retries' }));
    const subscribeConfirmed = async (path: string) => {
      await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: web.url(path) }));
      const c = JSON.parse((await web.waitFor((p) => p.path === path && p.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation')).body);
      await fetch(c.SubscribeURL);
    };
    await subscribeConfirmed('/flaky');
    await subscribeConfirmed('/steady');
    let flakyCalls = 0;
    web.answer = (p) => (p.path === '/flaky' && p.headers['x-amz-sns-message-type'] === 'Notification' && ++flakyCalls <= 2 ? 500 : 200);
    const started = Date.now();
    const { MessageId } = await sns.send(new PublishCommand({ TopicArn, Message: 'hello', Subject: 'greetings' }));
    expect(Date.now() - started).to.be.below(2000);
    const steady = await web.waitFor((p) => p.path === '/steady' && p.headers['x-amz-sns-message-id'] === MessageId, 20_000);
    expect(JSON.parse(steady.body)).to.include({ Type: 'Notification', Message: 'hello', Subject: 'greetings', TopicArn });
    // delivered on the third attempt, about 1 s and 2 s after the first two
    await until('the third attempt', async () => flakyCalls >= 3, 30_000, 250);
    const flaky = web.posts.filter((p) => p.path === '/flaky' && p.headers['x-amz-sns-message-id'] === MessageId);
    expect(flaky).to.have.length(3);
    web.answer = () => 200;
    await sns.send(new DeleteTopicCommand({ TopicArn }));
  });

  it("admins get the cloud's own alarms on the admin topic, by e-mail, when they appear and when they clear", async () => {
    const added = await oarcloud('notify', 'email', 'admin@example.test');
    expect(added.code, added.stderr).to.equal(0);
    const shown = await oarcloud('notify', 'show');
    expect(shown.stdout).to.contain('admin@example.test').and.contain(`127.0.0.1:${mail.port}`);
    const test = await oarcloud('notify', 'test');
    expect(test.code, test.stderr).to.equal(0);
    await mail.waitFor('admin@example.test', (m) => m.subject === 'OAR Cloud: test notification');
    // an error event is an admin alarm (alarms.ts); it is sent once, then again when it clears
    const db = connect(config.databaseUrl, { min: 0, max: 1 });
    try {
      const [{ id }] = await db('events').insert({ kind: 'error', message: 'monitoring test: a made-up failure' }).returning('id');
      const raised = await mail.waitFor('admin@example.test', (m) => m.text.includes('monitoring test: a made-up failure'), 40_000);
      expect(raised.subject).to.equal('OAR Cloud warning: errors');
      const seen = mail.mails.length;
      await db('events').where({ id }).delete();
      // cleared, or (other tests' errors being recent too) the alarm now names another latest error
      const next = await mail.waitFor(
        'admin@example.test',
        (m) => mail.mails.indexOf(m) >= seen && /^OAR Cloud(: cleared| warning: errors)$/.test(m.subject),
        40_000,
      );
      if (next.subject === 'OAR Cloud warning: errors') expect(next.text).not.to.contain('monitoring test: a made-up failure');
      else expect(next.text).to.match(/^CLEARED: errors/);
    } finally {
      await db.destroy();
      await oarcloud('notify', 'remove', 'admin@example.test');
    }
  });

  it('another account sees none of it, and gets the errors AWS gives', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'private' }));
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'private-alarm',
        Namespace: 'App/X',
        MetricName: 'Y',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    await cw.send(new PutMetricDataCommand({ Namespace: 'App/X', MetricData: [{ MetricName: 'Y', Value: 1 }] }));
    const theirSns = snsClient(other);
    const theirCw = cloudwatchClient(other);
    expect((await theirSns.send(new ListTopicsCommand({}))).Topics ?? []).to.deep.equal([]);
    await expectCode(theirSns.send(new GetTopicAttributesCommand({ TopicArn })), 'NotFound', 404);
    await expectCode(theirSns.send(new PublishCommand({ TopicArn, Message: 'x' })), 'NotFound', 404);
    await expectCode(theirSns.send(new SubscribeCommand({ TopicArn, Protocol: 'email', Endpoint: 'spy@example.test' })), 'NotFound', 404);
    expect((await theirCw.send(new DescribeAlarmsCommand({}))).MetricAlarms).to.deep.equal([]);
    expect((await theirCw.send(new ListMetricsCommand({ Namespace: 'App/X' }))).Metrics ?? []).to.deep.equal([]);
    await expectCode(theirCw.send(new SetAlarmStateCommand({ AlarmName: 'private-alarm', StateValue: 'OK', StateReason: 'x' })), 'ResourceNotFound', 404);
    // SNS's own errors in the Query envelope
    const bad = await rawRequest({ Action: 'CreateTopic', Version: '2010-03-31', Name: 'bad name!' }, { creds: account, service: 'sns' });
    expect([bad.status, bad.code]).to.deep.equal([400, 'InvalidParameter']);
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: ['private-alarm'] }));
    await sns.send(new DeleteTopicCommand({ TopicArn }));
  });
});
