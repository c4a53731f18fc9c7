/**
 * Live resize figures (issue 17): ModifyInstanceAttribute InstanceType on a running instance, from the call to its
 * answer (it answers once the new limits are in force), up (t2.nano → t2.small) and down, against what EC2 asks for
 * the same change: StopInstances, wait for stopped, ModifyInstanceAttribute, StartInstances, wait for running.
 */
import {
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { systemImageId } from '../src/domain/images';
import { median, waitForState as waitFor } from './figures';

export interface ResizeFigures {
  rounds: number;
  liveUpMs: number[];
  liveDownMs: number[];
  stopModifyStartMs: number[];
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function benchResize(ec2: EC2Client, quick: boolean): Promise<ResizeFigures> {
  const rounds = quick ? 1 : 5;
  const run = await ec2.send(new RunInstancesCommand({ ImageId: systemImageId('busybox'), InstanceType: 't2.nano', MinCount: 1, MaxCount: 1 }));
  const id = run.Instances![0].InstanceId!;
  const setType = (type: string) => ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: type } }));
  const figures: ResizeFigures = { rounds, liveUpMs: [], liveDownMs: [], stopModifyStartMs: [] };
  try {
    await waitFor(ec2, id, 'running');
    for (let i = 0; i < rounds; i++) {
      figures.liveUpMs.push(await timed(() => setType('t2.small')));
      figures.liveDownMs.push(await timed(() => setType('t2.nano')));
      figures.stopModifyStartMs.push(
        await timed(async () => {
          await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
          await waitFor(ec2, id, 'stopped');
          await setType(i % 2 ? 't2.nano' : 't2.small');
          await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
          await waitFor(ec2, id, 'running');
        }),
      );
      if (i % 2 === 0) await setType('t2.nano');
    }
  } finally {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitFor(ec2, id, 'terminated').catch(() => undefined);
  }
  return figures;
}

export function resizeReport(f: ResizeFigures, when: string): string[] {
  const up = median(f.liveUpMs);
  const smm = median(f.stopModifyStartMs);
  return [
    '## Live resize: ModifyInstanceAttribute InstanceType on a running instance',
    '',
    `${when} One busybox instance, ${f.rounds} rounds; live resize answers once the new limits are in force (a new`,
    'OAR job of the new size on the node, the cgroups moved onto it, the old job released).',
    '',
    '| change | p50 | runs |',
    '|---|---|---|',
    `| live resize up, t2.nano → t2.small | ${(up / 1000).toFixed(2)} s | ${f.liveUpMs.length} |`,
    `| live resize down, t2.small → t2.nano | ${(median(f.liveDownMs) / 1000).toFixed(2)} s | ${f.liveDownMs.length} |`,
    `| stop, modify, start (what EC2 asks for) until running | ${(smm / 1000).toFixed(2)} s | ${f.stopModifyStartMs.length} |`,
    '',
    `Live resize up takes ${(up / smm).toFixed(2)}× the time of a stop, modify and start, and the processes keep running.`,
    '',
  ];
}
