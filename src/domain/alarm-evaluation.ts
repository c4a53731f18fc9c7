/**
 * One evaluation of a CloudWatch metric alarm, as AWS documents it ("Evaluating an alarm", "Configuring how
 * CloudWatch alarms treat missing data"): the last EvaluationPeriods periods, M = DatapointsToAlarm of them breaching
 * puts it in ALARM, fewer in OK; missing periods count as breaching or not, are skipped ('missing', 'ignore'), and no
 * data at all gives INSUFFICIENT_DATA ('missing') or keeps the state ('ignore'). Pure, so that it is tested alone.
 */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type TreatMissingData = 'missing' | 'ignore' | 'breaching' | 'notBreaching';

export interface AlarmRule {
  threshold: number;
  comparisonOperator: string;
  evaluationPeriods: number;
  datapointsToAlarm?: number | null;
  treatMissingData: TreatMissingData;
  period: number;
  statisticName: string;
}
/** One period's value (null: no data in that period), newest last. */
export interface PeriodValue {
  at: Date;
  value: number | null;
  sampleCount?: number;
}
export interface Evaluation {
  state: AlarmState;
  reason: string;
  reasonData: string;
}

const OPERATORS: Record<string, { test: (v: number, t: number) => boolean; words: string }> = {
  GreaterThanOrEqualToThreshold: { test: (v, t) => v >= t, words: 'greater than or equal to' },
  GreaterThanThreshold: { test: (v, t) => v > t, words: 'greater than' },
  LessThanThreshold: { test: (v, t) => v < t, words: 'less than' },
  LessThanOrEqualToThreshold: { test: (v, t) => v <= t, words: 'less than or equal to' },
};
export const COMPARISON_OPERATORS = Object.keys(OPERATORS);

const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, '.000+0000');
const short = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${String(d.getUTCFullYear()).slice(2)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
};
const num = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(Number(v.toPrecision(12))));

export function evaluateAlarm(rule: AlarmRule, periods: PeriodValue[], current: AlarmState, now: Date): Evaluation {
  const op = OPERATORS[rule.comparisonOperator];
  if (!op) throw new Error(`unknown comparison operator ${rule.comparisonOperator}`);
  const n = rule.evaluationPeriods;
  const m = Math.min(rule.datapointsToAlarm ?? n, n);
  const window = periods.slice(-n);
  const present = window.filter((p): p is PeriodValue & { value: number } => p.value !== null);
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: stamp(now),
    startDate: stamp(window[0]?.at ?? now),
    statistic: rule.statisticName,
    period: rule.period,
    recentDatapoints: present.map((p) => p.value),
    threshold: rule.threshold,
    evaluatedDatapoints: present
      .slice()
      .reverse()
      .map((p) => ({ timestamp: stamp(p.at), ...(p.sampleCount !== undefined ? { sampleCount: p.sampleCount } : {}), value: p.value })),
  });
  if (present.length === 0 && (rule.treatMissingData === 'missing' || rule.treatMissingData === 'ignore')) {
    if (rule.treatMissingData === 'ignore')
      return { state: current, reason: 'No datapoints were received: the state is kept (TreatMissingData ignore).', reasonData };
    return {
      state: 'INSUFFICIENT_DATA',
      reason: `Insufficient Data: ${n} datapoint${n > 1 ? 's were' : ' was'} unknown.`,
      reasonData,
    };
  }
  const missingBreaches = rule.treatMissingData === 'breaching';
  const missingCounts = rule.treatMissingData === 'breaching' || rule.treatMissingData === 'notBreaching';
  const breaching = present.filter((p) => op.test(p.value, rule.threshold)).length + (missingBreaches ? window.length - present.length : 0);
  const considered = missingCounts ? window.length : present.length;
  const listed = `[${present
    .slice()
    .reverse()
    .map((p) => `${num(p.value)} (${short(p.at)})`)
    .join(', ')}]`;
  if (breaching >= m) {
    return {
      state: 'ALARM',
      reason: `Threshold Crossed: ${breaching} out of the last ${considered} datapoints ${listed} ${breaching === 1 ? 'was' : 'were'} ${op.words} the threshold (${num(rule.threshold)}) (minimum ${m} datapoint${m > 1 ? 's' : ''} for OK -> ALARM transition).`,
      reasonData,
    };
  }
  return {
    state: 'OK',
    reason: `Threshold Crossed: ${considered - breaching} out of the last ${considered} datapoints ${listed} ${considered - breaching === 1 ? 'was' : 'were'} not ${op.words} the threshold (${num(rule.threshold)}) (minimum ${Math.max(1, n - m + 1)} datapoint${n - m + 1 > 1 ? 's' : ''} for ALARM -> OK transition).`,
    reasonData,
  };
}
