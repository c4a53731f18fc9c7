/**
 * Monitoring figures:
 * - the collector's pass over 100 running instances (the server's own work: reading the instance list, turning the
 *   node agent's counters into metrics, storing ~1,000 points), with synthetic counters in place of the agent's
 *   output, and the node agent's `usage` itself on real containers of this machine (its cost per container);
 * - GetMetricStatistics over a week of one-minute data of one instance (the rollup rows, seeded as the rollup writes
 *   them), and what a week of one instance's ten metrics costs in PostgreSQL;
 * - alarm-to-delivery latency to an HTTP subscriber: after SetAlarmState, and after a breaching PutMetricData on a
 *   10-second alarm (period end + evaluation + delivery).
 */
import { randomBytes } from 'node:crypto';
import { CloudWatchClient, GetMetricStatisticsCommand, PutMetricAlarmCommand, PutMetricDataCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { RunInstancesCommand, TerminateInstancesCommand, DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { Knex } from 'knex';
import { EC2_METRICS, MetricCollector, type RunningInstance } from '../src/domain/metric-collector';
import { Metrics } from '../src/domain/metrics';
import { createLogger } from '../src/log';
import { run as exec } from '../src/adapters/exec';
import { NODE_AGENT, type ComputeNode, type NodeUsage } from '../src/adapters/compute-node';
import { systemImageId } from '../src/domain/images';
import { HttpSink } from '../test/support/receivers';
import { median } from './figures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MonitoringFigures {
  collector: { instances: number; passes: number; cpuMs: number[]; wallMs: number[]; pointsPerPass: number };
  agent: { containers: number; ms: number[]; virshListMs: number[] };
  week: { rows: number; bytesPerInstanceWeek: number; queries: { period: number; datapoints: number; ms: number[] }[] };
  alarm: { manualMs: number[]; breachMs: number[] };
}

export interface MonitoringBenchContext {
  db: Knex;
  accountId: string;
  creds: { accessKeyId: string; secretAccessKey: string };
  ec2: EC2Client;
  endpoint: string;
  region: string;
}

async function collectorPass(ctx: MonitoringBenchContext, instances: number, passes: number): Promise<MonitoringFigures['collector']> {
  const metrics = new Metrics(ctx.db);
  const collector = new MetricCollector(ctx.db, metrics, () => ({ address: 'localhost' }) as ComputeNode, createLogger('warn'));
  const running: RunningInstance[] = Array.from({ length: instances }, () => ({
    id: `i-${randomBytes(9).toString('hex').slice(0, 17)}`,
    account_id: ctx.accountId,
    vcpus: 1,
    memory_mib: 512,
    instance_type: 't2.nano',
    image_id: 'ami-bench',
    oar_node: null,
  }));
  const usageAt = (pass: number): NodeUsage => ({
    containers: new Map(
      running.map((r, i) => [
        r.id,
        {
          cpuNs: pass * 2e9 + i,
          rssBytes: 100 << 20,
          limitBytes: 512 << 20,
          readBytes: pass * 4096,
          writeBytes: pass * 8192,
          readOps: pass,
          writeOps: 2 * pass,
        },
      ]),
    ),
    ports: new Map(
      running.map((r, i) => [`oc${r.id.slice(2, 15)}`, { rxBytes: pass * 1000 + i, rxPackets: pass * 10, txBytes: pass * 5000, txPackets: pass * 20 }]),
    ),
  });
  const start = Date.now();
  const cpuMs: number[] = [];
  const wallMs: number[] = [];
  for (let pass = 0; pass <= passes; pass++) {
    const cost = await collector.sample(start + pass * 10_000, async () => usageAt(pass), running);
    if (pass > 0) {
      cpuMs.push(cost.cpuMs);
      wallMs.push(cost.wallMs);
    }
  }
  const points = Number(
    (await ctx.db('metric_points as p').join('metrics as m', 'm.id', 'p.metric_id').where('m.account_id', ctx.accountId).count({ n: '*' }))[0].n,
  );
  return { instances, passes, cpuMs, wallMs, pointsPerPass: Math.round(points / passes) };
}

async function agentCost(ctx: MonitoringBenchContext, containers: number, runs: number): Promise<MonitoringFigures['agent']> {
  const run = await ctx.ec2.send(
    new RunInstancesCommand({ ImageId: systemImageId('busybox'), InstanceType: 't2.nano', MinCount: containers, MaxCount: containers }),
  );
  const ids = run.Instances!.map((i) => i.InstanceId!);
  try {
    for (let i = 0; i < 240; i++) {
      const states = (await ctx.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) =>
        r.Instances!.map((x) => x.State!.Name),
      );
      if (states.every((s) => s === 'running')) break;
      await sleep(500);
    }
    const ms: number[] = [];
    const virshListMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const r = await exec(NODE_AGENT, ['usage']);
      if (r.code !== 0) throw new Error(`node-agent usage failed: ${r.stderr}`);
      ms.push(performance.now() - t);
      // the fixed part of a pass: the one libvirt call
      t = performance.now();
      await exec('virsh', ['-q', '-c', 'lxc:///', 'list']);
      virshListMs.push(performance.now() - t);
    }
    const seen = (await exec(NODE_AGENT, ['usage'])).stdout.split('\n').filter((l) => l.startsWith('instance ')).length;
    return { containers: seen, ms, virshListMs };
  } finally {
    await ctx.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  }
}

