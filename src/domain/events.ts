/**
 * The event log (table `events`) and its one writer: every state change, OAR submission, resize, schedule run, image
 * capture, admin change and error is recorded here, for admins (`oarcloud events`, the dashboard), for alarms, and
 * for each account's owner their own (`GET /_oarcloud/api/events`, `oarcloud my-events`). Listeners hear each event
 * once it is stored (the instance notifications: domain/instance-notifier.ts).
 */
import type { Db } from '../adapters/db';

export type EventKind = 'state' | 'oar' | 'reboot' | 'resize' | 'image' | 'admin' | 'node' | 'schedule' | 'error';

export interface EventRecord {
  id: number;
  at: string;
  accountId: string | null;
  resourceId: string | null;
  kind: string;
  message: string;
}

export interface RecordedEvent {
  kind: EventKind;
  accountId: string | null;
  resourceId: string | null;
  message: string;
  at: Date;
}
export type EventListener = (event: RecordedEvent) => Promise<void>;

const toRecord = (r: any): EventRecord => ({
  id: Number(r.id),
  at: r.at.toISOString(),
  accountId: r.account_id,
  resourceId: r.resource_id,
  kind: r.kind,
  message: r.message,
});

export class EventLog {
  private readonly listeners: EventListener[] = [];

  constructor(private readonly db: Db) {}

  /** Hears every event this process records, after it is stored; a listener's failure is its own to report. */
  onRecord(listener: EventListener): void {
    this.listeners.push(listener);
  }

  async record(kind: EventKind, accountId: string | null, resourceId: string | null, message: string): Promise<void> {
    const [{ at }] = await this.db('events').insert({ account_id: accountId, resource_id: resourceId, kind, message }).returning('at');
    for (const listener of this.listeners) void listener({ kind, accountId, resourceId, message, at }).catch(() => undefined);
  }

  /** One account's own events, newest first: what its owner may see (optionally of one resource, or one kind). */
  async ofAccount(accountId: string, opts: { resourceId?: string; kind?: string; limit?: number } = {}): Promise<EventRecord[]> {
    const q = this.db('events')
      .where({ account_id: accountId })
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500));
    if (opts.resourceId) q.where('resource_id', opts.resourceId);
    if (opts.kind) q.where('kind', opts.kind);
    return (await q).map(toRecord);
  }

  /** The newest events first, at most 500. */
  async recent(opts: { limit?: number; errorsOnly?: boolean } = {}): Promise<EventRecord[]> {
    const q = this.db('events')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500));
    if (opts.errorsOnly) q.where('kind', 'error');
    return (await q).map(toRecord);
  }
}
