/**
 * CloudWatch metric alarms: their configuration, state and history, and their evaluation (every few seconds, by the
 * leader) against the metrics, with AWS's rules (alarm-evaluation.ts). On each state change the alarm's actions for
 * the new state run, when its actions are enabled: an SNS topic gets the alarm's JSON, and the EC2 actions
 * (`arn:aws:automate:REGION:ec2:stop|terminate|reboot`) act on the instance of its `InstanceId` dimension through
 * the same state changes as StopInstances, TerminateInstances and RebootInstances, and OAR Cloud's own
 * `arn:aws:oarcloud:REGION::resize/TYPE` resizes it in place (with a cooldown against flapping).
 */
import type { Knex } from 'knex';
import { findInstanceType } from './instance-types';
import { errors } from './errors';
import { evaluateAlarm, COMPARISON_OPERATORS, type AlarmState, type TreatMissingData, type PeriodValue } from './alarm-evaluation';
import { sortDimensions, type Dimension, type Metrics } from './metrics';
import { envLimit } from './quotas';
import { decodeToken, encodeToken } from './pagination';

export const MAX_ALARMS = envLimit(process.env, 'OARCLOUD_MAX_ALARMS', 5000);

export interface AlarmConfig {
  name: string;
  description?: string;
  actionsEnabled: boolean;
  okActions: string[];
  alarmActions: string[];
  insufficientDataActions: string[];
  namespace: string;
  metricName: string;
  dimensions: Dimension[];
  statistic?: string;
  extendedStatistic?: string;
  period: number;
  unit?: string;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
  threshold: number;
  comparisonOperator: string;
  treatMissingData: TreatMissingData;
  evaluateLowSampleCountPercentile?: string;
  tags: Record<string, string>;
}

export interface AlarmRow {
  account_id: string;
  name: string;
  description: string | null;
  actions_enabled: boolean;
  ok_actions: string[];
  alarm_actions: string[];
  insufficient_data_actions: string[];
  namespace: string;
  metric_name: string;
  dimensions: Dimension[];
  statistic: string | null;
  extended_statistic: string | null;
  period: number;
  unit: string | null;
  evaluation_periods: number;
  datapoints_to_alarm: number | null;
  threshold: number;
  comparison_operator: string;
  treat_missing_data: TreatMissingData;
  evaluate_low_sample_count_percentile: string | null;
  state_value: AlarmState;
  state_reason: string;
  state_reason_data: string | null;
  state_updated_at: Date;
  state_transitioned_at: Date;
  configuration_updated_at: Date;
  tags: Record<string, string>;
}

export interface HistoryRow {
  alarm_name: string;
  at: Date;
  item_type: 'ConfigurationUpdate' | 'StateUpdate' | 'Action';
  summary: string;
  data: object;
}

/** What an alarm's actions do, wired by the server: publishing to a topic, and acting on an instance. */
export interface AlarmActionTargets {
  publish(accountId: string, topicArn: string, subject: string, message: string): Promise<void>;
  instance(accountId: string, action: 'stop' | 'terminate' | 'reboot', instanceId: string): Promise<void>;
  /** Live resize of the instance to a type (OAR Cloud's own action); says whether it changed anything. */
  resize(accountId: string, instanceId: string, instanceType: string, by: string): Promise<'resized' | 'unchanged'>;
}

/**
 * OAR Cloud's resize action, `arn:aws:oarcloud:REGION::resize/TYPE`: AWS has none. It is not an `automate` ARN
 * because Terraform's provider accepts only stop, terminate, reboot and recover there; the account field stays empty.
 */
const RESIZE_ACTION = /^arn:aws:oarcloud:([a-z0-9-]+)::resize\/([a-z0-9.-]+)$/;

const PERCENTILE = /^p(100|\d{1,2}(\.\d{1,2})?)$/;

export function alarmArn(region: string, accountId: string, name: string): string {
  return `arn:aws:cloudwatch:${region}:${accountId}:alarm:${name}`;
}

const REGION_NAMES: Record<string, string> = { 'us-east-1': 'US East (N. Virginia)' };