async function weekOfData(ctx: MonitoringBenchContext, cw: CloudWatchClient, runs: number): Promise<MonitoringFigures['week']> {
  const instance = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
  const nowHour = Math.floor(Date.now() / 3600_000);
  const hours = 7 * 24;
  const size = async () => Number((await ctx.db.raw("select pg_total_relation_size('metric_hours') + pg_total_relation_size('metrics') as b")).rows[0].b);
  const before = await size();
  for (const name of [...EC2_METRICS, 'mem_used_percent']) {
    const namespace = name === 'mem_used_percent' ? 'CWAgent' : 'AWS/EC2';
    const [{ id }] = await ctx
      .db('metrics')
      .insert({
        account_id: ctx.accountId,
        namespace,
        name,
        dimensions: JSON.stringify([{ Name: 'InstanceId', Value: instance }]),
        dimensions_key: `InstanceId=${instance}`,
        unit: 'Percent',
      })
      .returning('id');
    // what the rollup writes: per minute, six 10-second samples
    await ctx.db.raw(
      `insert into metric_hours (metric_id, hour, n, sum, min, max)
       select ?, h, array_fill(6::real, array[60]),
              (select array_agg(round((random() * 600)::numeric, 2)::float8) from generate_series(1, 60) where h > 0),
              array_fill(1::real, array[60]), array_fill(99::real, array[60])
         from generate_series(?::int, ?::int) h`,
      [id, nowHour - hours - 3, nowHour - 4],
    );
  }
  const bytes = (await size()) - before;
  const queries: MonitoringFigures['week']['queries'] = [];
  const end = new Date((nowHour - 3) * 3600_000);
  const start = new Date(end.getTime() - 7 * 86400_000);
  for (const period of [3600, 600]) {
    const ms: number[] = [];
    let datapoints = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const out = await cw.send(
        new GetMetricStatisticsCommand({
          Namespace: 'AWS/EC2',
          MetricName: 'CPUUtilization',
          Dimensions: [{ Name: 'InstanceId', Value: instance }],
          StartTime: start,
          EndTime: end,
          Period: period,
          Statistics: ['Average', 'Maximum', 'SampleCount'],
        }),
      );
      ms.push(performance.now() - t);
      datapoints = out.Datapoints!.length;
    }
    queries.push({ period, datapoints, ms });
  }
  return { rows: hours, bytesPerInstanceWeek: bytes, queries };
}

