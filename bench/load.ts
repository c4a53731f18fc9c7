/**
 * Mixed load: N concurrent SDK clients for S seconds, each mostly describing, sometimes launching one instance
 * and terminating it again. Records every instance it was given, so a run can prove none was lost or leaked.
 */
import { DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { systemImageId } from '../src/domain/images';

export interface LoadResult {
  clients: number;
  seconds: number;
  requests: number;
  byAction: Record<string, { count: number; p50: number; p99: number }>;
  status: Record<string, number>;
  serverErrors: number;
  launched: string[];
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
}

export async function mixedLoad(ec2: EC2Client, clients: number, seconds: number): Promise<LoadResult> {
  const latencies: Record<string, number[]> = {};
  const status: Record<string, number> = {};
  const launched: string[] = [];
  let serverErrors = 0;
  const deadline = Date.now() + seconds * 1000;
  const call = async <T>(action: string, send: () => Promise<T>): Promise<T | undefined> => {
    const t0 = performance.now();
    try {
      const out = await send();
      status['200'] = (status['200'] ?? 0) + 1;
      return out;
    } catch (err: any) {
      const code = `${err?.$metadata?.httpStatusCode ?? 'network'} ${err?.name ?? ''}`.trim();
      status[code] = (status[code] ?? 0) + 1;
      if (!(err?.$metadata?.httpStatusCode < 500)) serverErrors++;
      return undefined;
    } finally {
      (latencies[action] ??= []).push(performance.now() - t0);
    }
  };
  const worker = async (n: number) => {
    let mine: string | undefined;
    let i = 0;
    while (Date.now() < deadline) {
      const dice = (n * 7 + i++ * 13) % 20;
      if (dice === 0 && !mine) {
        const run = await call('RunInstances', () =>
          ec2.send(new RunInstancesCommand({ ImageId: systemImageId('busybox'), InstanceType: 't2.nano', MinCount: 1, MaxCount: 1 })),
        );
        mine = run?.Instances?.[0]?.InstanceId;
        if (mine) launched.push(mine);
      } else if (dice === 1 && mine) {
        const id = mine;
        await call('TerminateInstances', () => ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
        mine = undefined;
      } else if (dice % 2 === 0 && mine) {
        const id = mine;
        await call('DescribeInstances', () => ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
      } else {
        await call('DescribeInstances', () => ec2.send(new DescribeInstancesCommand({ MaxResults: 50 })));
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, n) => worker(n)));
  const byAction = Object.fromEntries(Object.entries(latencies).map(([a, v]) => [a, { count: v.length, p50: pct(v, 50), p99: pct(v, 99) }]));
  return { clients, seconds, requests: Object.values(latencies).reduce((a, v) => a + v.length, 0), byAction, status, serverErrors, launched };
}
