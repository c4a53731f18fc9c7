/** PutMetricData, GetMetricStatistics, GetMetricData (metric stat queries), ListMetrics. */
import { defineCloudWatchAction } from '../action';
import { errors } from '../../domain/errors';
import { checkValue, type Dimension, type MetricData, type Sample } from '../../domain/metrics';
import { decodeToken, encodeToken } from '../../domain/pagination';
import type { Datapoint as DatapointShape, MetricDataResult } from '../../protocol/model/cloudwatch-shapes';

const STATISTICS = new Set(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']);
const PERCENTILE = /^p(100|\d{1,2}(\.\d{1,2})?)$/;
/** How far back and ahead PutMetricData takes timestamps (AWS: two weeks back, two hours ahead). */
const PAST_MS = 14 * 86400_000;
const FUTURE_MS = 2 * 3600_000;
const MAX_DATAPOINTS = 1440;

function checkDimensions(dimensions: Dimension[] | undefined, where: string): Dimension[] {
  const list = dimensions ?? [];
  if (list.length > 30) throw errors.invalidParameterValue(where, String(list.length), 'At most 30 dimensions are allowed.');
  const names = new Set<string>();
  for (const d of list) {
    if (!d.Name || d.Name.length > 255) throw errors.invalidParameterValue(`${where}.Name`, d.Name ?? '', 'Dimension names must be 1 to 255 characters.');
    if (!d.Value || d.Value.length > 1024)
      throw errors.invalidParameterValue(`${where}.Value`, d.Value ?? '', 'Dimension values must be 1 to 1024 characters.');
    if (names.has(d.Name)) throw errors.invalidParameterCombination(`The collection ${where} must not have duplicate dimension names (${d.Name}).`);
    names.add(d.Name);
  }
  return list;
}

/** A period: 1, 5, 10, 20, 30 or a multiple of 60 seconds. */
function checkPeriod(period: number, where = 'Period'): number {
  if (period < 1 || (period < 60 && ![1, 5, 10, 20, 30].includes(period)) || (period >= 60 && period % 60 !== 0))
    throw errors.invalidParameterValue(where, String(period), 'The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60.');
  return period;
}

function percentileOf(stat: string, where: string): number {
  const m = PERCENTILE.exec(stat);
  if (!m) throw errors.invalidParameterValue(where, stat, 'Statistics are SampleCount, Average, Sum, Minimum, Maximum or a percentile like p90.');
  return Number(m[1]) / 100;
}

export const putMetricData = defineCloudWatchAction('PutMetricData', async (input, { caller, services }) => {
  if (input.Namespace.startsWith('AWS/'))
    throw errors.invalidParameterValue('Namespace', input.Namespace, 'The AWS/ namespaces are reserved for the cloud’s own metrics.');
  if (!/^[^:].{0,254}$/s.test(input.Namespace) || input.Namespace.includes(':'))
    throw errors.invalidParameterValue('Namespace', input.Namespace, 'Namespaces are 1 to 255 characters without colons.');
  if (input.EntityMetricData?.length) throw errors.invalidParameterValue('EntityMetricData', '', 'Entity metric data is not supported here.');
  const data = input.MetricData ?? [];
  if (data.length === 0) throw errors.missingParameter('MetricData');
  if (data.length > 1000) throw errors.invalidParameterValue('MetricData', String(data.length), 'At most 1000 metric data are allowed per call.');
  const now = Date.now();
  const out: MetricData[] = data.map((d, i) => {
    const where = `MetricData.member.${i + 1}`;
    const at = d.Timestamp ? new Date(d.Timestamp) : new Date(now);
    if (at.getTime() < now - PAST_MS || at.getTime() > now + FUTURE_MS)
      throw errors.invalidParameterValue(`${where}.Timestamp`, at.toISOString(), 'Timestamps must be within the last two weeks and at most two hours ahead.');
    if (d.StorageResolution !== undefined && d.StorageResolution !== 1 && d.StorageResolution !== 60)
      throw errors.invalidParameterValue(`${where}.StorageResolution`, String(d.StorageResolution), 'It must be 1 or 60.');
    const given = [d.Value !== undefined, d.StatisticValues !== undefined, (d.Values?.length ?? 0) > 0].filter(Boolean).length;
    if (given !== 1) throw errors.invalidParameterCombination(`${where}: exactly one of Value, StatisticValues and Values must be given.`);
    let samples: Sample[];
    if (d.Value !== undefined) {
      const v = checkValue(`${where}.Value`, d.Value);
      samples = [{ at, n: 1, sum: v, min: v, max: v }];
    } else if (d.StatisticValues) {
      const s = d.StatisticValues;
      if (s.SampleCount <= 0 || s.Minimum > s.Maximum)
        throw errors.invalidParameterValue(`${where}.StatisticValues`, '', 'SampleCount must be positive and Minimum at most Maximum.');
      samples = [{ at, n: s.SampleCount, sum: checkValue(`${where}.StatisticValues.Sum`, s.Sum), min: s.Minimum, max: s.Maximum }];
    } else {
      const values = d.Values!;
      const counts = d.Counts ?? values.map(() => 1);
      if (values.length > 150 || counts.length !== values.length)
        throw errors.invalidParameterCombination(`${where}: Values holds at most 150 values, and Counts as many as Values.`);
      samples = values.map((v, j) => ({ at, n: counts[j], sum: checkValue(`${where}.Values.member.${j + 1}`, v) * counts[j], min: v, max: v }));
    }
    return { key: { namespace: input.Namespace, name: d.MetricName, dimensions: checkDimensions(d.Dimensions, `${where}.Dimensions`) }, unit: d.Unit, samples };
  });
  await services.metrics.put(caller.accountId, out);
});

export const getMetricStatistics = defineCloudWatchAction('GetMetricStatistics', async (input, { caller, services }) => {
  const statistics = input.Statistics ?? [];
  const extended = input.ExtendedStatistics ?? [];
  if (statistics.length === 0 && extended.length === 0) throw errors.missingParameter('Statistics or ExtendedStatistics');
  if (statistics.length > 0 && extended.length > 0) throw errors.invalidParameterCombination('Specify either Statistics or ExtendedStatistics, not both.');
  if (extended.length > 10) throw errors.invalidParameterValue('ExtendedStatistics', String(extended.length), 'At most 10 are allowed.');
  const start = new Date(input.StartTime);
  const end = new Date(input.EndTime);
  if (start >= end) throw errors.invalidParameterValue('StartTime', start.toISOString(), 'The parameter StartTime must be less than the parameter EndTime.');
  const period = checkPeriod(input.Period);
  const requested = Math.ceil((end.getTime() - start.getTime()) / 1000 / period);
  if (requested > MAX_DATAPOINTS)
    throw errors.invalidParameterCombination(
      `You have requested up to ${requested} datapoints, which exceeds the limit of ${MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
    );
  const points = await services.metrics.statistics(caller.accountId, {
    key: { namespace: input.Namespace, name: input.MetricName, dimensions: checkDimensions(input.Dimensions, 'Dimensions') },
    start,
    end,
    period,
    percentiles: Object.fromEntries(extended.map((e) => [e, percentileOf(e, 'ExtendedStatistics')])),
    unit: input.Unit,
  });
  const datapoints: DatapointShape[] = points.map((p) => ({
    Timestamp: p.at,
    ...(statistics.includes('SampleCount') ? { SampleCount: p.sampleCount } : {}),
    ...(statistics.includes('Average') ? { Average: p.average } : {}),
    ...(statistics.includes('Sum') ? { Sum: p.sum } : {}),
    ...(statistics.includes('Minimum') ? { Minimum: p.minimum } : {}),
    ...(statistics.includes('Maximum') ? { Maximum: p.maximum } : {}),
    ...(extended.length ? { ExtendedStatistics: p.percentiles } : {}),
    Unit: p.unit,
  }));
  return { Label: input.MetricName, Datapoints: datapoints };
});

export const getMetricData = defineCloudWatchAction('GetMetricData', async (input, { caller, services }) => {
  const queries = input.MetricDataQueries;
  if (queries.length === 0 || queries.length > 500) throw errors.invalidParameterValue('MetricDataQueries', String(queries.length), 'Give 1 to 500 queries.');
  const start = new Date(input.StartTime);
  const end = new Date(input.EndTime);
  if (start >= end) throw errors.invalidParameterValue('StartTime', start.toISOString(), 'The parameter StartTime must be less than the parameter EndTime.');
  const ids = new Set<string>();
  const results: MetricDataResult[] = [];
  const ascending = input.ScanBy === 'TimestampAscending';
  let budget = input.MaxDatapoints ?? 100_800;
  for (const [i, q] of queries.entries()) {
    const where = `MetricDataQueries.member.${i + 1}`;
    if (!/^[a-z][a-zA-Z0-9_]{0,254}$/.test(q.Id))
      throw errors.invalidParameterValue(`${where}.Id`, q.Id, 'Ids start with a lowercase letter and hold letters, digits and underscores.');
    if (ids.has(q.Id)) throw errors.invalidParameterValue(`${where}.Id`, q.Id, 'Ids must be unique.');
    ids.add(q.Id);
    if (q.Expression !== undefined)
      throw errors.invalidParameterValue(`${where}.Expression`, q.Expression, 'Metric math expressions are not supported here; query metrics with MetricStat.');
    if (!q.MetricStat) throw errors.missingParameter(`${where}.MetricStat`);
    if (q.AccountId && q.AccountId !== caller.accountId)
      throw errors.invalidParameterValue(`${where}.AccountId`, q.AccountId, 'Cross-account queries are not supported.');
    const stat = q.MetricStat.Stat;
    const percentile = STATISTICS.has(stat) ? undefined : percentileOf(stat, `${where}.MetricStat.Stat`);
    const metric = q.MetricStat.Metric;
    if (!metric.Namespace || !metric.MetricName) throw errors.missingParameter(`${where}.MetricStat.Metric.Namespace and MetricName`);
    const points = await services.metrics.statistics(caller.accountId, {
      key: { namespace: metric.Namespace, name: metric.MetricName, dimensions: checkDimensions(metric.Dimensions, `${where}.MetricStat.Metric.Dimensions`) },
      start,
      end,
      period: checkPeriod(q.MetricStat.Period, `${where}.MetricStat.Period`),
      percentiles: percentile !== undefined ? { [stat]: percentile } : undefined,
      unit: q.MetricStat.Unit,
    });
    if (q.ReturnData === false) continue;
    const ordered = ascending ? points : [...points].reverse();
    const kept = ordered.slice(0, Math.max(0, budget));
    budget -= kept.length;
    const value = (p: (typeof points)[number]) =>
      stat === 'SampleCount'
        ? p.sampleCount
        : stat === 'Sum'
          ? p.sum
          : stat === 'Minimum'
            ? p.minimum
            : stat === 'Maximum'
              ? p.maximum
              : stat === 'Average'
                ? p.average
                : p.percentiles[stat];
    results.push({
      Id: q.Id,
      Label: q.Label ?? metric.MetricName,
      Timestamps: kept.map((p) => p.at),
      Values: kept.map(value),
      StatusCode: kept.length < ordered.length ? 'PartialData' : 'Complete',
    });
  }
  return { MetricDataResults: results, Messages: [] };
});

export const listMetrics = defineCloudWatchAction('ListMetrics', async (input, { caller, services }) => {
  if (input.RecentlyActive !== undefined && input.RecentlyActive !== 'PT3H')
    throw errors.invalidParameterValue('RecentlyActive', input.RecentlyActive, 'The only value is PT3H.');
  if (input.OwningAccount && input.OwningAccount !== caller.accountId) return { Metrics: [] };
  const after = decodeToken(input.NextToken);
  const all = await services.metrics.list(caller.accountId, {
    namespace: input.Namespace,
    name: input.MetricName,
    dimensions: input.Dimensions,
    recentSince: input.RecentlyActive ? new Date(Date.now() - 3 * 3600_000) : undefined,
  });
  const rest = after === undefined ? all : all.filter((m) => m.id > Number(after));
  const page = rest.slice(0, 500);
  return {
    Metrics: page.map((m) => ({ Namespace: m.namespace, MetricName: m.name, Dimensions: m.dimensions })),
    NextToken: rest.length > 500 ? encodeToken(String(page[page.length - 1].id)) : undefined,
  };
});