async function alarmLatency(
  ctx: MonitoringBenchContext,
  cw: CloudWatchClient,
  sns: SNSClient,
  runs: number,
  breachRuns: number,
): Promise<MonitoringFigures['alarm']> {
  const sink = await new HttpSink().start();
  try {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'bench-alarms' }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: sink.url('/bench') }));
    const confirmation = JSON.parse((await sink.waitFor((p) => p.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation')).body);
    await fetch(confirmation.SubscribeURL);
    const arrival = async (subject: string, after: number) => {
      const post = await sink.waitFor((p) => sink.posts.indexOf(p) >= after && JSON.parse(p.body).Subject === subject, 60_000);
      return post;
    };
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'bench-manual',
        Namespace: 'Bench/None',
        MetricName: 'Nothing',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'ignore',
        AlarmActions: [TopicArn!],
        OKActions: [TopicArn!],
      }),
    );
    const manualMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const state = i % 2 === 0 ? 'ALARM' : 'OK';
      const seen = sink.posts.length;
      const t = performance.now();
      await cw.send(new SetAlarmStateCommand({ AlarmName: 'bench-manual', StateValue: state, StateReason: 'bench' }));
      await arrival(`${state}: "bench-manual" in US East (N. Virginia)`, seen);
      manualMs.push(performance.now() - t);
    }
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'bench-breach',
        Namespace: 'Bench/Load',
        MetricName: 'Spikes',
        Statistic: 'Maximum',
        Period: 10,
        EvaluationPeriods: 1,
        Threshold: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [TopicArn!],
        OKActions: [TopicArn!],
      }),
    );
    const breachMs: number[] = [];
    for (let i = 0; i < breachRuns; i++) {
      // start from OK: a period without data is not breaching
      await sleep(12_000);
      const seen = sink.posts.length;
      const t = performance.now();
      await cw.send(new PutMetricDataCommand({ Namespace: 'Bench/Load', MetricData: [{ MetricName: 'Spikes', Value: 10, StorageResolution: 1 }] }));
      await arrival('ALARM: "bench-breach" in US East (N. Virginia)', seen);
      breachMs.push(performance.now() - t);
    }
    return { manualMs, breachMs };
  } finally {
    await sink.close();
  }
}

export async function benchMonitoring(ctx: MonitoringBenchContext, quick: boolean): Promise<MonitoringFigures> {
  const cw = new CloudWatchClient({ endpoint: ctx.endpoint, region: ctx.region, credentials: ctx.creds, maxAttempts: 1 });
  const sns = new SNSClient({ endpoint: ctx.endpoint, region: ctx.region, credentials: ctx.creds, maxAttempts: 1 });
  const collector = await collectorPass(ctx, 100, quick ? 5 : 20);
  const agent = await agentCost(ctx, quick ? 2 : 4, quick ? 5 : 20);
  const week = await weekOfData(ctx, cw, quick ? 5 : 20);
  const alarm = await alarmLatency(ctx, cw, sns, quick ? 4 : 10, quick ? 2 : 5);
  return { collector, agent, week, alarm };
}

export function monitoringReport(f: MonitoringFigures): string[] {
  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);
  const pass = median(f.collector.cpuMs);
  const agentPer = Math.max(0, median(f.agent.ms) - median(f.agent.virshListMs)) / Math.max(1, f.agent.containers);
  return [
    '',
    '## Monitoring: metrics, alarms, notifications',
    '',
    '| measure | value |',
    '|---|---|',
    `| collector pass over ${f.collector.instances} running instances (synthetic counters; ~${f.collector.pointsPerPass} points stored): server CPU, p50 of ${f.collector.passes} | ${fmt(pass)} (${((pass / 10_000) * 100).toFixed(2)} % of one core at one pass per 10 s) |`,
    `| … wall time of the pass | ${fmt(median(f.collector.wallMs))} |`,
    `| node agent \`usage\` on this machine, ${f.agent.containers} real containers: p50 | ${fmt(median(f.agent.ms))}, of which \`virsh list\` ${fmt(median(f.agent.virshListMs))}: ~${fmt(agentPer)} more per container (so ~${fmt(median(f.agent.virshListMs) + agentPer * 100)} for 100 on a node) |`,
    ...f.week.queries.map(
      (q) =>
        `| GetMetricStatistics, a week of one-minute data of one instance, Period ${q.period} (${q.datapoints} datapoints, from the rollup): p50 | ${fmt(median(q.ms))} |`,
    ),
    `| a week of one instance's ten metrics in PostgreSQL (rollup rows and their index) | ${(f.week.bytesPerInstanceWeek / 1024 / 1024).toFixed(2)} MiB (so ~${((f.week.bytesPerInstanceWeek * 1000) / 1024 ** 3).toFixed(1)} GiB for 1,000 instances) |`,
    `| SetAlarmState → the HTTP subscriber has the notification: p50 of ${f.alarm.manualMs.length} | ${fmt(median(f.alarm.manualMs))} |`,
    `| breaching PutMetricData on a 10-second alarm → notification delivered: p50 of ${f.alarm.breachMs.length} | ${fmt(median(f.alarm.breachMs))} |`,
    '',
    'The breach latency is the rest of the 10-second period plus up to 5 s to the next evaluation (every alarm is',
    'evaluated every 5 s); publishing wakes the delivery worker at once. Raw points are kept 3 hours (sub-minute periods',
    'and exact percentiles); what is older is read from the per-minute rollup, one row per metric and hour.',
  ];
}
