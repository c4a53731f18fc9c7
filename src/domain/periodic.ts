/**
 * Work the leader repeats on an interval (sampling metrics, sending notifications, checking admin alarms): one pass
 * at a time (a slow pass is never overlapped by the next), a failed pass logged and retried at the next tick, and
 * `wake()` for a pass now (or right after the running one) when there is new work.
 */
import type { Logger } from '../log';

export class Periodic {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly log: Logger,
    /** What a failed pass is logged as. */
    private readonly failure: string,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.run(), this.intervalMs);
  }

  /** A pass now, or right after the one running; nothing while stopped. */
  wake(): void {
    if (!this.timer) return;
    if (this.running) this.again = true;
    else this.run();
  }

  /** Stops the ticks and waits for the running pass. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.again = false;
    await this.running;
  }

  private run(): void {
    this.running ??= this.pass()
      .then(() => undefined)
      .catch((err) => this.log.warn({ err: String(err) }, this.failure))
      .finally(() => {
        this.running = undefined;
        if (this.again && this.timer) {
          this.again = false;
          this.run();
        }
      });
  }
}
