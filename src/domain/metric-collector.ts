/**
 * Measures every running instance every 10 seconds, from the leader: one `node-agent usage` per node that runs
 * instances (its containers' cgroups and ports), turned into CloudWatch's EC2 metrics (namespace AWS/EC2, dimension
 * InstanceId; and the same averaged per InstanceType and per ImageId, as statistic sets) and the CloudWatch agent's
 * `mem_used_percent` (namespace CWAgent). Counters become per-interval differences, so a metric's Sum over a period is
 * what happened in it (bytes received, operations), and CPUUtilization is the share of the instance's vCPUs used.
 */
import type { Knex } from 'knex';
import type { Logger } from '../log';
import type { ComputeNode, ContainerUsage, NodeUsage, PortCounters } from '../adapters/compute-node';
import { hostPortName } from '../adapters/libvirt';
import type { MetricData, Metrics, Sample } from './metrics';
import { Periodic } from './periodic';

export const SAMPLE_INTERVAL_MS = 10_000;
/** What the collector measures of each instance in the namespace AWS/EC2 (and `mem_used_percent` in CWAgent). */
export const EC2_METRICS = [
  'CPUUtilization',
  'NetworkIn',
  'NetworkOut',
  'NetworkPacketsIn',
  'NetworkPacketsOut',
  'DiskReadBytes',
  'DiskWriteBytes',
  'DiskReadOps',
  'DiskWriteOps',
] as const;

export interface RunningInstance {
  id: string;
  account_id: string;
  vcpus: number;
  memory_mib: number;
  instance_type: string;
  image_id: string;
  oar_node: string | null;
}
interface Previous {
  at: number;
  container: ContainerUsage;
  port?: PortCounters;
}
/** One pass: how many instances, and what it cost this process. */
export interface PassCost {
  instances: number;
  wallMs: number;
  cpuMs: number;
}

/** The EC2 metrics of one instance over one interval, by name, with their unit. */
export function instanceMetrics(prev: Previous, now: number, container: ContainerUsage, port: PortCounters | undefined, vcpus: number, memoryMib: number) {
  const seconds = (now - prev.at) / 1000;
  const delta = (a: number, b: number) => Math.max(0, a - b);
  const out: Record<string, { value: number; unit: string; namespace: string }> = {
    CPUUtilization: {
      value: Math.min(100, (delta(container.cpuNs, prev.container.cpuNs) / (seconds * 1e9 * Math.max(1, vcpus))) * 100),
      unit: 'Percent',
      namespace: 'AWS/EC2',
    },
    DiskReadBytes: { value: delta(container.readBytes, prev.container.readBytes), unit: 'Bytes', namespace: 'AWS/EC2' },
    DiskWriteBytes: { value: delta(container.writeBytes, prev.container.writeBytes), unit: 'Bytes', namespace: 'AWS/EC2' },
    DiskReadOps: { value: delta(container.readOps, prev.container.readOps), unit: 'Count', namespace: 'AWS/EC2' },
    DiskWriteOps: { value: delta(container.writeOps, prev.container.writeOps), unit: 'Count', namespace: 'AWS/EC2' },
    mem_used_percent: {
      value: (container.rssBytes / Math.min(container.limitBytes || Infinity, memoryMib * 1024 * 1024)) * 100,
      unit: 'Percent',
      namespace: 'CWAgent',
    },
  };
  if (port && prev.port) {
    // the host side of the veth: what it transmits, the instance receives
    out.NetworkIn = { value: delta(port.txBytes, prev.port.txBytes), unit: 'Bytes', namespace: 'AWS/EC2' };
    out.NetworkOut = { value: delta(port.rxBytes, prev.port.rxBytes), unit: 'Bytes', namespace: 'AWS/EC2' };
    out.NetworkPacketsIn = { value: delta(port.txPackets, prev.port.txPackets), unit: 'Count', namespace: 'AWS/EC2' };
    out.NetworkPacketsOut = { value: delta(port.rxPackets, prev.port.rxPackets), unit: 'Count', namespace: 'AWS/EC2' };
  }
  return out;
}

export class MetricCollector {
  private readonly previous = new Map<string, Previous>();
  private readonly loop: Periodic;
  lastPass?: PassCost;

