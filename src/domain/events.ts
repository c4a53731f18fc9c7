/**
 * The event log (table `events`) and its one writer: every state change, OAR submission, image capture, admin
 * change and error is recorded here, for admins (`oarcloud events`, the dashboard) and for alarms.
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

export class EventLog {
  constructor(private readonly db: Db) {}

  async record(kind: EventKind, accountId: string | null, resourceId: string | null, message: string): Promise<void> {
    await this.db('events').insert({ account_id: accountId, resource_id: resourceId, kind, message });
  }

  /** The newest events first, at most 500. */
  async recent(opts: { limit?: number; errorsOnly?: boolean } = {}): Promise<EventRecord[]> {
    const q = this.db('events')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500));
    if (opts.errorsOnly) q.where('kind', 'error');
    const rows = await q;
    return rows.map((r: any) => ({
      id: Number(r.id),
      at: r.at.toISOString(),
      accountId: r.account_id,
      resourceId: r.resource_id,
      kind: r.kind,
      message: r.message,
    }));
  }
}
