/** The registry of CloudWatch actions, keyed by name (one module per family). */
import type { Action } from '../action';
import { getMetricData, getMetricStatistics, listMetrics, putMetricData } from './metrics';
import {
  deleteAlarms,
  describeAlarmHistory,
  describeAlarms,
  describeAlarmsForMetric,
  disableAlarmActions,
  enableAlarmActions,
  putMetricAlarm,
  setAlarmState,
} from './alarms';
import { listTagsForResource, tagResource, untagResource } from './tags';

const ALL: Action[] = [
  putMetricData,
  getMetricStatistics,
  getMetricData,
  listMetrics,
  putMetricAlarm,
  describeAlarms,
  describeAlarmsForMetric,
  describeAlarmHistory,
  deleteAlarms,
  setAlarmState,
  enableAlarmActions,
  disableAlarmActions,
  listTagsForResource,
  tagResource,
  untagResource,
];

export function cloudwatchActionRegistry(): Map<string, Action> {
  return new Map(ALL.map((a) => [a.name, a]));
}