  constructor(
    private readonly db: Knex,
    private readonly metrics: Metrics,
    private readonly nodeOf: (address: string | null) => ComputeNode,
    private readonly log: Logger,
  ) {
    this.loop = new Periodic(() => this.sample(), SAMPLE_INTERVAL_MS, log, 'metric sampling failed');
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.previous.clear();
  }

  /**
   * Samples every running instance once; the first sample of an instance only sets its baseline. `usageOf` and
   * `running` replace the node agent and the instance list (the bench measures a pass over synthetic instances).
   */
  async sample(now = Date.now(), usageOf?: (node: ComputeNode) => Promise<NodeUsage>, running?: RunningInstance[]): Promise<PassCost> {
    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const rows: RunningInstance[] =
      running ??
      (await this.db('instances').where('state', 'running').select('id', 'account_id', 'vcpus', 'memory_mib', 'instance_type', 'image_id', 'oar_node'));
    const byNode = new Map<string | null, RunningInstance[]>();
    for (const r of rows) byNode.set(r.oar_node, [...(byNode.get(r.oar_node) ?? []), r]);
    const usages = await Promise.all(
      [...byNode.keys()].map(async (address) => {
        const node = this.nodeOf(address);
        try {
          return [address, await (usageOf ?? ((n) => n.usage()))(node)] as const;
        } catch (err) {
          this.log.warn({ node: node.address, err: String(err) }, 'node usage not read');
          return [address, undefined] as const;
        }
      }),
    );
    const at = new Date(now);
    const perAccount = new Map<string, MetricData[]>();
    // per account, InstanceType and ImageId: the instances' values as one statistic set per metric
    const aggregates = new Map<
      string,
      { accountId: string; dimension: string; value: string; name: string; namespace: string; unit: string; values: number[] }
    >();
    const seen = new Set<string>();
    for (const [address, usage] of usages) {
      if (!usage) continue;
      for (const r of byNode.get(address)!) {
        const container = usage.containers.get(r.id);
        if (!container) continue;
        seen.add(r.id);
        const port = usage.ports.get(hostPortName(r.id));
        const prev = this.previous.get(r.id);
        this.previous.set(r.id, { at: now, container, port });
        if (!prev || container.cpuNs < prev.container.cpuNs || now - prev.at < 1000) continue; // restarted: a new baseline
        const list = perAccount.get(r.account_id) ?? [];
        perAccount.set(r.account_id, list);
        for (const [name, m] of Object.entries(instanceMetrics(prev, now, container, port, r.vcpus, r.memory_mib))) {
          list.push({ key: { namespace: m.namespace, name, dimensions: [{ Name: 'InstanceId', Value: r.id }] }, unit: m.unit, samples: [single(at, m.value)] });
          if (m.namespace !== 'AWS/EC2') continue;
          for (const [dimension, value] of [
            ['InstanceType', r.instance_type],
            ['ImageId', r.image_id],
          ]) {
            const k = `${r.account_id}/${dimension}/${value}/${name}`;
            const agg = aggregates.get(k) ?? { accountId: r.account_id, dimension, value, name, namespace: m.namespace, unit: m.unit, values: [] };
            agg.values.push(m.value);
            aggregates.set(k, agg);
          }
        }
      }
    }
    for (const a of aggregates.values()) {
      const list = perAccount.get(a.accountId)!;
      list.push({
        key: { namespace: a.namespace, name: a.name, dimensions: [{ Name: a.dimension, Value: a.value }] },
        unit: a.unit,
        samples: [{ at, n: a.values.length, sum: a.values.reduce((s, v) => s + v, 0), min: Math.min(...a.values), max: Math.max(...a.values) }],
      });
    }
    for (const id of this.previous.keys()) if (!seen.has(id)) this.previous.delete(id);
    for (const [accountId, data] of perAccount) await this.metrics.put(accountId, data);
    const cpu = process.cpuUsage(cpuBefore);
    this.lastPass = { instances: seen.size, wallMs: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 };
    return this.lastPass;
  }
}

function single(at: Date, value: number): Sample {
  return { at, n: 1, sum: value, min: value, max: value };
}
