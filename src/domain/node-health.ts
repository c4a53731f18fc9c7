/**
 * Watches the compute nodes other than this machine (run by the leading server): every few seconds each node's agent
 * is asked whether it answers, and the answer is kept in `node_health` when it changes. A node that has not answered
 * for NODE_DEAD_AFTER_MS, and that OAR's own check (finaud) has marked Suspected too, is set Dead in OAR: OAR then
 * ends the jobs it held, and the reconciler terminates their instances (their disks were on that node). An admin
 * brings a repaired node back with `oarcloud node alive`.
 */
import type { Knex } from 'knex';
import type { Logger } from '../log';
import type { OarNodes } from '../adapters/oar-nodes';
import type { EventLog } from './events';

const CHECK_INTERVAL_MS = 3000;
export const NODE_DEAD_AFTER_MS = 20_000;

export interface NodeProbe {
  (address: string): Promise<{ ok: boolean; message: string }>;
}

export class NodeHealth {
  private timer?: NodeJS.Timeout;
  private checking = false;
  /** What was last written, per node (writes happen on change only). */
  private readonly known = new Map<string, { reachable: boolean; since: number }>();

  constructor(
    private readonly db: Knex,
    private readonly nodes: OarNodes,
    private readonly isRemote: (address: string) => boolean,
    private readonly probe: NodeProbe,
    private readonly events: EventLog,
    private readonly log: Logger,
    /** Told, after each check, which nodes other than this machine the cluster has. */
    private readonly onNodes: (remoteAddresses: string[]) => void = () => undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    void this.check();
  }

  stop(): void {
    clearInterval(this.timer);
    this.known.clear();
  }

  /** Nodes that do not answer, and since when. */
  async unreachable(): Promise<Map<string, Date>> {
    const rows: { address: string; since: Date }[] = await this.db('node_health').where('reachable', false).select('address', 'since');
    return new Map(rows.map((r) => [r.address, r.since]));
  }

  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const all = (await this.nodes.list()).filter((n) => this.isRemote(n.host));
      this.onNodes(all.map((n) => n.host));
      const nodes = all.filter((n) => n.state !== 'Dead');
      await Promise.all(nodes.map(async (n) => this.record(n.host, n.state, await this.probe(n.host))));
      // nodes OAR no longer has are forgotten
      const present = nodes.map((n) => n.host);
      await this.db('node_health')
        .modify((q) => (present.length ? q.whereNotIn('address', present) : q))
        .delete();
    } catch (err: any) {
      this.log.warn({ err: String(err?.message ?? err) }, 'node health check failed');
    } finally {
      this.checking = false;
    }
  }

  private async record(address: string, oarState: string, probe: { ok: boolean; message: string }): Promise<void> {
    const before = this.known.get(address);
    if (!before || before.reachable !== probe.ok) {
      const since = Date.now();
      this.known.set(address, { reachable: probe.ok, since });
      await this.db('node_health')
        .insert({ address, reachable: probe.ok, since: new Date(since), message: probe.message.slice(0, 500) })
        .onConflict('address')
        .merge();
      if (before || !probe.ok) {
        await this.events.record(
          'node',
          null,
          address,
          probe.ok ? `node ${address} answers again` : `node ${address} does not answer: ${probe.message.slice(0, 300)}`,
        );
        this.log.warn({ node: address, reachable: probe.ok, message: probe.message }, 'node health changed');
      }
      return;
    }
    if (!probe.ok && Date.now() - before.since > NODE_DEAD_AFTER_MS && oarState.includes('Suspected')) {
      this.log.error({ node: address }, 'node dead: setting it Dead in OAR, which ends its jobs');
      await this.nodes.markDead(address);
      await this.events.record(
        'node',
        null,
        address,
        `node ${address} has not answered for ${NODE_DEAD_AFTER_MS / 1000} s and OAR suspects it: set Dead in OAR`,
      );
    }
  }
}
