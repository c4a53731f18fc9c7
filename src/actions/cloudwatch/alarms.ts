/** PutMetricAlarm, DescribeAlarms, DescribeAlarmsForMetric, DescribeAlarmHistory, DeleteAlarms, SetAlarmState, actions on/off. */
import { defineCloudWatchAction } from '../action';
import { errors } from '../../domain/errors';
import { validateTags } from '../../domain/tags';
import type { AlarmRow } from '../../domain/metric-alarms';
import type { TreatMissingData, AlarmState } from '../../domain/alarm-evaluation';
import type { MetricAlarm } from '../../protocol/model/cloudwatch-shapes';
import type { Services } from '../../services';

export function alarmView(services: Services, a: AlarmRow): MetricAlarm {
  return {
    AlarmName: a.name,
    AlarmArn: services.alarms.arn(a.account_id, a.name),
    AlarmDescription: a.description ?? undefined,
    AlarmConfigurationUpdatedTimestamp: a.configuration_updated_at,
    ActionsEnabled: a.actions_enabled,
    OKActions: a.ok_actions,
    AlarmActions: a.alarm_actions,
    InsufficientDataActions: a.insufficient_data_actions,
    StateValue: a.state_value,
    StateReason: a.state_reason,
    StateReasonData: a.state_reason_data ?? undefined,
    StateUpdatedTimestamp: a.state_updated_at,
    StateTransitionedTimestamp: a.state_transitioned_at,
    MetricName: a.metric_name,
    Namespace: a.namespace,
    Statistic: a.statistic ?? undefined,
    ExtendedStatistic: a.extended_statistic ?? undefined,
    Dimensions: a.dimensions,
    Period: a.period,
    Unit: a.unit ?? undefined,
    EvaluationPeriods: a.evaluation_periods,
    DatapointsToAlarm: a.datapoints_to_alarm ?? undefined,
    Threshold: a.threshold,
    ComparisonOperator: a.comparison_operator,
    TreatMissingData: a.treat_missing_data,
    EvaluateLowSampleCountPercentile: a.evaluate_low_sample_count_percentile ?? undefined,
  };
}

export const putMetricAlarm = defineCloudWatchAction('PutMetricAlarm', async (input, { caller, services }) => {
  for (const unsupported of ['Metrics', 'ThresholdMetricId', 'EvaluationCriteria', 'EvaluationInterval'] as const) {
    if (input[unsupported] !== undefined)
      throw errors.invalidParameterValue(
        unsupported,
        '',
        'Alarms on metric math, anomaly detection or PromQL are not supported here; give MetricName, Namespace and a Statistic.',
      );
  }
  for (const required of ['MetricName', 'Namespace', 'Period', 'EvaluationPeriods', 'Threshold', 'ComparisonOperator'] as const) {
    if (input[required] === undefined) throw errors.missingParameter(required);
  }
  const tags = validateTags(input.Tags ?? [], 'Tags');
  await services.alarms.put(caller.accountId, {
    name: input.AlarmName,
    description: input.AlarmDescription,
    actionsEnabled: input.ActionsEnabled ?? true,
    okActions: input.OKActions ?? [],
    alarmActions: input.AlarmActions ?? [],
    insufficientDataActions: input.InsufficientDataActions ?? [],
    namespace: input.Namespace!,
    metricName: input.MetricName!,
    dimensions: input.Dimensions ?? [],
    statistic: input.Statistic,
    extendedStatistic: input.ExtendedStatistic,
    period: input.Period!,
    unit: input.Unit,
    evaluationPeriods: input.EvaluationPeriods!,
    datapointsToAlarm: input.DatapointsToAlarm,
    threshold: input.Threshold!,
    comparisonOperator: input.ComparisonOperator!,
    treatMissingData: (input.TreatMissingData ?? 'missing') as TreatMissingData,
    evaluateLowSampleCountPercentile: input.EvaluateLowSampleCountPercentile,
    tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
  });
});

