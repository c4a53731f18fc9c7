/**
 * Several API servers may share one database: every one answers the API, one at a time runs the loops that act on
 * OAR and libvirt (reconciler, sweeper, network rules, image capture). The leader is whoever holds a PostgreSQL
 * advisory lock; the others try for it every second, so one takes over within about a second of the leader's
 * death (its session ends with it). A leader that loses its session stops its loops before anyone else can lead.
 */
import type { Logger } from '../log';
import type { AdvisoryLock } from '../adapters/advisory-lock';

const CHECK_INTERVAL_MS = 1000;

export class Leadership {
  private leading = false;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(
    private readonly lock: AdvisoryLock,
    private readonly lead: () => Promise<void> | void,
    private readonly follow: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Checks at once (so a lone server leads before it answers its first request), then every second. */
  async start(): Promise<void> {
    await this.check();
    // a failure to start or stop the loops is logged, never left to crash the server: the next check tries again
    this.timer = setInterval(
      () => void this.check().catch((err) => this.log.error({ err: String(err?.message ?? err) }, 'leadership change failed')),
      CHECK_INTERVAL_MS,
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    if (this.leading) {
      this.leading = false;
      await this.follow();
    }
    await this.lock.release();
  }

  private check(): Promise<void> {
    this.checking ??= (async () => {
      const holds = await this.lock.tryHold();
      if (holds && !this.leading) {
        this.leading = true;
        this.log.info('leading: this server runs the reconciler, the sweeper and image capture');
        await this.lead();
      } else if (!holds && this.leading) {
        this.leading = false;
        this.log.warn('no longer leading (the database session holding the lock ended): loops stopped');
        await this.follow();
      }
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }
}
