/**
 * Containers are unprivileged: root inside is an unprivileged host user (libvirt <idmap>), cannot raise its own
 * limits or remount /sys, and holds at most OARCLOUD_PIDS_MAX processes. Measured on these machines: without
 * <idmap>, root inside a libvirt-LXC container can raise its own memory limit.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { config, dropAccount, execIn, IMAGES, libvirt, newAccount, terminateAll, waitForStates, type TestAccount } from '../support/live';
import { PIDS_ROOT } from '../../src/adapters/libvirt';

describe('container isolation (real)', function () {
  this.timeout(180_000);
  let account: TestAccount;
  let id: string;
  before(async function () {
    if (config.idmapBase === null) return this.skip();
    account = await newAccount('iso');
    id = (await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 1, MaxCount: 1 }))).Instances![0]
      .InstanceId!;
    await waitForStates(account.ec2, [id], ['running']);
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  it('root inside is host user OARCLOUD_IDMAP_BASE, and files it creates belong to that user on the host', async () => {
    const init = await libvirt.initPid(id);
    const uids = /Uid:\s+(\d+)/.exec(readFileSync(`/proc/${init}/status`, 'utf8'))![1];
    expect(Number(uids)).to.equal(config.idmapBase);
    expect((await execIn(id, 'id -u')).trim()).to.equal('0');
    await execIn(id, 'echo mine > /root/owned');
    const upper = path.join(config.dataDir, 'instances', id, 'upper', 'root', 'owned');
    expect((await import('node:fs')).statSync(upper).uid).to.equal(config.idmapBase);
  });

  it('root inside cannot raise its own memory limit, nor remount /sys read-write', async () => {
    const limitFile = path.join(await libvirt.cgroupDir(id, 'memory'), 'memory.limit_in_bytes');
    const before = readFileSync(limitFile, 'utf8').trim();
    const attempt = await execIn(
      id,
      'for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/*/memory.limit_in_bytes; do echo 68719476736 > $f && echo WROTE $f; done 2>&1; true',
    );
    expect(attempt).not.to.contain('WROTE');
    expect(readFileSync(limitFile, 'utf8').trim()).to.equal(before);
    const remount = await execIn(id, 'mount -o remount,rw /sys 2>&1 && echo REMOUNTED; touch /sys/kernel/oarcloud-probe 2>&1 && echo TOUCHED; true');
    expect(remount).not.to.contain('REMOUNTED');
    expect(remount).not.to.contain('TOUCHED');
  });

  it(`holds at most OARCLOUD_PIDS_MAX (${config.pidsMax}) processes`, async () => {
    expect(readFileSync(path.join(PIDS_ROOT, id, 'pids.max'), 'utf8').trim()).to.equal(String(config.pidsMax));
    // try to start more processes than allowed: the shell itself runs out of forks, which is the point
    const out = await execIn(id, `i=0; while [ $i -lt ${config.pidsMax + 50} ]; do sleep 60 >/dev/null 2>&1 & i=$((i+1)); done`).catch((e: Error) => e.message);
    expect(out).to.match(/can't fork|Resource temporarily unavailable/);
    expect(Number(readFileSync(path.join(PIDS_ROOT, id, 'pids.current'), 'utf8'))).to.be.at.most(config.pidsMax);
    const events = readFileSync(path.join(PIDS_ROOT, id, 'pids.events'), 'utf8');
    expect(Number(/max (\d+)/.exec(events)![1]), 'forks beyond the limit were refused').to.be.above(0);
  });
});