export class MetricAlarms {
  /** Each alarm's actions started by an evaluation and not yet run, by "account/name". */
  private readonly actionsUnderWay = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Knex,
    private readonly metrics: Metrics,
    private readonly region: string,
    private targets?: AlarmActionTargets,
  ) {}

  /** Wires the actions once the services they need exist. */
  setTargets(targets: AlarmActionTargets): void {
    this.targets = targets;
  }

  arn(accountId: string, name: string): string {
    return alarmArn(this.region, accountId, name);
  }

  /** Checks a configuration as PutMetricAlarm must, with CloudWatch's codes. */
  validate(c: AlarmConfig): void {
    const bad = (name: string, value: unknown, why: string) => errors.invalidParameterValue(name, String(value), why);
    if (!c.name || c.name.length > 255) throw bad('AlarmName', c.name, 'It must be 1 to 255 characters.');
    if ((c.statistic ? 1 : 0) + (c.extendedStatistic ? 1 : 0) !== 1)
      throw errors.invalidParameterCombination('Exactly one of Statistic and ExtendedStatistic must be specified.');
    if (c.extendedStatistic && !PERCENTILE.test(c.extendedStatistic))
      throw bad('ExtendedStatistic', c.extendedStatistic, 'Only percentiles p0.0 to p99.99 (like p90) are supported.');
    if (![10, 20, 30].includes(c.period) && (c.period < 60 || c.period % 60 !== 0))
      throw bad('Period', c.period, 'The period must be 10, 20, 30 or a multiple of 60 seconds.');
    if (c.evaluationPeriods < 1) throw bad('EvaluationPeriods', c.evaluationPeriods, 'It must be at least 1.');
    if (c.period * c.evaluationPeriods > 7 * 86400)
      throw bad('EvaluationPeriods', c.evaluationPeriods, 'Period times EvaluationPeriods must not exceed one week.');
    if (c.datapointsToAlarm !== undefined && (c.datapointsToAlarm < 1 || c.datapointsToAlarm > c.evaluationPeriods))
      throw bad('DatapointsToAlarm', c.datapointsToAlarm, 'It must be between 1 and EvaluationPeriods.');
    if (!COMPARISON_OPERATORS.includes(c.comparisonOperator))
      throw bad('ComparisonOperator', c.comparisonOperator, `Anomaly detection operators are not supported; use one of ${COMPARISON_OPERATORS.join(', ')}.`);
    if (!['missing', 'ignore', 'breaching', 'notBreaching'].includes(c.treatMissingData))
      throw bad('TreatMissingData', c.treatMissingData, 'It must be missing, ignore, breaching or notBreaching.');
    if (c.dimensions.length > 30) throw bad('Dimensions', c.dimensions.length, 'At most 30 dimensions are allowed.');
    for (const arn of [...c.okActions, ...c.alarmActions, ...c.insufficientDataActions]) {
      const ec2 = /^arn:aws:automate:([a-z0-9-]+):ec2:(stop|terminate|reboot|recover)$/.exec(arn);
      if (ec2) {
        if (ec2[1] !== this.region) throw bad('AlarmActions', arn, `The region must be ${this.region}.`);
        if (ec2[2] === 'recover') throw bad('AlarmActions', arn, 'The recover action is not supported: instances are containers on OAR nodes.');
        if (c.namespace !== 'AWS/EC2' || !c.dimensions.some((d) => d.Name === 'InstanceId'))
          throw bad('AlarmActions', arn, 'EC2 actions are valid only for alarms on an EC2 per-instance metric (dimension InstanceId).');
        continue;
      }
      const resize = RESIZE_ACTION.exec(arn);
      if (resize) {
        if (resize[1] !== this.region) throw bad('AlarmActions', arn, `The region must be ${this.region}.`);
        if (!findInstanceType(resize[2])) throw bad('AlarmActions', arn, `${resize[2]} is not an instance type.`);
        if (c.namespace !== 'AWS/EC2' || !c.dimensions.some((d) => d.Name === 'InstanceId'))
          throw bad('AlarmActions', arn, 'Resize actions are valid only for alarms on an EC2 per-instance metric (dimension InstanceId).');
        continue;
      }
      if (!/^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(arn))
        throw bad(
          'AlarmActions',
          arn,
          'Actions must be SNS topic ARNs, arn:aws:automate:REGION:ec2:stop|terminate|reboot or arn:aws:oarcloud:REGION::resize/TYPE.',
        );
    }
  }

  async put(accountId: string, c: AlarmConfig): Promise<void> {
    this.validate(c);
    await this.db.transaction(async (trx) => {
      const existing = await trx('metric_alarms').where({ account_id: accountId, name: c.name }).forUpdate().first('name');
      if (!existing) {
        const [{ n }] = await trx('metric_alarms').where({ account_id: accountId }).count({ n: '*' });
        if (Number(n) >= MAX_ALARMS) throw errors.cloudwatchLimitExceeded(`The maximum number of alarms (${MAX_ALARMS}) has been reached.`);
      }
      const row = {
        description: c.description ?? null,
        actions_enabled: c.actionsEnabled,
        ok_actions: c.okActions,
        alarm_actions: c.alarmActions,
        insufficient_data_actions: c.insufficientDataActions,
        namespace: c.namespace,
        metric_name: c.metricName,
        dimensions: JSON.stringify(sortDimensions(c.dimensions)),
        statistic: c.statistic ?? null,
        extended_statistic: c.extendedStatistic ?? null,
        period: c.period,
        unit: c.unit ?? null,
        evaluation_periods: c.evaluationPeriods,
        datapoints_to_alarm: c.datapointsToAlarm ?? null,
        threshold: c.threshold,
        comparison_operator: c.comparisonOperator,
        treat_missing_data: c.treatMissingData,
        evaluate_low_sample_count_percentile: c.evaluateLowSampleCountPercentile ?? null,
        configuration_updated_at: trx.fn.now(),
      };
      if (existing) {
        // AWS keeps the state of an updated alarm, and its tags unless new ones are given
        await trx('metric_alarms')
          .where({ account_id: accountId, name: c.name })
          .update({ ...row, ...(Object.keys(c.tags).length ? { tags: trx.raw('tags || ?::jsonb', [JSON.stringify(c.tags)]) } : {}) });
      } else {
        await trx('metric_alarms').insert({ ...row, account_id: accountId, name: c.name, tags: JSON.stringify(c.tags) });
      }
      await trx('alarm_history').insert({
        account_id: accountId,
        alarm_name: c.name,
        item_type: 'ConfigurationUpdate',
        summary: `Alarm "${c.name}" ${existing ? 'updated' : 'created'}`,
        data: JSON.stringify({ type: existing ? 'Update' : 'Create', version: '1.0' }),
      });
    });
  }

  async describe(
    accountId: string,
    f: { names?: string[]; prefix?: string; state?: string; actionPrefix?: string; maxRecords?: number; nextToken?: string },
  ): Promise<{ alarms: AlarmRow[]; nextToken?: string }> {
    const q = this.db('metric_alarms').where('account_id', accountId).orderBy('name');
    if (f.names?.length) q.whereIn('name', f.names);
    if (f.prefix) q.whereRaw('starts_with(name, ?)', [f.prefix]);
    if (f.state) q.where('state_value', f.state);
    if (f.actionPrefix) {
      q.whereRaw('exists (select 1 from unnest(ok_actions || alarm_actions || insufficient_data_actions) a where starts_with(a, ?))', [f.actionPrefix]);
    }
    const after = decodeToken(f.nextToken);
    if (after !== undefined) q.where('name', '>', after);
    const max = Math.min(f.maxRecords ?? 50, 100);
    const rows: AlarmRow[] = await q.limit(max + 1).select('*');
    const page = rows.slice(0, max).map(numeric);
    return { alarms: page, nextToken: rows.length > max ? encodeToken(page[page.length - 1].name) : undefined };
  }

  async forMetric(
    accountId: string,
    f: { namespace: string; metricName: string; dimensions?: Dimension[]; statistic?: string; extendedStatistic?: string; period?: number; unit?: string },
  ): Promise<AlarmRow[]> {
    const q = this.db('metric_alarms').where({ account_id: accountId, namespace: f.namespace, metric_name: f.metricName }).orderBy('name');
    if (f.dimensions) q.whereRaw('dimensions = ?::jsonb', [JSON.stringify(sortDimensions(f.dimensions))]);
    if (f.statistic) q.where('statistic', f.statistic);
    if (f.extendedStatistic) q.where('extended_statistic', f.extendedStatistic);
    if (f.period) q.where('period', f.period);
    if (f.unit) q.where('unit', f.unit);
    return (await q.select('*')).map(numeric);
  }

  async history(
    accountId: string,
    f: { name?: string; type?: string; start?: Date; end?: Date; maxRecords?: number; nextToken?: string; oldestFirst?: boolean },
  ): Promise<{ items: HistoryRow[]; nextToken?: string }> {
    const q = this.db('alarm_history').where('account_id', accountId);
    if (f.name) q.where('alarm_name', f.name);
    if (f.type) q.where('item_type', f.type);
    if (f.start) q.where('at', '>=', f.start);
    if (f.end) q.where('at', '<', f.end);
    const after = decodeToken(f.nextToken);
    if (after !== undefined) q.where('id', f.oldestFirst ? '>' : '<', Number(after));
    const max = Math.min(f.maxRecords ?? 100, 100);
    const rows = await q
      .orderBy('id', f.oldestFirst ? 'asc' : 'desc')
      .limit(max + 1)
      .select('id', 'alarm_name', 'at', 'item_type', 'summary', 'data');
    const page = rows.slice(0, max);
    return { items: page, nextToken: rows.length > max ? encodeToken(String(page[page.length - 1].id)) : undefined };
  }

  async delete(accountId: string, names: string[]): Promise<void> {
    await this.db.transaction(async (trx) => {
      const found = new Set((await trx('metric_alarms').where('account_id', accountId).whereIn('name', names).pluck('name')) as string[]);
      const missing = names.filter((n) => !found.has(n));
      if (missing.length) throw errors.alarmNotFound(missing.join(', '));
      await trx('metric_alarms').where('account_id', accountId).whereIn('name', names).delete();
      await trx('alarm_history').where('account_id', accountId).whereIn('alarm_name', names).delete();
    });
  }

  async setActionsEnabled(accountId: string, names: string[], enabled: boolean): Promise<void> {
    await this.db('metric_alarms').where('account_id', accountId).whereIn('name', names).update({ actions_enabled: enabled });
  }

  /** SetAlarmState: the state until the next evaluation says otherwise; its actions run. */
  async setState(accountId: string, name: string, state: AlarmState, reason: string, reasonData?: string): Promise<void> {
    if (reasonData !== undefined) {
      try {
        JSON.parse(reasonData);
      } catch {
        throw errors.invalidFormat('StateReasonData must be a valid JSON document.');
      }
    }
    const row = await this.db('metric_alarms').where({ account_id: accountId, name }).first('*');
    if (!row) throw errors.alarmNotFound(name);
    await this.transition(numeric(row), state, reason, reasonData ?? null, new Date(), true);
  }

  async tags(accountId: string, name: string): Promise<Record<string, string>> {
    const row = await this.db('metric_alarms').where({ account_id: accountId, name }).first('tags');
    if (!row) throw errors.cloudwatchResourceNotFound(`The alarm ${name} does not exist.`);
    return row.tags;
  }

  async tag(accountId: string, name: string, tags: Record<string, string>): Promise<void> {
    const n = await this.db('metric_alarms')
      .where({ account_id: accountId, name })
      .update({ tags: this.db.raw('tags || ?::jsonb', [JSON.stringify(tags)]) });
    if (!n) throw errors.cloudwatchResourceNotFound(`The alarm ${name} does not exist.`);
  }

  async untag(accountId: string, name: string, keys: string[]): Promise<void> {
    const n = await this.db('metric_alarms')
      .where({ account_id: accountId, name })
      .update({ tags: this.db.raw('tags - ?::text[]', [keys]) });
    if (!n) throw errors.cloudwatchResourceNotFound(`The alarm ${name} does not exist.`);
  }

  /** Evaluates every alarm whose period has a new datapoint due; returns the number of state changes. */
  async evaluateAll(now = new Date()): Promise<number> {
    const rows: AlarmRow[] = (await this.db('metric_alarms').select('*')).map(numeric);
    let changed = 0;
    for (const row of rows) {
      const periods = await this.periodsOf(row, now);
      const statisticName = row.statistic ?? row.extended_statistic!;
      const result = evaluateAlarm(
        {
          threshold: row.threshold,
          comparisonOperator: row.comparison_operator,
          evaluationPeriods: row.evaluation_periods,
          datapointsToAlarm: row.datapoints_to_alarm,
          treatMissingData: row.treat_missing_data,
          period: row.period,
          statisticName,
        },
        periods,
        row.state_value,
        now,
      );
      if (result.state !== row.state_value) {
        await this.transition(row, result.state, result.reason, result.reasonData, now, false);
        changed++;
      }
    }
    return changed;
  }

  /** The alarm's last EvaluationPeriods complete periods, oldest first, null where there was no data. */
  private async periodsOf(row: AlarmRow, now: Date): Promise<PeriodValue[]> {
    const periodMs = row.period * 1000;
    const end = Math.floor(now.getTime() / periodMs) * periodMs;
    const start = end - row.evaluation_periods * periodMs;
    const percentile = row.extended_statistic ? Number(PERCENTILE.exec(row.extended_statistic)![1]) / 100 : undefined;
    const points = await this.metrics.statistics(row.account_id, {
      key: { namespace: row.namespace, name: row.metric_name, dimensions: row.dimensions },
      start: new Date(start),
      end: new Date(end),
      period: row.period,
      percentiles: percentile !== undefined ? { [row.extended_statistic!]: percentile } : undefined,
      unit: row.unit ?? undefined,
    });
    const byTime = new Map(points.map((p) => [p.at.getTime(), p]));
    const periods: PeriodValue[] = [];
    for (let t = start; t < end; t += periodMs) {
      const p = byTime.get(t);
      periods.push({ at: new Date(t), value: p ? statisticOf(p, row) : null, sampleCount: p?.sampleCount });
    }
    return periods;
  }

  private async transition(row: AlarmRow, state: AlarmState, reason: string, reasonData: string | null, now: Date, manual: boolean): Promise<void> {
    const old = row.state_value;
    const updated = await this.db('metric_alarms')
      .where({ account_id: row.account_id, name: row.name, state_value: old })
      .update({
        state_value: state,
        state_reason: reason,
        state_reason_data: reasonData,
        state_updated_at: now,
        ...(state !== old ? { state_transitioned_at: now } : {}),
      });
    if (!updated) return; // another evaluation changed it first
    await this.db('alarm_history').insert({
      account_id: row.account_id,
      alarm_name: row.name,
      at: now,
      item_type: 'StateUpdate',
      summary: `Alarm updated from ${old} to ${state}`,
      data: JSON.stringify({
        version: '1.0',
        oldState: { stateValue: old, stateReason: row.state_reason },
        newState: { stateValue: state, stateReason: reason, ...(reasonData ? { stateReasonData: JSON.parse(reasonData) } : {}) },
      }),
    });
    if (!row.actions_enabled || !this.targets || (state === old && !manual)) return;
    const actions = state === 'ALARM' ? row.alarm_actions : state === 'OK' ? row.ok_actions : row.insufficient_data_actions;
    const run = async () => {
      for (const arn of actions) await this.runAction(row, arn, old, state, reason, now);
    };
    // SetAlarmState answers once its actions ran; an evaluation goes on to the other alarms (a resize takes seconds)
    if (manual) await run();
    else this.queueActions(`${row.account_id}/${row.name}`, run);
  }

  /** Runs an alarm's actions after those it already has under way (in order, per alarm), in the background. */
  private queueActions(alarm: string, work: () => Promise<void>): void {
    const next = (this.actionsUnderWay.get(alarm) ?? Promise.resolve()).then(work).catch(() => undefined);
    this.actionsUnderWay.set(alarm, next);
    void next.then(() => {
      if (this.actionsUnderWay.get(alarm) === next) this.actionsUnderWay.delete(alarm);
    });
  }

  /** Until every action an evaluation started has run (a leader stepping down waits for them). */
  async idle(): Promise<void> {
    while (this.actionsUnderWay.size) await Promise.all(this.actionsUnderWay.values());
  }

  private async runAction(row: AlarmRow, arn: string, old: AlarmState, state: AlarmState, reason: string, now: Date): Promise<void> {
    let summary: string;
    try {
      const ec2 = /^arn:aws:automate:[^:]+:ec2:(stop|terminate|reboot)$/.exec(arn);
      const resize = RESIZE_ACTION.exec(arn);
      const instanceId = row.dimensions.find((d) => d.Name === 'InstanceId')?.Value;
      if ((ec2 || resize) && !instanceId) throw new Error('the alarm has no InstanceId dimension');
      if (ec2) {
        await this.targets!.instance(row.account_id, ec2[1] as 'stop' | 'terminate' | 'reboot', instanceId!);
      } else if (resize) {
        await this.targets!.resize(row.account_id, instanceId!, resize[2], `alarm ${row.name}`);
      } else {
        await this.targets!.publish(
          row.account_id,
          arn,
          `${state}: "${row.name}" in ${REGION_NAMES[this.region] ?? this.region}`,
          this.message(row, old, state, reason, now),
        );
      }
      summary = `Successfully executed action ${arn}`;
    } catch (err) {
      summary = `Failed to execute action ${arn}. Received error: "${String((err as Error)?.message ?? err)}"`;
    }
    await this.db('alarm_history').insert({
      account_id: row.account_id,
      alarm_name: row.name,
      at: new Date(),
      item_type: 'Action',
      summary,
      data: JSON.stringify({ actionState: summary.startsWith('Success') ? 'Succeeded' : 'Failed', notificationResource: arn }),
    });
  }

  /** The alarm notification SNS subscribers get, as CloudWatch writes it. */
  message(row: AlarmRow, old: AlarmState, state: AlarmState, reason: string, now: Date): string {
    return JSON.stringify({
      AlarmName: row.name,
      AlarmDescription: row.description,
      AWSAccountId: row.account_id,
      AlarmConfigurationUpdatedTimestamp: row.configuration_updated_at.toISOString().replace('Z', '+0000'),
      NewStateValue: state,
      NewStateReason: reason,
      StateChangeTime: now.toISOString().replace('Z', '+0000'),
      Region: REGION_NAMES[this.region] ?? this.region,
      AlarmArn: this.arn(row.account_id, row.name),
      OldStateValue: old,
      OKActions: row.ok_actions,
      AlarmActions: row.alarm_actions,
      InsufficientDataActions: row.insufficient_data_actions,
      Trigger: {
        MetricName: row.metric_name,
        Namespace: row.namespace,
        StatisticType: row.statistic ? 'Statistic' : 'ExtendedStatistic',
        Statistic: row.statistic ? row.statistic.toUpperCase().replace('SAMPLECOUNT', 'SAMPLE_COUNT') : undefined,
        ExtendedStatistic: row.extended_statistic ?? undefined,
        Unit: row.unit,
        Dimensions: row.dimensions.map((d) => ({ value: d.Value, name: d.Name })),
        Period: row.period,
        EvaluationPeriods: row.evaluation_periods,
        DatapointsToAlarm: row.datapoints_to_alarm ?? row.evaluation_periods,
        ComparisonOperator: row.comparison_operator,
        Threshold: row.threshold,
        TreatMissingData: row.treat_missing_data,
        EvaluateLowSampleCountPercentile: row.evaluate_low_sample_count_percentile ?? '',
      },
    });
  }
}

function statisticOf(
  p: { sampleCount: number; sum: number; minimum: number; maximum: number; average: number; percentiles: Record<string, number> },
  row: AlarmRow,
): number {
  switch (row.statistic) {
    case 'SampleCount':
      return p.sampleCount;
    case 'Sum':
      return p.sum;
    case 'Minimum':
      return p.minimum;
    case 'Maximum':
      return p.maximum;
    case 'Average':
      return p.average;
    default:
      return p.percentiles[row.extended_statistic!];
  }
}

/** pg returns double precision as numbers already; bigint counts and numerics as strings. */
function numeric(row: any): AlarmRow {
  return { ...row, threshold: Number(row.threshold) };
}
