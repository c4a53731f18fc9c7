/**
 * CloudWatch metrics: each account's namespace + name + exact set of dimensions, its values as they came (points,
 * 3 hours) and their per-minute rollup (hours, kept OARCLOUD_METRIC_RETENTION_DAYS): see sql/012_monitoring.sql.
 * Statistics over the last three hours come from the points, exactly (percentiles too); older ones from the rollup,
 * where a percentile is that of the minutes' averages.
 */
import type { Knex } from 'knex';
import { errors } from './errors';
import { envLimit } from './quotas';

export interface Dimension {
  Name: string;
  Value: string;
}
export interface MetricKey {
  namespace: string;
  name: string;
  dimensions: Dimension[];
}
/** One value, or a statistic set (PutMetricData's StatisticValues), at a time. */
export interface Sample {
  at: Date;
  n: number;
  sum: number;
  min: number;
  max: number;
}
export interface MetricData {
  key: MetricKey;
  unit?: string;
  samples: Sample[];
}
export interface StatisticsQuery {
  key: MetricKey;
  start: Date;
  end: Date;
  period: number;
  /** Percentiles as fractions ("p90" → 0.9), by their name. */
  percentiles?: Record<string, number>;
  unit?: string;
}
export interface Datapoint {
  at: Date;
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
  average: number;
  percentiles: Record<string, number>;
  unit: string;
}

/**
 * How long raw points stay (AWS keeps sub-minute data 3 hours), and the per-minute rollup: 63 days by default, as long
 * as AWS keeps 5-minute data (it keeps hourly data 455 days; here a longer history costs its minutes: ~2.2 MiB per
 * instance and week, see the README).
 */
export const POINTS_RETENTION_MS = 3 * 3600_000;
const ROLLUP_RETENTION_HOURS = envLimit(process.env, 'OARCLOUD_METRIC_RETENTION_DAYS', 63) * 24;
/** The minutes the rollup leaves to late samples before folding a minute in. */
const ROLLUP_LAG_MS = 60_000;
/** Most minutes one rollup pass folds (a server back after a long stop catches up over several passes). */
const ROLLUP_MAX_MINUTES = 240;

