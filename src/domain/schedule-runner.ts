/**
 * Fires due schedules, on the leader: every second it takes the schedules whose next run has come, claims each run
 * (next_run_at moves on first, so a run fires once whatever happens next), invokes the target and records the
 * outcome (schedule_runs, and a `schedule` event the owner and admins see). A run the server missed while it was down fires
 * once when it is back, however many periods went by, and its lateness is logged; one older than the target's
 * RetryPolicy.MaximumEventAgeInSeconds (24 h by default) is dropped and recorded as such, as AWS drops it. A target
 * failing for want of capacity or a backing service is retried with backoff within that policy; a refused call
 * (bad input, wrong state) is not.
 */
import type { Logger } from '../log';
import { DomainError } from './errors';
import type { EventLog } from './events';
import { nextRun, parseScheduleExpression } from './schedule-expression';
import type { ScheduleRecord, Schedules } from './schedules';

/** Invokes a schedule's target as its owner; throws what the call answered. */
export type TargetInvoker = (schedule: ScheduleRecord) => Promise<void>;

const TICK_MS = 1000;
const DUE_PER_TICK = 50;
/** A run later than this was missed (the server was down or the leader changed), not merely delayed by the tick. */
const MISSED_AFTER_MS = 10_000;
const RETRY_MAX_MS = 60_000;
const DEFAULT_MAX_AGE_S = 86_400;
const DEFAULT_MAX_RETRIES = 185;

export class ScheduleRunner {
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly schedules: Schedules,
    private readonly invoke: TargetInvoker,
    private readonly events: EventLog,
    private readonly log: Logger,
    /** The first retry's wait, doubling up to a minute. */
    private readonly retryBaseMs = 1000,
  ) {}

  start(): void {
    this.stopping = false;
    this.timer = setInterval(() => {
      this.pass ??= this.fireDue()
        .catch((err) => this.log.warn({ err: String(err) }, 'schedule pass failed'))
        .finally(() => (this.pass = undefined));
    }, TICK_MS);
  }

  /** Stops taking runs and waits for those under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.pass;
    await this.idle();
  }

  /** Until the runs under way have ended and been recorded. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all(this.running);
  }

  /** Claims and starts every due run; the runs go on in the background (a slow target holds up no other). */
  async fireDue(now = new Date()): Promise<void> {
    for (const schedule of await this.schedules.due(now, DUE_PER_TICK)) {
      if (this.stopping) return;
      const next = nextRun(
        parseScheduleExpression(schedule.expression),
        { timezone: schedule.timezone, startDate: schedule.startDate, endDate: schedule.endDate, createdAt: schedule.createdAt },
        now,
      );
      const runId = await this.schedules.claimRun(schedule, next, now);
      if (runId === undefined) continue;
      const run = this.run(schedule, runId, now, next === null).catch((err) =>
        this.log.warn({ err: String(err), schedule: schedule.arn }, 'schedule run not recorded'),
      );
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
  }

  private async run(schedule: ScheduleRecord, runId: number, now: Date, completed: boolean): Promise<void> {
    const dueAt = schedule.nextRunAt!;
    const lateMs = now.getTime() - dueAt.getTime();
    const where = `${schedule.groupName}/${schedule.name}`;
    const policy = schedule.target.RetryPolicy ?? {};
    const maxAgeMs = (policy.MaximumEventAgeInSeconds ?? DEFAULT_MAX_AGE_S) * 1000;
    const late = lateMs > MISSED_AFTER_MS ? ` ${(lateMs / 1000).toFixed(1)} s late (missed while no server led)` : '';
    if (late) this.log.warn({ schedule: schedule.arn, dueAt: dueAt.toISOString(), lateMs }, 'schedule run missed: firing it once, late');
    let outcome: 'succeeded' | 'failed' = 'succeeded';
    let error: string | undefined;
    if (lateMs > maxAgeMs) {
      outcome = 'failed';
      error = `Dropped: the run was due ${Math.round(lateMs / 1000)} s ago, beyond the RetryPolicy's MaximumEventAgeInSeconds (${maxAgeMs / 1000}).`;
    } else {
      error = await this.invokeWithRetries(schedule, dueAt.getTime() + maxAgeMs, policy.MaximumRetryAttempts ?? DEFAULT_MAX_RETRIES);
      if (error) outcome = 'failed';
    }
    await this.schedules.finishRun(schedule, runId, outcome, error, completed);
    const message = `schedule ${where} ${outcome === 'succeeded' ? 'ran' : 'failed to run'} ${schedule.target.Arn}${late}${error ? `: ${error}` : ''}`;
    // a failed run is the owner's business (a wrong id, a stopped instance), not the cloud's: no admin 'error' event
    await this.events.record('schedule', schedule.accountId, schedule.arn, message);
    this.log.info({ schedule: schedule.arn, target: schedule.target.Arn, outcome, lateMs, error }, 'schedule run');
  }

  /** The error ("Code: message") the target answered last, or undefined when it succeeded. */
  private async invokeWithRetries(schedule: ScheduleRecord, deadline: number, maxRetries: number): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.invoke(schedule);
        return undefined;
      } catch (err) {
        const domain = err instanceof DomainError ? err : undefined;
        const text = domain ? `${domain.code ?? domain.kind}: ${domain.message}` : `InternalError: ${String(err)}`;
        const retryable = !domain || domain.kind === 'unavailable' || domain.kind === 'internal';
        const wait = Math.min(this.retryBaseMs * 2 ** attempt, RETRY_MAX_MS);
        if (!retryable || attempt >= maxRetries || Date.now() + wait > deadline || this.stopping) return text;
        // in slices, so that a stopping leader does not wait out a long backoff
        for (let waited = 0; waited < wait && !this.stopping; waited += 1000)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, wait - waited)));
      }
    }
  }
}