export const describeAlarms = defineCloudWatchAction('DescribeAlarms', async (input, { caller, services }) => {
  if (input.AlarmNames && input.AlarmNamePrefix) throw errors.invalidParameterCombination('AlarmNames and AlarmNamePrefix cannot be given together.');
  if (input.MaxRecords !== undefined && (input.MaxRecords < 1 || input.MaxRecords > 100))
    throw errors.invalidParameterValue('MaxRecords', String(input.MaxRecords), 'It must be between 1 and 100.');
  if (input.StateValue && !['OK', 'ALARM', 'INSUFFICIENT_DATA'].includes(input.StateValue)) throw errors.invalidParameterValue('StateValue', input.StateValue);
  // composite alarms do not exist here: asking only for them, or for an alarm's parents or children, finds none
  const metricAlarms = !input.AlarmTypes?.length || input.AlarmTypes.includes('MetricAlarm');
  if (!metricAlarms || input.ChildrenOfAlarmName || input.ParentsOfAlarmName) return { MetricAlarms: [], CompositeAlarms: [] };
  const { alarms, nextToken } = await services.alarms.describe(caller.accountId, {
    names: input.AlarmNames,
    prefix: input.AlarmNamePrefix,
    state: input.StateValue,
    actionPrefix: input.ActionPrefix,
    maxRecords: input.MaxRecords,
    nextToken: input.NextToken,
  });
  return { MetricAlarms: alarms.map((a) => alarmView(services, a)), CompositeAlarms: [], NextToken: nextToken };
});

export const describeAlarmsForMetric = defineCloudWatchAction('DescribeAlarmsForMetric', async (input, { caller, services }) => {
  const alarms = await services.alarms.forMetric(caller.accountId, {
    namespace: input.Namespace,
    metricName: input.MetricName,
    dimensions: input.Dimensions,
    statistic: input.Statistic,
    extendedStatistic: input.ExtendedStatistic,
    period: input.Period,
    unit: input.Unit,
  });
  return { MetricAlarms: alarms.map((a) => alarmView(services, a)) };
});

export const describeAlarmHistory = defineCloudWatchAction('DescribeAlarmHistory', async (input, { caller, services }) => {
  if (
    input.HistoryItemType &&
    !['ConfigurationUpdate', 'StateUpdate', 'Action', 'AlarmContributorStateUpdate', 'AlarmContributorAction'].includes(input.HistoryItemType)
  )
    throw errors.invalidParameterValue('HistoryItemType', input.HistoryItemType);
  if (input.AlarmTypes?.length && !input.AlarmTypes.includes('MetricAlarm')) return { AlarmHistoryItems: [] };
  const { items, nextToken } = await services.alarms.history(caller.accountId, {
    name: input.AlarmName,
    type: input.HistoryItemType,
    start: input.StartDate ? new Date(input.StartDate) : undefined,
    end: input.EndDate ? new Date(input.EndDate) : undefined,
    maxRecords: input.MaxRecords,
    nextToken: input.NextToken,
    oldestFirst: input.ScanBy === 'TimestampAscending',
  });
  return {
    AlarmHistoryItems: items.map((h) => ({
      AlarmName: h.alarm_name,
      AlarmType: 'MetricAlarm',
      Timestamp: h.at,
      HistoryItemType: h.item_type,
      HistorySummary: h.summary,
      HistoryData: JSON.stringify(h.data),
    })),
    NextToken: nextToken,
  };
});

export const deleteAlarms = defineCloudWatchAction('DeleteAlarms', async (input, { caller, services }) => {
  if (input.AlarmNames.length > 100) throw errors.invalidParameterValue('AlarmNames', String(input.AlarmNames.length), 'At most 100 alarms per call.');
  await services.alarms.delete(caller.accountId, input.AlarmNames);
});

export const setAlarmState = defineCloudWatchAction('SetAlarmState', async (input, { caller, services }) => {
  if (!['OK', 'ALARM', 'INSUFFICIENT_DATA'].includes(input.StateValue)) throw errors.invalidParameterValue('StateValue', input.StateValue);
  await services.alarms.setState(caller.accountId, input.AlarmName, input.StateValue as AlarmState, input.StateReason, input.StateReasonData);
});

export const enableAlarmActions = defineCloudWatchAction('EnableAlarmActions', async (input, { caller, services }) => {
  await services.alarms.setActionsEnabled(caller.accountId, input.AlarmNames, true);
});

export const disableAlarmActions = defineCloudWatchAction('DisableAlarmActions', async (input, { caller, services }) => {
  await services.alarms.setActionsEnabled(caller.accountId, input.AlarmNames, false);
});
