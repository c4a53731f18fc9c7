/** What the benchmark modules share: the median of a series, and waiting for an instance to reach a state. */
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';

/** The lower median (a measured value, never an average of two). */
export const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];

export async function instanceState(ec2: EC2Client, id: string): Promise<string> {
  return (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0].State!.Name!;
}

/** Polls every 100 ms until the instance is in `state` (two minutes at most). */
export async function waitForState(ec2: EC2Client, id: string, state: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await instanceState(ec2, id)) !== state) {
    if (Date.now() > deadline) throw new Error(`${id} did not become ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
