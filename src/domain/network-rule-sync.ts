/**
 * Keeps the isolation rules (adapters/isolation.ts) of every node's instance bridge in step with the addresses
 * instances hold: on its own one-second timer, before any container starts (the reconciler asks for the node it
 * starts on: fail closed), and rewritten from scratch every ten seconds so that rules flushed by anyone else (an
 * iptables reload) come back. Every node holds the rules for all instances; a node that does not answer does not
 * hold up the others.
 */
import type { Logger } from '../log';
import type { NetworkIsolation } from '../adapters/isolation';
import type { InstanceStore } from './instances';

const SYNC_INTERVAL_MS = 1000;
const REWRITE_INTERVAL_MS = 10_000;

export class NetworkRuleSync {
  private timers: NodeJS.Timeout[] = [];
  /** Per node: the tail of its syncs, and the one waiting to begin (callers arriving meanwhile share it). */
  private readonly nodes = new Map<NetworkIsolation, { syncing: Promise<unknown>; waiting?: Promise<void> }>();

  constructor(
    private readonly instances: InstanceStore,
    /** The isolation of every node known (this machine first). */
    private readonly targets: () => NetworkIsolation[],
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
    await Promise.all([...this.nodes.values()].map((n) => n.syncing));
  }

  /**
   * Brings every node's rules in step with every address held by an instance that is not terminated, and waits for
   * node `on` (all nodes when not given): a node that does not answer holds up no other.
   */
  async sync(on?: NetworkIsolation): Promise<void> {
    const all = this.targets().map((isolation) => this.syncNode(isolation));
    if (!on) {
      const failed = (await Promise.allSettled(all)).find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return;
    }
    for (const p of all) p.catch(() => undefined);
    await this.syncNode(on);
  }

  /** One sync of the node's rules at a time; it reads the addresses when it begins, so callers may share it. */
  private syncNode(isolation: NetworkIsolation): Promise<void> {
    let node = this.nodes.get(isolation);
    if (!node) {
      node = { syncing: Promise.resolve() };
      this.nodes.set(isolation, node);
    }
    if (node.waiting) return node.waiting;
    const state = node;
    const next = state.syncing.then(async () => {
      state.waiting = undefined;
      const members = await this.instances.addressHolders();
      if (await isolation.sync(members)) this.log.info({ instances: members.length, bridge: isolation.describe() }, 'network isolation rules updated');
    });
    state.waiting = next;
    state.syncing = next.catch(() => undefined);
    return next;
  }

  /** Forgets what it believes is installed and writes every rule again. */
  async rewrite(): Promise<void> {
    for (const isolation of this.targets()) isolation.forget();
    await this.sync();
  }
}
