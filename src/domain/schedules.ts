/**
 * EventBridge Scheduler's state: each account's schedule groups (with "default", made on first use), their
 * schedules, and the record of every run (schedule_runs). The store computes when each schedule fires next
 * (next_run_at, from schedule-expression.ts) whenever one is written, and hands due schedules to the leader's
 * runner (schedule-runner.ts), which claims each run with a compare-and-set on next_run_at so it fires once.
 */
import type { Knex } from 'knex';
import { errors } from './errors';
import { envLimit } from './quotas';
import { decodeToken, encodeToken } from './pagination';
import { isTimeZone, nextRun, parseScheduleExpression, type ScheduleExpression } from './schedule-expression';

export const DEFAULT_GROUP = 'default';
export const MAX_SCHEDULES = envLimit(process.env, 'OARCLOUD_MAX_SCHEDULES', 10_000);
export const MAX_SCHEDULE_GROUPS = envLimit(process.env, 'OARCLOUD_MAX_SCHEDULE_GROUPS', 500);

export type ScheduleState = 'ENABLED' | 'DISABLED';

/** A schedule as CreateSchedule and UpdateSchedule give it. */
export interface ScheduleSpec {
  description?: string;
  expression: string;
  timezone?: string;
  startDate?: Date;
  endDate?: Date;
  state?: ScheduleState;
  flexibleMode: 'OFF' | 'FLEXIBLE';
  flexibleWindowMinutes?: number;
  actionAfterCompletion?: 'NONE' | 'DELETE';
  /** The Target structure as the client sent it (checked by the caller: Arn, RoleArn, Input, RetryPolicy). */
  target: { Arn: string; RoleArn: string; Input?: string; RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number } };
}

export interface ScheduleRecord extends Required<
  Pick<ScheduleSpec, 'expression' | 'timezone' | 'state' | 'flexibleMode' | 'actionAfterCompletion' | 'target'>
> {
  id: number;
  accountId: string;
  groupName: string;
  name: string;
  arn: string;
  description?: string;
  startDate?: Date;
  endDate?: Date;
  flexibleWindowMinutes?: number;
  createdAt: Date;
  modifiedAt: Date;
  nextRunAt?: Date;
  lastRunAt?: Date;
  lastOutcome?: string;
}

export interface ScheduleGroupRecord {
  accountId: string;
  name: string;
  arn: string;
  createdAt: Date;
  modifiedAt: Date;
  tags: Record<string, string>;
}

export interface ScheduleRun {
  id: number;
  scheduleArn: string;
  targetArn: string;
  dueAt: Date;
  startedAt: Date;
  finishedAt?: Date;
  lateMs: number;
  outcome?: 'succeeded' | 'failed';
  error?: string;
}

/** A page token that is not ours answers as Scheduler's own ValidationException. */
function after(token: string | undefined): string | undefined {
  try {
    return decodeToken(token);
  } catch {
    throw errors.validationException('The NextToken is invalid or has expired.');
  }
}

export class Schedules {
  /** Accounts whose "default" group this process knows to exist. */
  private readonly withDefaultGroup = new Set<string>();

  constructor(
    private readonly db: Knex,
    private readonly region: string,
  ) {}

  groupArn(accountId: string, name: string): string {
    return `arn:aws:scheduler:${this.region}:${accountId}:schedule-group/${name}`;
  }
  scheduleArn(accountId: string, group: string, name: string): string {
    return `arn:aws:scheduler:${this.region}:${accountId}:schedule/${group}/${name}`;
  }

  /**
   * Makes the account's "default" group on first use, once per account and process (it cannot be deleted; a deleted
   * account takes it along, and account ids are never reused), committed on its own.
   */
  private async ensureDefaultGroup(accountId: string): Promise<void> {
    if (this.withDefaultGroup.has(accountId)) return;
    await this.db('schedule_groups').insert({ account_id: accountId, name: DEFAULT_GROUP }).onConflict(['account_id', 'name']).ignore();
    this.withDefaultGroup.add(accountId);
  }

  private group(row: any): ScheduleGroupRecord {
    return {
      accountId: row.account_id,
      name: row.name,
      arn: this.groupArn(row.account_id, row.name),
      createdAt: row.created_at,
      modifiedAt: row.modified_at,
      tags: row.tags,
    };
  }