/** The canonical text of a dimension set: the key a metric is unique by. */
export function dimensionsKey(dimensions: Dimension[]): string {
  return sortDimensions(dimensions)
    .map((d) => `${d.Name}=${d.Value}`)
    .join('\n');
}
export function sortDimensions(dimensions: Dimension[]): Dimension[] {
  return [...dimensions].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

export class Metrics {
  /** Metric ids by account and key, so that the collector's every sample does not look them up again. */
  private readonly ids = new Map<string, { id: number; unit: string | null }>();

  constructor(private readonly db: Knex) {}

  /** Stores samples (PutMetricData, the collector), creating the metrics they are for. */
  async put(accountId: string, data: MetricData[]): Promise<void> {
    if (data.length === 0) return;
    const ids = await this.idsOf(accountId, data);
    const points = data.flatMap((d, i) => d.samples.map((s) => ({ metric_id: ids[i], at: s.at, n: s.n, sum: s.sum, min: s.min, max: s.max })));
    if (points.length === 0) return;
    await this.db.transaction(async (trx) => {
      for (let i = 0; i < points.length; i += 5000) await trx('metric_points').insert(points.slice(i, i + 5000));
      // points older than the rollup's watermark are folded in at once (the rollup has passed their minute)
      const [{ watermark }] = await trx('metric_rollup').select('watermark');
      const late = points.filter((p) => p.at < watermark);
      for (const p of late) await foldMinute(trx, p.at, p.metric_id, p);
    });
  }

  private async idsOf(accountId: string, data: MetricData[]): Promise<number[]> {
    const keyOf = (d: MetricData) => `${accountId}\n${d.key.namespace}\n${d.key.name}\n${dimensionsKey(d.key.dimensions)}`;
    // only new metrics, or a new unit, need the upsert: the collector's every pass would otherwise rewrite them all
    const missing = data.filter((d) => {
      const known = this.ids.get(keyOf(d));
      return !known || (d.unit !== undefined && d.unit !== known.unit);
    });
    if (missing.length) {
      const unique = [...new Map(missing.map((d) => [keyOf(d), d])).values()];
      const rows: { id: string; namespace: string; name: string; dimensions_key: string; unit: string | null }[] = await this.db('metrics')
        .insert(
          unique.map((d) => ({
            account_id: accountId,
            namespace: d.key.namespace,
            name: d.key.name,
            dimensions: JSON.stringify(sortDimensions(d.key.dimensions)),
            dimensions_key: dimensionsKey(d.key.dimensions),
            unit: d.unit ?? null,
          })),
        )
        .onConflict(['account_id', 'namespace', 'name', 'dimensions_key'])
        .merge({ unit: this.db.raw('coalesce(excluded.unit, metrics.unit)'), last_at: this.db.fn.now() })
        .returning(['id', 'namespace', 'name', 'dimensions_key', 'unit']);
      for (const r of rows) this.ids.set(`${accountId}\n${r.namespace}\n${r.name}\n${r.dimensions_key}`, { id: Number(r.id), unit: r.unit });
    }
    return data.map((d) => this.ids.get(keyOf(d))!.id);
  }

  /** Forgets cached ids (an account and its metrics were deleted). */
  forget(): void {
    this.ids.clear();
  }

  /** The datapoints of one metric, one per period with data, oldest first. */
  async statistics(accountId: string, q: StatisticsQuery): Promise<Datapoint[]> {
    const metric = await this.db('metrics')
      .where({ account_id: accountId, namespace: q.key.namespace, name: q.key.name, dimensions_key: dimensionsKey(q.key.dimensions) })
      .first('id', 'unit');
    if (!metric) return [];
    const unit: string = metric.unit ?? 'None';
    if (q.unit && q.unit !== unit) return [];
    const percentiles = Object.entries(q.percentiles ?? {});
    const fractions = percentiles.map(([, f]) => f);
    const startS = q.start.getTime() / 1000;
    const endS = q.end.getTime() / 1000;
    const pctSql = fractions.length ? ', percentile_cont(?::float8[]) within group (order by v) as pct' : ', null as pct';
    const pctArgs = fractions.length ? [fractions] : [];
    let rows: { bucket: number; n: number; s: number; mn: number; mx: number; pct: number[] | null }[];
    const exact = q.start.getTime() >= Date.now() - POINTS_RETENTION_MS + ROLLUP_LAG_MS || q.period < 60;
    if (exact) {
      rows = (
        await this.db.raw(
          `select floor(extract(epoch from at) / ?) * ? as bucket, sum(n) as n, sum(sum) as s, min(min) as mn, max(max) as mx ${pctSql}
             from (select at, n, sum, min, max, sum / n as v from metric_points where metric_id = ? and at >= to_timestamp(?) and at < to_timestamp(?)) p
            group by 1 order by 1`,
          [q.period, q.period, ...pctArgs, metric.id, startS, endS],
        )
      ).rows;
    } else {
      // the rollup before the watermark, the points from it on
      rows = (
        await this.db.raw(
          `with wm as (select extract(epoch from watermark) as w from metric_rollup),
           minutes as (
             select h.hour * 3600 + (u.i - 1) * 60 as t, u.n, u.s, u.mn, u.mx
               from metric_hours h, unnest(h.n, h.sum, h.min, h.max) with ordinality as u(n, s, mn, mx, i), wm
              where h.metric_id = ? and h.hour between floor(? / 3600) and floor(? / 3600) and u.n is not null
                and h.hour * 3600 + (u.i - 1) * 60 >= ? and h.hour * 3600 + (u.i - 1) * 60 < least(?, wm.w)
             union all
             select extract(epoch from at), n, sum, min, max from metric_points, wm
              where metric_id = ? and at >= greatest(to_timestamp(?), to_timestamp(wm.w)) and at < to_timestamp(?)
           )
           select floor(t / ?) * ? as bucket, sum(n) as n, sum(s) as s, min(mn) as mn, max(mx) as mx
                  ${fractions.length ? ', percentile_cont(?::float8[]) within group (order by s / n) as pct' : ', null as pct'}
             from minutes group by 1 order by 1`,
          [metric.id, startS, endS, startS, endS, metric.id, startS, endS, q.period, q.period, ...pctArgs],
        )
      ).rows;
    }
    return rows.map((r) => {
      const n = Number(r.n);
      const sum = Number(r.s);
      return {
        at: new Date(Number(r.bucket) * 1000),
        sampleCount: n,
        sum,
        minimum: Number(r.mn),
        maximum: Number(r.mx),
        average: sum / n,
        percentiles: Object.fromEntries(percentiles.map(([name], i) => [name, Number(r.pct?.[i])])),
        unit,
      };
    });
  }

  /** The account's metrics that had data in the last two weeks (or `recentSince`), matching the filters. */
  async list(
    accountId: string,
    filter: { namespace?: string; name?: string; dimensions?: { Name: string; Value?: string }[]; recentSince?: Date },
  ): Promise<(MetricKey & { id: number })[]> {
    const q = this.db('metrics')
      .where('account_id', accountId)
      .where('last_at', '>=', filter.recentSince ?? new Date(Date.now() - 14 * 86400_000))
      .orderBy('id')
      .select('id', 'namespace', 'name', 'dimensions');
    if (filter.namespace) q.where('namespace', filter.namespace);
    if (filter.name) q.where('name', filter.name);
    for (const d of filter.dimensions ?? []) {
      const match = d.Value === undefined ? [{ Name: d.Name }] : [{ Name: d.Name, Value: d.Value }];
      q.whereRaw('dimensions @> ?::jsonb', [JSON.stringify(match)]);
    }
    const rows = await q;
    return rows.map((r: any) => ({ id: Number(r.id), namespace: r.namespace, name: r.name, dimensions: r.dimensions }));
  }

  /**
   * Folds complete minutes into the rollup, one minute per transaction, marks the metrics that got data as recent,
   * and drops points and rollup rows past their retention. Run by the leader every few seconds.
   */
  async rollup(now = new Date()): Promise<number> {
    const until = Math.floor((now.getTime() - ROLLUP_LAG_MS) / 60_000) * 60_000;
    let folded = 0;
    for (; folded < ROLLUP_MAX_MINUTES; folded++) {
      const done = await this.db.transaction(async (trx) => {
        const [{ watermark }] = await trx('metric_rollup').forUpdate().select('watermark');
        const from = new Date(Math.floor(watermark.getTime() / 60_000) * 60_000);
        if (from.getTime() >= until) return true;
        const to = new Date(from.getTime() + 60_000);
        await foldMinute(trx, from);
        await trx.raw('update metrics set last_at = ? where id in (select distinct metric_id from metric_points where at >= ? and at < ?)', [to, from, to]);
        await trx('metric_rollup').update({ watermark: to });
        return false;
      });
      if (done) break;
    }
    const [{ watermark }] = await this.db('metric_rollup').select('watermark');
    const keepFrom = Math.min(watermark.getTime(), now.getTime() - POINTS_RETENTION_MS);
    await this.db('metric_points').where('at', '<', new Date(keepFrom)).delete();
    await this.db('metric_hours')
      .where('hour', '<', Math.floor(now.getTime() / 3600_000) - ROLLUP_RETENTION_HOURS)
      .delete();
    return folded;
  }

  /**
   * For admins, across accounts: the instances' AWS/EC2 metrics over the last `minutes`, one value per `step` seconds
   * (average of CPUUtilization, sum of the counters), as [epoch seconds, value] pairs by instance and metric.
   */
  async instanceSeries(instanceIds: string[], names: string[], minutes: number, step: number): Promise<Record<string, Record<string, [number, number][]>>> {
    if (instanceIds.length === 0) return {};
    const rows = (
      await this.db.raw(
        `select m.dimensions->0->>'Value' as instance, m.name, floor(extract(epoch from p.at) / ?) * ? as t,
                case when m.name = 'CPUUtilization' then sum(p.sum) / sum(p.n) else sum(p.sum) end as v
           from metric_points p join metrics m on m.id = p.metric_id
          where m.namespace = 'AWS/EC2' and m.name = any(?) and m.dimensions_key = any(?) and p.at >= now() - make_interval(mins => ?)
          group by 1, 2, 3 order by 3`,
        [step, step, names, instanceIds.map((id) => `InstanceId=${id}`), minutes],
      )
    ).rows;
    const out: Record<string, Record<string, [number, number][]>> = {};
    for (const r of rows) ((out[r.instance] ??= {})[r.name] ??= []).push([Number(r.t), Number(r.v)]);
    return out;
  }

  /** Rows and bytes of the metric tables (for the README's cost figures and the bench). */
  async footprint(): Promise<{ metrics: number; points: number; hours: number; bytes: Record<string, number> }> {
    const count = async (t: string) => Number((await this.db(t).count({ n: '*' }))[0].n);
    const bytes: Record<string, number> = {};
    for (const t of ['metrics', 'metric_points', 'metric_hours'])
      bytes[t] = Number((await this.db.raw('select pg_total_relation_size(?) as b', [t])).rows[0].b);
    return { metrics: await count('metrics'), points: await count('metric_points'), hours: await count('metric_hours'), bytes };
  }
}

/**
 * Adds one minute's data to the rollup: every metric's points of that minute (or, for a late sample, the one given),
 * into element i of its hour's arrays.
 */
async function foldMinute(trx: Knex.Transaction, at: Date, metricId?: number, sample?: Omit<Sample, 'at'>): Promise<void> {
  const minute = Math.floor(at.getTime() / 60_000);
  const hour = Math.floor(minute / 60);
  const i = (minute % 60) + 1;
  const from = new Date(minute * 60_000);
  const to = new Date(from.getTime() + 60_000);
  const source = sample
    ? trx.raw('select ?::bigint as metric_id, ?::float8 as n, ?::float8 as s, ?::float8 as mn, ?::float8 as mx', [
        metricId!,
        sample.n,
        sample.sum,
        sample.min,
        sample.max,
      ])
    : trx.raw('select metric_id, sum(n) as n, sum(sum) as s, min(min) as mn, max(max) as mx from metric_points where at >= ? and at < ? group by metric_id', [
        from,
        to,
      ]);
  await trx.raw(
    `insert into metric_hours (metric_id, hour, n, sum, min, max)
     select a.metric_id, ?, array_fill(null::real, array[60]), array_fill(null::float8, array[60]), array_fill(null::real, array[60]), array_fill(null::real, array[60])
       from (${source.toQuery()}) a
     on conflict do nothing`,
    [hour],
  );
  await trx.raw(
    `update metric_hours h
        set n[${i}] = coalesce(h.n[${i}], 0) + a.n, sum[${i}] = coalesce(h.sum[${i}], 0) + a.s,
            min[${i}] = least(h.min[${i}], a.mn), max[${i}] = greatest(h.max[${i}], a.mx)
       from (${source.toQuery()}) a
      where h.metric_id = a.metric_id and h.hour = ?`,
    [hour],
  );
}

/** PutMetricData's limits (AWS's): values must be finite and within ±2^360 (we refuse what PostgreSQL cannot store). */
export function checkValue(name: string, value: number): number {
  if (!Number.isFinite(value) || Math.abs(value) > 1e300) throw errors.invalidParameterValue(name, String(value), 'The value must be a finite number.');
  return value;
}
