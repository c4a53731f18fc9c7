/**
 * The dashboard's live feed: while at least one browser listens, one snapshot of the cluster is read every
 * second and sent to every listener when it differs from the last one. One reader, however many dashboards.
 */
import type { Administration, Snapshot } from '../domain/administration';
import type { Logger } from '../log';

export const FEED_INTERVAL_MS = 1000;

type Listener = (json: string) => void;

export class SnapshotFeed {
  private readonly listeners = new Set<Listener>();
  private timer?: NodeJS.Timeout;
  private last?: { compared: string; json: string };
  private reading = false;

  constructor(
    private readonly admin: Administration,
    private readonly log: Logger,
  ) {}

  /** Starts sending snapshots to `listener` (the latest one at once, if any); returns how to stop. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.last) listener(this.last.json);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), FEED_INTERVAL_MS);
      this.timer.unref();
      void this.tick();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.last = undefined;
      }
    };
  }

  private async tick(): Promise<void> {
    if (this.reading) return; // a slow read (database restarting) is not piled up
    this.reading = true;
    try {
      const snapshot: Snapshot = await this.admin.snapshot();
      const compared = JSON.stringify({ ...snapshot, at: undefined });
      if (compared === this.last?.compared) return;
      this.last = { compared, json: JSON.stringify(snapshot) };
      for (const listener of this.listeners) listener(this.last.json);
    } catch (err: any) {
      this.log.warn({ err: String(err?.message ?? err) }, 'dashboard snapshot failed');
    } finally {
      this.reading = false;
    }
  }
}