  /** `clientToken`: a creation retried with the same token answers as the first did instead of ConflictException. */
  async createGroup(accountId: string, name: string, tags: Record<string, string>, clientToken?: string): Promise<string> {
    await this.ensureDefaultGroup(accountId);
    return this.db.transaction(async (trx) => {
      // one group count per account at a time, so two creations cannot both pass the quota
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`schedule-groups:${accountId}`]);
      const [{ count }] = await trx('schedule_groups').where({ account_id: accountId }).count({ count: '*' });
      if (Number(count) >= MAX_SCHEDULE_GROUPS) throw errors.schedulerQuotaExceeded(`The account has ${MAX_SCHEDULE_GROUPS} schedule groups, its quota.`);
      const inserted = await trx('schedule_groups')
        .insert({ account_id: accountId, name, tags, client_token: clientToken ?? null })
        .onConflict(['account_id', 'name'])
        .ignore()
        .returning('name');
      if (inserted.length === 0) {
        const existing = await trx('schedule_groups').where({ account_id: accountId, name }).first();
        if (!clientToken || existing?.client_token !== clientToken) throw errors.schedulerConflict(`Schedule group ${name} already exists.`);
      }
      return this.groupArn(accountId, name);
    });
  }

  async getGroup(accountId: string, name: string): Promise<ScheduleGroupRecord> {
    if (name === DEFAULT_GROUP) await this.ensureDefaultGroup(accountId);
    const row = await this.db('schedule_groups').where({ account_id: accountId, name }).first();
    if (!row) throw errors.schedulerNotFound(`Schedule group ${name} does not exist.`);
    return this.group(row);
  }

  async listGroups(
    accountId: string,
    opts: { namePrefix?: string; maxResults?: number; nextToken?: string },
  ): Promise<{ groups: ScheduleGroupRecord[]; nextToken?: string }> {
    await this.ensureDefaultGroup(accountId);
    const max = opts.maxResults ?? 100;
    const q = this.db('schedule_groups')
      .where({ account_id: accountId })
      .orderBy('name')
      .limit(max + 1);
    if (opts.namePrefix) q.whereLike('name', `${opts.namePrefix.replace(/[\\%_]/g, '\\$&')}%`);
    const from = after(opts.nextToken);
    if (from !== undefined) q.where('name', '>', from);
    const rows = await q;
    const page = rows.slice(0, max).map((r: any) => this.group(r));
    return { groups: page, nextToken: rows.length > max ? encodeToken(page[page.length - 1].name) : undefined };
  }

  /** Deletes a group and every schedule in it, as AWS does. */
  async deleteGroup(accountId: string, name: string): Promise<void> {
    if (name === DEFAULT_GROUP) throw errors.validationException('You cannot delete the default group.');
    const deleted = await this.db('schedule_groups').where({ account_id: accountId, name }).delete();
    if (deleted === 0) throw errors.schedulerNotFound(`Schedule group ${name} does not exist.`);
  }

  /** The group an ARN names (`...:schedule-group/NAME`) if it is the caller's, for the tag operations. */
  private async groupByArn(accountId: string, arn: string): Promise<ScheduleGroupRecord> {
    const m = /^arn:aws:scheduler:([^:]+):(\d{12}):schedule-group\/([0-9a-zA-Z-_.]+)$/.exec(arn);
    if (!m || m[1] !== this.region || m[2] !== accountId) throw errors.schedulerNotFound(`Schedule group ${arn} does not exist.`);
    return this.getGroup(accountId, m[3]);
  }

  async tagsOf(accountId: string, arn: string): Promise<Record<string, string>> {
    return (await this.groupByArn(accountId, arn)).tags;
  }

  async tag(accountId: string, arn: string, tags: Record<string, string>): Promise<void> {
    const group = await this.groupByArn(accountId, arn);
    const merged = { ...group.tags, ...tags };
    if (Object.keys(merged).length > 200) throw errors.validationException('A schedule group can have at most 200 tags.');
    await this.db('schedule_groups').where({ account_id: accountId, name: group.name }).update({ tags: merged });
  }

  async untag(accountId: string, arn: string, keys: string[]): Promise<void> {
    const group = await this.groupByArn(accountId, arn);
    const kept = Object.fromEntries(Object.entries(group.tags).filter(([k]) => !keys.includes(k)));
    await this.db('schedule_groups').where({ account_id: accountId, name: group.name }).update({ tags: kept });
  }

  /** Checks what the model cannot (expression, time zone, dates, window) and returns the parsed expression. */
  private check(spec: ScheduleSpec): ScheduleExpression {
    const expression = parseScheduleExpression(spec.expression);
    if (spec.timezone !== undefined && !isTimeZone(spec.timezone))
      throw errors.validationException(`Invalid time zone ${spec.timezone}: give an IANA name like Europe/Paris.`);
    if (spec.startDate && spec.endDate && spec.endDate.getTime() <= spec.startDate.getTime()) {
      throw errors.validationException('The EndDate must come after the StartDate.');
    }
    if (spec.flexibleMode === 'FLEXIBLE' && spec.flexibleWindowMinutes === undefined) {
      throw errors.validationException('MaximumWindowInMinutes is required when the FlexibleTimeWindow Mode is FLEXIBLE.');
    }
    if (spec.flexibleMode === 'OFF' && spec.flexibleWindowMinutes !== undefined) {
      throw errors.validationException('MaximumWindowInMinutes can only be given when the FlexibleTimeWindow Mode is FLEXIBLE.');
    }
    return expression;
  }

  private columns(spec: ScheduleSpec, expression: ScheduleExpression, createdAt: Date, now: Date) {
    const timezone = spec.timezone ?? 'UTC';
    const state = spec.state ?? 'ENABLED';
    const next = state === 'ENABLED' ? nextRun(expression, { timezone, startDate: spec.startDate, endDate: spec.endDate, createdAt }, now) : null;
    return {
      description: spec.description ?? null,
      expression: spec.expression,
      timezone,
      start_date: spec.startDate ?? null,
      end_date: spec.endDate ?? null,
      state,
      flexible_mode: spec.flexibleMode,
      flexible_window_minutes: spec.flexibleWindowMinutes ?? null,
      action_after_completion: spec.actionAfterCompletion ?? 'NONE',
      target: JSON.stringify(spec.target),
      modified_at: now,
      next_run_at: next,
    };
  }

  async createSchedule(accountId: string, group: string, name: string, spec: ScheduleSpec, clientToken?: string): Promise<string> {
    const expression = this.check(spec);
    await this.ensureDefaultGroup(accountId);
    return this.db.transaction(async (trx) => {
      const owner = await trx('schedule_groups').where({ account_id: accountId, name: group }).forShare().first();
      if (!owner) throw errors.schedulerNotFound(`Schedule group ${group} does not exist.`);
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`schedules:${accountId}`]);
      const [{ count }] = await trx('schedules').where({ account_id: accountId }).count({ count: '*' });
      if (Number(count) >= MAX_SCHEDULES) throw errors.schedulerQuotaExceeded(`The account has ${MAX_SCHEDULES} schedules, its quota.`);
      const now = new Date();
      const inserted = await trx('schedules')
        .insert({
          account_id: accountId,
          group_name: group,
          name,
          created_at: now,
          client_token: clientToken ?? null,
          ...this.columns(spec, expression, now, now),
        })
        .onConflict(['account_id', 'group_name', 'name'])
        .ignore()
        .returning('id');
      if (inserted.length === 0) {
        const existing = await trx('schedules').where({ account_id: accountId, group_name: group, name }).first();
        if (!clientToken || existing?.client_token !== clientToken) throw errors.schedulerConflict(`Schedule ${name} already exists.`);
      }
      return this.scheduleArn(accountId, group, name);
    });
  }

  private schedule(row: any): ScheduleRecord {
    const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
    return {
      id: Number(row.id),
      accountId: row.account_id,
      groupName: row.group_name,
      name: row.name,
      arn: this.scheduleArn(row.account_id, row.group_name, row.name),
      description: opt(row.description),
      expression: row.expression,
      timezone: row.timezone,
      startDate: opt(row.start_date),
      endDate: opt(row.end_date),
      state: row.state,
      flexibleMode: row.flexible_mode,
      flexibleWindowMinutes: opt(row.flexible_window_minutes),
      actionAfterCompletion: row.action_after_completion,
      target: row.target,
      createdAt: row.created_at,
      modifiedAt: row.modified_at,
      nextRunAt: opt(row.next_run_at),
      lastRunAt: opt(row.last_run_at),
      lastOutcome: opt(row.last_outcome),
    };
  }

  async getSchedule(accountId: string, group: string, name: string): Promise<ScheduleRecord> {
    const row = await this.db('schedules').where({ account_id: accountId, group_name: group, name }).first();
    if (!row) throw errors.schedulerNotFound(`Schedule ${name} does not exist.`);
    return this.schedule(row);
  }

  /** Replaces the whole schedule, as UpdateSchedule does (what is not given goes back to its default). */
  async updateSchedule(accountId: string, group: string, name: string, spec: ScheduleSpec): Promise<string> {
    const expression = this.check(spec);
    const current = await this.getSchedule(accountId, group, name);
    const updated = await this.db('schedules')
      .where({ id: current.id })
      .update(this.columns(spec, expression, current.createdAt, new Date()));
    if (updated === 0) throw errors.schedulerNotFound(`Schedule ${name} does not exist.`);
    return current.arn;
  }

  async deleteSchedule(accountId: string, group: string, name: string): Promise<void> {
    const deleted = await this.db('schedules').where({ account_id: accountId, group_name: group, name }).delete();
    if (deleted === 0) throw errors.schedulerNotFound(`Schedule ${name} does not exist.`);
  }

  async listSchedules(
    accountId: string,
    opts: { group?: string; namePrefix?: string; state?: ScheduleState; maxResults?: number; nextToken?: string },
  ): Promise<{ schedules: ScheduleRecord[]; nextToken?: string }> {
    if (opts.group !== undefined) await this.getGroup(accountId, opts.group);
    const max = opts.maxResults ?? 100;
    const q = this.db('schedules')
      .where({ account_id: accountId })
      .orderBy([{ column: 'group_name' }, { column: 'name' }])
      .limit(max + 1);
    if (opts.group !== undefined) q.where('group_name', opts.group);
    if (opts.state) q.where('state', opts.state);
    if (opts.namePrefix) q.whereLike('name', `${opts.namePrefix.replace(/[\\%_]/g, '\\$&')}%`);
    const from = after(opts.nextToken);
    if (from !== undefined) {
      const slash = from.indexOf('/');
      const [g, n] = [from.slice(0, slash), from.slice(slash + 1)];
      q.where((w) => w.where('group_name', '>', g).orWhere((x) => x.where('group_name', g).andWhere('name', '>', n)));
    }
    const rows = await q;
    const page = rows.slice(0, max).map((r: any) => this.schedule(r));
    const last = page[page.length - 1];
    return { schedules: page, nextToken: rows.length > max ? encodeToken(`${last.groupName}/${last.name}`) : undefined };
  }

  /** The ARNs of every schedule that will run again, of any account (the test suite's leak check). */
  async stillDue(): Promise<string[]> {
    const rows = await this.db('schedules').whereNotNull('next_run_at').orderBy('id').select('account_id', 'group_name', 'name');
    return rows.map((r: any) => this.scheduleArn(r.account_id, r.group_name, r.name));
  }

  /** Schedules whose next run is due, oldest first. */
  async due(now: Date, limit: number): Promise<ScheduleRecord[]> {
    const rows = await this.db('schedules').where('next_run_at', '<=', now).where('state', 'ENABLED').orderBy('next_run_at').limit(limit);
    return rows.map((r: any) => this.schedule(r));
  }

  /**
   * Takes one due run: moves next_run_at from the run's time to the following one (null: never again) and records the
   * run as started. Undefined when someone else took it or the schedule changed since it was read.
   */
  async claimRun(s: ScheduleRecord, next: Date | null, now: Date): Promise<number | undefined> {
    return this.db.transaction(async (trx) => {
      const moved = await trx('schedules').where({ id: s.id, next_run_at: s.nextRunAt!, modified_at: s.modifiedAt }).update({ next_run_at: next });
      if (moved === 0) return undefined;
      const [run] = await trx('schedule_runs')
        .insert({
          schedule_id: s.id,
          account_id: s.accountId,
          group_name: s.groupName,
          schedule_name: s.name,
          target_arn: s.target.Arn,
          due_at: s.nextRunAt,
          started_at: now,
          late_ms: Math.max(0, now.getTime() - s.nextRunAt!.getTime()),
        })
        .returning('id');
      return Number(run.id);
    });
  }

  /** Records how a run ended; a schedule that will not fire again and asked for it is deleted. */
  async finishRun(s: ScheduleRecord, runId: number, outcome: 'succeeded' | 'failed', error: string | undefined, completed: boolean): Promise<void> {
    const finishedAt = new Date();
    await this.db('schedule_runs')
      .where({ id: runId })
      .update({ finished_at: finishedAt, outcome, error: error ?? null });
    await this.db('schedules').where({ id: s.id }).update({ last_run_at: finishedAt, last_outcome: outcome });
    if (completed && s.actionAfterCompletion === 'DELETE') await this.db('schedules').where({ id: s.id, next_run_at: null }).delete();
  }

  /** The newest runs of an account's schedule (or of all its schedules), newest first. */
  async runs(accountId: string, opts: { group?: string; name?: string; limit?: number } = {}): Promise<ScheduleRun[]> {
    const q = this.db('schedule_runs')
      .where({ account_id: accountId })
      .orderBy('id', 'desc')
      .limit(Math.min(opts.limit ?? 50, 500));
    if (opts.group) q.where('group_name', opts.group);
    if (opts.name) q.where('schedule_name', opts.name);
    return (await q).map((r: any) => ({
      id: Number(r.id),
      scheduleArn: this.scheduleArn(r.account_id, r.group_name, r.schedule_name),
      targetArn: r.target_arn,
      dueAt: r.due_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at ?? undefined,
      lateMs: r.late_ms,
      outcome: r.outcome ?? undefined,
      error: r.error ?? undefined,
    }));
  }
}
