/**
 * Density: OAR resources are vCPU slots (OARCLOUD_SLOTS_PER_CORE per core, each carrying its share of the memory).
 * Burstable instances share cores; a batch user of the same OAR cluster still gets whole cores.
 */
import { expect } from 'chai';
import { RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { Oar } from '../../src/adapters/oar';
import { config, dropAccount, execFileAsync, execIn, IMAGES, newAccount, sleep, terminateAll, waitForStates, type TestAccount } from '../support/live';

const BATCH_USER = 'oarcloud-batch-test';

/** OAR's full record of a job (`oarstat -fJ`). */
async function oarJob(id: number): Promise<{ state: string; assigned_resources: number[] }> {
  const { stdout } = await execFileAsync('oarstat', ['-f', '-J', '-j', String(id)]);
  return JSON.parse(stdout)[String(id)];
}

describe('density: vCPU slots on OAR (real)', function () {
  this.timeout(600_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('density');
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  it('a batch user of the same OAR cluster still gets a whole core: all its slots, one CPU', async () => {
    await execFileAsync('bash', ['-c', `id ${BATCH_USER} >/dev/null 2>&1 || useradd -M -d /tmp -s /bin/bash ${BATCH_USER}`]);
    const { stdout } = await execFileAsync('runuser', [
      '-u',
      BATCH_USER,
      '--',
      'oarsub',
      '-d',
      '/tmp',
      '-O',
      '/dev/null',
      '-E',
      '/dev/null',
      '-l',
      '/core=1,walltime=0:05:00',
      'sleep 300',
    ]);
    const jobId = Number(/OAR_JOB_ID=(\d+)/.exec(stdout)![1]);
    try {
      let job = await oarJob(jobId);
      for (let i = 0; i < 100 && job.state !== 'Running'; i++) {
        await sleep(200);
        job = await oarJob(jobId);
      }
      expect(job.state).to.equal('Running');
      expect(job.assigned_resources).to.have.length(config.slotsPerCore);
      const oar = new Oar(config);
      try {
        const seen = (await oar.jobs([jobId])).get(jobId)!;
        expect(seen.cpuset?.split(',')).to.have.length(1);
      } finally {
        await oar.close();
      }
    } finally {
      await execFileAsync('oardel', [String(jobId)]).catch(() => undefined);
      for (let i = 0; i < 100 && !['Terminated', 'Error'].includes((await oarJob(jobId)).state); i++) await sleep(200);
    }
  });

  it(`runs ${40} t2.nano at once on this machine, each holding one slot, within the memory the node offers`, async () => {
    const count = 40;
    const slots = config.localCores * config.slotsPerCore;
    expect(slots, 'OARCLOUD_OAR_CORES x OARCLOUD_SLOTS_PER_CORE').to.be.at.least(count);
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: count, MaxCount: count }));
    const ids = run.Instances!.map((i) => i.InstanceId!);
    const running = await waitForStates(account.ec2, ids, ['running'], 300_000);
    expect(running).to.have.length(count);
    // each one's OAR job holds exactly one slot; together they hold no more memory than the node offers
    const oar = new Oar(config);
    try {
      const jobs = await oar.activeJobs();
      const mine = jobs.filter((j) => ids.includes(j.name ?? ''));
      expect(mine).to.have.length(count);
      for (const j of mine.slice(0, 5)) expect((await oarJob(j.id)).assigned_resources).to.have.length(1);
      const { memoryPerSlotMib } = (await oar.capacity()).nodes.get('localhost')!;
      expect(512).to.be.at.most(memoryPerSlotMib);
      expect(count * memoryPerSlotMib).to.be.at.most(config.localMemoryMib);
    } finally {
      await oar.close();
    }
    // an instance sees one CPU, as its type says, and its memory limit
    expect((await execIn(ids[0], 'nproc')).trim()).to.equal('1');
    // forty oardels in a row: OAR ends the jobs one after the other
    await account.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await waitForStates(account.ec2, ids, ['terminated'], 240_000);
  });
});
