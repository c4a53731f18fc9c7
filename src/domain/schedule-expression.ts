/**
 * EventBridge Scheduler's schedule expressions and when they fire:
 * - `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in the schedule's time zone;
 * - `rate(value unit)`: every value minutes / hours / days, from the start date (or the creation time);
 * - `cron(minutes hours day-of-month month day-of-week year)`: AWS's six fields, days of the week numbered 1-7 from
 *   Sunday, `?` in one of the two day fields, `L`, `W` and `#` as AWS allows, in the schedule's IANA time zone.
 * Cron matching and time zones (daylight saving included) are croner's (in its Quartz mode, AWS's dialect, with a
 * seconds field put first); this module bounds every expression by the schedule's start and end dates.
 */
import { Cron } from 'croner';
import { errors } from './errors';

export type ScheduleExpression = { kind: 'at'; wallClock: string } | { kind: 'rate'; everyMs: number } | { kind: 'cron'; pattern: string };

export interface ScheduleWindow {
  timezone: string;
  /** No run before it; a rate() counts its periods from it (from `createdAt` without it). */
  startDate?: Date | null;
  /** No run after it. */
  endDate?: Date | null;
  createdAt: Date;
}

const invalid = errors.validationException;

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** AWS's cron dialect is Quartz's: days of the week 1 (Sunday) to 7, `0/15` steps, a year field. */
const CRON_OPTIONS = { paused: true, alternativeWeekdays: true, mode: '7-part', sloppyRanges: true, domAndDow: true } as const;

/** Checks and parses an expression; its faults answer in the words AWS uses. */
export function parseScheduleExpression(text: string): ScheduleExpression {
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(text);
  if (at) {
    if (Number.isNaN(Date.parse(`${at[1]}Z`))) throw invalid(`Invalid Schedule Expression ${text}.`);
    return { kind: 'at', wallClock: at[1] };
  }
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(text);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2].replace(/s$/, '');
    if (value < 1) throw invalid(`Invalid Schedule Expression ${text}: the value must be a positive whole number.`);
    if ((value === 1) !== (rate[2] === unit)) throw invalid(`Invalid Schedule Expression ${text}: write ${value} ${value === 1 ? unit : `${unit}s`}.`);
    return { kind: 'rate', everyMs: value * UNIT_MS[unit] };
  }
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) {
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6)
      throw invalid(`Invalid Schedule Expression ${text}: a cron expression has six fields (minutes hours day-of-month month day-of-week year).`);
    const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
      throw invalid(`Invalid Schedule Expression ${text}: give either the day of the month or the day of the week, and ? in the other.`);
    }
    const pattern = ['0', minutes, hours, dayOfMonth, month, dayOfWeek, year].join(' ');
    try {
      new Cron(pattern, { ...CRON_OPTIONS, timezone: 'UTC' });
    } catch (err) {
      throw invalid(`Invalid Schedule Expression ${text}: ${(err as Error).message.replace(/^CronPattern: /, '')}`);
    }
    return { kind: 'cron', pattern };
  }
  throw invalid(`Invalid Schedule Expression ${text}.`);
}

/** Whether a name is an IANA time zone this machine knows (what AWS accepts). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The instant a wall-clock time has in a time zone (the first, where daylight saving repeats an hour). */
function wallClockInstant(wallClock: string, timezone: string): Date {
  const asUtc = Date.parse(`${wallClock}Z`);
  const parts = (at: number) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', {
        timeZone: timezone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      })
        .formatToParts(new Date(at))
        .map((x) => [x.type, x.value]),
    );
    return Date.parse(`${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}Z`);
  };
  // the zone's offset at the guess, then once more at the corrected instant (offsets change across DST)
  let guess = asUtc - (parts(asUtc) - asUtc);
  guess = asUtc - (parts(guess) - guess);
  return new Date(guess);
}

/** The first time the expression fires strictly after `after`, within the window; null when it never will again. */
export function nextRun(expression: ScheduleExpression, window: ScheduleWindow, after: Date): Date | null {
  const start = window.startDate ?? null;
  const floor = start && start.getTime() > after.getTime() ? new Date(start.getTime() - 1) : after;
  let next: Date | null;
  if (expression.kind === 'at') {
    const at = wallClockInstant(expression.wallClock, window.timezone);
    next = at.getTime() > floor.getTime() ? at : null;
  } else if (expression.kind === 'rate') {
    const origin = (start ?? window.createdAt).getTime();
    // from the start date itself; from the creation time, one period on (as a new rule's first run)
    const first = start ? origin : origin + expression.everyMs;
    const periods = Math.max(0, Math.floor((floor.getTime() - first) / expression.everyMs) + 1);
    next = new Date(first + periods * expression.everyMs);
    if (next.getTime() <= floor.getTime()) next = new Date(next.getTime() + expression.everyMs);
  } else {
    next = new Cron(expression.pattern, { ...CRON_OPTIONS, timezone: window.timezone }).nextRun(floor);
  }
  if (next && window.endDate && next.getTime() > window.endDate.getTime()) return null;
  return next;
}
