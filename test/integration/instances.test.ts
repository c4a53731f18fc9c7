/**
 * Issue 4 against the real chain: every instance here is an OAR job and a libvirt-LXC container with a real
 * address. Each test terminates what it ran; the suite's leak check proves nothing stays behind.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeInstanceStatusCommand,
  ImportKeyPairCommand,
  ModifyInstanceAttributeCommand,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import {
  config,
  describe1,
  dropAccount,
  terminateAll,
  libvirt,
  ping,
  execFileAsync,
  execIn,
  IMAGES,
  newAccount,
  sleep,
  waitForStates,
  type TestAccount,
  instanceRow,
} from '../support/live';
import { Oar } from '../../src/adapters/oar';
import { ImageStore } from '../../src/adapters/image-store';
import { startServerInBackground, stopServer } from '../../src/cli/bootstrap';

const userData = (script: string) => Buffer.from(script).toString('base64');
const ids = (instances: Instance[] | undefined) => (instances ?? []).map((i) => i.InstanceId!);

const oarJob = (instanceId: string) => instanceRow(instanceId, 'oar_job_id', 'private_ip', 'state');

describe('Instances on OAR jobs and LXC containers (real)', function () {
  this.timeout(180_000);
  let account: TestAccount;
  let other: TestAccount;
  before(async () => {
    account = await newAccount('inst');
    other = await newAccount('other');
  });
  // each test leaves the account with no live instance, whatever happened
  afterEach(() => terminateAll(account));
  after(async () => {
    await dropAccount(account);
    await dropAccount(other);
  });

  it('runs a busybox instance: pending at once with an address, then running; user data ran once, limits apply', async () => {
    const run = await account.ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.busybox,
        InstanceType: 't2.nano',
        MinCount: 1,
        MaxCount: 1,
        UserData: userData('#!/bin/sh\necho ran >> /root/user-data-runs\nnproc > /root/nproc\ngrep MemTotal /proc/meminfo > /root/mem\n'),
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'first' }] }],
      }),
    );
    const [inst] = run.Instances!;
    expect(run.ReservationId).to.match(/^r-[0-9a-f]{17}$/);
    expect(run.OwnerId).to.equal(account.accountId);
    expect(inst.State).to.deep.equal({ Code: 0, Name: 'pending' });
    expect(inst.PrivateIpAddress).to.match(new RegExp(`^${config.subnetPrefix.replace(/\./g, '\\.')}\\.\\d+$`));
    expect(inst.LaunchTime).to.be.instanceOf(Date);
    expect(inst.Tags).to.deep.equal([{ Key: 'Name', Value: 'first' }]);

    const [running] = await waitForStates(account.ec2, [inst.InstanceId!], ['running']);
    expect(running.State).to.deep.equal({ Code: 16, Name: 'running' });
    expect(running.Placement?.AvailabilityZone).to.equal(`${config.regions[0]}a`);
    const job = await oarJob(inst.InstanceId!);
    const stat = await execFileAsync('oarstat', ['-s', '-j', String(job.oar_job_id)]);
    expect(stat.stdout).to.contain('Running');
    const oarName = await execFileAsync('oarstat', ['-f', '-j', String(job.oar_job_id)]);
    expect(oarName.stdout).to.contain(`name = ${inst.InstanceId}`);
    expect(await ping(inst.PrivateIpAddress!)).to.equal(true);

    await sleep(500);
    expect((await execIn(inst.InstanceId!, 'hostname')).trim()).to.equal(inst.InstanceId);
    expect(await execIn(inst.InstanceId!, 'cat /root/user-data-runs')).to.equal('ran\n');
    expect((await execIn(inst.InstanceId!, 'cat /root/nproc')).trim()).to.equal('1');
    expect(await execIn(inst.InstanceId!, 'cat /root/mem')).to.match(/MemTotal:\s+524288 kB/);

    const status = await account.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [inst.InstanceId!] }));
    expect(status.InstanceStatuses?.[0].InstanceStatus?.Status).to.equal('ok');
    const statusWith = async (Name: string, Values: string[]) =>
      (await account.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [inst.InstanceId!], Filters: [{ Name, Values }] }))).InstanceStatuses!.length;
    expect(await statusWith('instance-status.status', ['ok'])).to.equal(1);
    expect(await statusWith('system-status.reachability', ['pass*'])).to.equal(1);
    expect(await statusWith('instance-status.status', ['initializing', 'impaired'])).to.equal(0);
    expect(await statusWith('event.code', ['system-reboot'])).to.equal(0);
    const attr = await account.ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: inst.InstanceId, Attribute: 'userData' }));
    expect(Buffer.from(attr.UserData!.Value!, 'base64').toString()).to.contain('user-data-runs');

    // another account sees nothing of it
    const err = await other.ec2.send(new DescribeInstancesCommand({ InstanceIds: [inst.InstanceId!] })).catch((e) => e);
    expect(err.name).to.equal('InvalidInstanceID.NotFound');
    const err2 = await other.ec2.send(new TerminateInstancesCommand({ InstanceIds: [inst.InstanceId!] })).catch((e) => e);
    expect(err2.name).to.equal('InvalidInstanceID.NotFound');
    expect((await other.ec2.send(new DescribeInstancesCommand({}))).Reservations).to.deep.equal([]);
    // nor of its key pairs
    const keyName = `private-${Date.now()}`;
    await account.ec2.send(
      new ImportKeyPairCommand({
        KeyName: keyName,
        PublicKeyMaterial: Buffer.from('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x'),
      }),
    );
    const keyErr = await other.ec2.send(new DescribeKeyPairsCommand({ KeyNames: [keyName] })).catch((e) => e);
    expect(keyErr.name).to.equal('InvalidKeyPair.NotFound');
    const launchErr = await other.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1, KeyName: keyName })).catch((e) => e);
    expect(launchErr.name).to.equal('InvalidKeyPair.NotFound');
    expect((await other.ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs).to.deep.equal([]);

    // terminate cleans everything: container, OAR job, overlay, address
    const term = await account.ec2.send(new TerminateInstancesCommand({ InstanceIds: [inst.InstanceId!] }));
    expect(term.TerminatingInstances?.[0].CurrentState?.Name).to.equal('shutting-down');
    const [done] = await waitForStates(account.ec2, [inst.InstanceId!], ['terminated']);
    expect(done.State).to.deep.equal({ Code: 48, Name: 'terminated' });
    expect(done.StateReason?.Code).to.equal('Client.UserInitiatedShutdown');
    const after = await oarJob(inst.InstanceId!);
    expect(after.private_ip).to.equal(null);
    expect((await execFileAsync('oarstat', ['-s', '-j', String(job.oar_job_id)])).stdout).to.match(/Error|Terminated/);
    expect((await execFileAsync('virsh', ['-c', config.libvirtUri, 'list', '--all', '--name'])).stdout).not.to.contain(inst.InstanceId);
    expect(new ImageStore(config.dataDir).isMounted(inst.InstanceId!)).to.equal(false);
    expect(await ping(inst.PrivateIpAddress!)).to.equal(false);
    // terminated instances stay visible for the clients' waiters
    expect((await describe1(account.ec2, inst.InstanceId!)).State?.Name).to.equal('terminated');
  });

  it('stop keeps the root filesystem and address, start runs a new OAR job, reboot restarts the container', async () => {
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0].InstanceId!;
    const [running] = await waitForStates(account.ec2, [id], ['running']);
    await execIn(id, 'echo kept > /root/marker');
    const firstJob = (await oarJob(id)).oar_job_id;

    const stop = await account.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(stop.StoppingInstances?.[0]).to.deep.include({ PreviousState: { Code: 16, Name: 'running' }, CurrentState: { Code: 64, Name: 'stopping' } });
    const [stopped] = await waitForStates(account.ec2, [id], ['stopped']);
    expect(stopped.PrivateIpAddress).to.equal(running.PrivateIpAddress);
    expect((await execFileAsync('oarstat', ['-s', '-j', String(firstJob)])).stdout).to.match(/Error|Terminated/);
    expect(new ImageStore(config.dataDir).isMounted(id)).to.equal(false);

    const type = await account.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't2.small' } }));
    expect(type.$metadata.httpStatusCode).to.equal(200);
    await account.ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    const [again] = await waitForStates(account.ec2, [id], ['running']);
    expect(again.InstanceType).to.equal('t2.small');
    expect(again.PrivateIpAddress).to.equal(running.PrivateIpAddress);
    expect((await oarJob(id)).oar_job_id).not.to.equal(firstJob);
    expect(await execIn(id, 'cat /root/marker')).to.equal('kept\n');
    const memoryDir = await libvirt.cgroupDir(id, 'memory');
    expect(readFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), 'utf8').trim()).to.equal(String(2048 * 1024 * 1024));

    const initBefore = (await execIn(id, 'cat /proc/1/stat')).split(' ')[21];
    await account.ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
    let initAfter = initBefore;
    for (let i = 0; i < 50 && initAfter === initBefore; i++) {
      await sleep(200);
      initAfter = (await execIn(id, 'cat /proc/1/stat').catch(() => '')).split(' ')[21] ?? initBefore;
    }
    expect(initAfter, 'init start time changes on reboot').not.to.equal(initBefore);
    expect((await describe1(account.ec2, id)).State?.Name).to.equal('running');
  });

  it('an oardel from outside terminates the instance and frees everything within 10 s', async () => {
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0].InstanceId!;
    await waitForStates(account.ec2, [id], ['running']);
    const job = (await oarJob(id)).oar_job_id;
    const started = Date.now();
    await execFileAsync('runuser', ['-u', config.jobUser, '--', 'oardel', String(job)]);
    const [done] = await waitForStates(account.ec2, [id], ['terminated'], 10_000);
    expect(Date.now() - started).to.be.below(10_000);
    expect(done.StateReason?.Code).to.equal('Server.ScheduledStop');
    expect(done.StateReason?.Message).to.contain('deleted in OAR');
    expect((await execFileAsync('virsh', ['-c', config.libvirtUri, 'list', '--all', '--name'])).stdout).not.to.contain(id);
  });

  it('a container that dies follows InstanceInitiatedShutdownBehavior (stop or terminate)', async () => {
    const stopper = (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }))).Instances![0].InstanceId!;
    const terminator = (
      await account.ec2.send(
        new RunInstancesCommand({
          ImageId: IMAGES.busybox,
          MinCount: 1,
          MaxCount: 1,
          InstanceInitiatedShutdownBehavior: 'terminate',
        }),
      )
    ).Instances![0].InstanceId!;
    await waitForStates(account.ec2, [stopper, terminator], ['running']);
    const behaviour = await account.ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: terminator, Attribute: 'instanceInitiatedShutdownBehavior' }));
    expect(behaviour.InstanceInitiatedShutdownBehavior?.Value).to.equal('terminate');
    await execFileAsync('virsh', ['-c', config.libvirtUri, 'destroy', stopper]);
    await execIn(terminator, 'kill -TERM 1').catch(() => undefined);
    const [s] = await waitForStates(account.ec2, [stopper], ['stopped']);
    expect(s.StateReason?.Code).to.equal('Client.InstanceInitiatedShutdown');
    await waitForStates(account.ec2, [terminator], ['terminated']);
  });

  it('with every core taken, new instances stay pending with an OAR reason and run when cores free up; pagination is stable', async () => {
    // c5.large is a dedicated type: it takes two whole cores (all their slots), so a few of them fill the cluster
    const oar = new Oar(config);
    const cores = [...(await oar.capacity()).nodes.values()].reduce((sum, n) => sum + Math.floor(n.cores / 2), 0);
    await oar.close();
    const total = cores + 4;
    const run = await account.ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.busybox,
        InstanceType: 'c5.large',
        MinCount: total,
        MaxCount: total,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'batch', Value: 'queue' }] }],
      }),
    );
    const all = ids(run.Instances);
    expect(all).to.have.length(total);
    expect(new Set(run.Instances!.map((i) => i.PrivateIpAddress)).size).to.equal(total);

    // wait until the cluster is full: `cores` running, the rest pending with OAR's reason
    let running: Instance[] = [];
    let pending: Instance[] = [];
    for (let i = 0; i < 100; i++) {
      const d = await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: all }));
      const list = (d.Reservations ?? []).flatMap((r) => r.Instances ?? []);
      running = list.filter((x) => x.State?.Name === 'running');
      pending = list.filter((x) => x.State?.Name === 'pending');
      if (running.length === cores && pending.every((p) => /waiting in the OAR queue/.test(p.StateReason?.Message ?? ''))) break;
      await sleep(250);
    }
    expect(running).to.have.length(cores);
    expect(pending).to.have.length(total - cores);
    expect(pending[0].StateReason?.Message).to.match(/waiting in the OAR queue \(job \d+/);

    // filters and pagination over the same set
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await account.ec2.send(
        new DescribeInstancesCommand({ MaxResults: 5, NextToken: token, Filters: [{ Name: 'tag:batch', Values: ['que*'] }] }),
      );
      pages.push(ids((page.Reservations ?? []).flatMap((r) => r.Instances ?? [])));
      token = page.NextToken;
    } while (token);
    expect(pages[0]).to.have.length(5);
    expect(pages.flat().sort()).to.deep.equal([...all].sort());
    const byState = await account.ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'instance-state-name', Values: ['pending'] },
          { Name: 'tag-key', Values: ['batch'] },
        ],
      }),
    );
    expect(ids(byState.Reservations?.[0]?.Instances).sort()).to.deep.equal(ids(pending).sort());
    const byIp = await account.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'private-ip-address', Values: [running[0].PrivateIpAddress!] }] }));
    expect(ids(byIp.Reservations?.[0]?.Instances)).to.deep.equal([running[0].InstanceId]);
    const combo = await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: all, MaxResults: 5 })).catch((e) => e);
    expect(combo.name).to.equal('InvalidParameterCombination');

    // free the cores: as many queued instances start (which ones is OAR's FIFO order, not ours)
    await account.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids(running) }));
    let started = 0;
    for (let i = 0; i < 150 && started < cores; i++) {
      await sleep(200);
      const d = await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids(pending) }));
      started = (d.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((x) => x.State?.Name === 'running').length;
    }
    expect(started).to.equal(cores);
  });

  it('ClientToken makes RunInstances idempotent; a server killed during a launch loses and duplicates nothing', async () => {
    const token = `tok-${Date.now()}`;
    const params = { ImageId: IMAGES.busybox, MinCount: 2, MaxCount: 2, ClientToken: token };
    const first = await account.ec2.send(new RunInstancesCommand(params));
    // the server dies right after answering, before it could submit or start anything
    const pid = Number(readFileSync(config.pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await stopServer(config).catch(() => undefined);
    await startServerInBackground(config, true);
    const again = await account.ec2.send(new RunInstancesCommand(params));
    expect(again.ReservationId).to.equal(first.ReservationId);
    expect(ids(again.Instances)).to.deep.equal(ids(first.Instances));
    const mismatch = await account.ec2.send(new RunInstancesCommand({ ...params, MaxCount: 3 })).catch((e) => e);
    expect(mismatch.name).to.equal('IdempotentParameterMismatch');
    await waitForStates(account.ec2, ids(first.Instances), ['running'], 60_000);
    const all = await account.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] }));
    expect(ids(all.Reservations?.flatMap((r) => r.Instances ?? []))).to.have.length(2);
    // EC2 lists a reservation's instances in launch order, whatever their ids
    expect(all.Reservations![0].Instances!.map((i) => i.AmiLaunchIndex)).to.deep.equal([0, 1]);
    const oar = new Oar(config);
    const jobs = (await oar.activeJobs()).filter((j) => ids(first.Instances).includes(j.name ?? ''));
    await oar.close();
    expect(jobs, 'one OAR job per instance').to.have.length(2);
  });

  it('refuses to terminate an instance with DisableApiTermination until it is cleared', async () => {
    const id = (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1, DisableApiTermination: true })))
      .Instances![0].InstanceId!;
    const err = await account.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })).catch((e) => e);
    expect(err.name).to.equal('OperationNotPermitted');
    await account.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: false } }));
    await account.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForStates(account.ec2, [id], ['terminated']);
  });

  it('refuses bad launches with clear EC2 errors and creates nothing', async () => {
    const bad = async (p: Record<string, unknown>) =>
      (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1, ...p } as any)).catch((e) => e)).name;
    expect(await bad({ ImageId: 'ami-0123456789abcdef0' })).to.equal('InvalidAMIID.NotFound');
    expect(await bad({ ImageId: 'nope' })).to.equal('InvalidAMIID.Malformed');
    expect(await bad({ KeyName: 'missing-key' })).to.equal('InvalidKeyPair.NotFound');
    expect(await bad({ UserData: Buffer.alloc(16 * 1024 + 1).toString('base64') })).to.equal('InvalidParameterValue');
    expect(await bad({ Placement: { AvailabilityZone: 'moon-1a' } })).to.equal('InvalidParameterValue');
    expect(await bad({ MinCount: 3, MaxCount: 2 })).to.equal('InvalidParameterValue');
    expect(await bad({ MinCount: 1000, MaxCount: 1000 })).to.equal('InstanceLimitExceeded');
    expect(await bad({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'aws:x', Value: 'y' }] }] })).to.equal('InvalidParameterValue');
    // a spot request is refused, not started as an ordinary instance
    expect(await bad({ InstanceMarketOptions: { MarketType: 'spot' } })).to.equal('UnsupportedOperation');
    expect(
      (await account.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }] }))).Reservations,
    ).to.deep.equal([]);
  });

  it('ssh -i key root@<PrivateIpAddress> works into a debian instance', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-ssh-'));
    const keyFile = path.join(dir, 'id');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const keyName = `k-${Date.now()}`;
    await account.ec2.send(new ImportKeyPairCommand({ KeyName: keyName, PublicKeyMaterial: readFileSync(`${keyFile}.pub`) }));
    const id = (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.debian, MinCount: 1, MaxCount: 1, KeyName: keyName }))).Instances![0]
      .InstanceId!;
    const [inst] = await waitForStates(account.ec2, [id], ['running']);
    expect(inst.KeyName).to.equal(keyName);
    let out = '';
    for (let i = 0; i < 30 && !out; i++) {
      out = await execFileAsync(
        'ssh',
        [
          '-i',
          keyFile,
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'ConnectTimeout=2',
          `root@${inst.PrivateIpAddress}`,
          'cat /etc/hostname; id -u',
        ],
        { timeout: 10_000 },
      ).then(
        (r) => r.stdout,
        () => '',
      );
      if (!out) await sleep(300);
    }
    expect(out).to.equal(`${id}\n0\n`);
  });
});
