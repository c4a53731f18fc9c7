/**
 * Keeps the bridge's isolation rules (adapters/isolation.ts) in step with the addresses instances hold: on its own
 * one-second timer, before any container starts (the reconciler asks: fail closed), and rewritten from scratch every
 * ten seconds so that rules flushed by anyone else (an iptables reload) come back.
 */
import type { Logger } from '../log';
import type { NetworkIsolation } from '../adapters/isolation';
import type { InstanceStore } from './instances';

const SYNC_INTERVAL_MS = 1000;
const REWRITE_INTERVAL_MS = 10_000;

export class NetworkRuleSync {
  private syncing: Promise<unknown> = Promise.resolve();
  private waiting?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly instances: InstanceStore,
    private readonly isolation: NetworkIsolation,
    private readonly log: Logger,
  ) {}

  start(): void {
    const warn = (err: any) => this.log.warn({ err: String(err?.message ?? err) }, 'network isolation rules not updated');
    this.timers.push(setInterval(() => void this.sync().catch(warn), SYNC_INTERVAL_MS));
    this.timers.push(setInterval(() => void this.rewrite().catch(warn), REWRITE_INTERVAL_MS));
    void this.sync().catch(warn);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.syncing;
  }

  /**
   * Brings the rules in step with every address held by an instance that is not terminated. One sync runs at a
   * time, and callers arriving while one waits to begin share it (it will read the addresses they changed).
   */
  sync(): Promise<void> {
    if (this.waiting) return this.waiting;
    const next = this.syncing.then(async () => {
      this.waiting = undefined;
      const members = await this.instances.addressHolders();
      if (await this.isolation.sync(members)) this.log.info({ instances: members.length }, 'network isolation rules updated');
    });
    this.waiting = next;
    this.syncing = next.catch(() => undefined);
    return next;
  }

  /** Forgets what it believes is installed and writes every rule again. */
  async rewrite(): Promise<void> {
    this.isolation.forget();
    await this.sync();
  }
}
