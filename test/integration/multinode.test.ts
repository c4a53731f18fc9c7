/**
 * A cluster, not a host: three simulated compute nodes (network, mount, pid and uts namespaces on this machine, each
 * with its own sshd, libvirtd and OAR node sshd), made and joined by the same code as `oarcloud up --nodes 3` and
 * `oarcloud node join`. Instances run where OAR places their jobs, reach each other across nodes over VXLAN, take
 * their disk along when started elsewhere, are captured where they run, and end with their node when it dies.
 */
import { expect } from 'chai';
import { CreateImageCommand, DescribeInstanceStatusCommand, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { Oar } from '../../src/adapters/oar';
import { withAdministration } from '../../src/cli/admin';
import { ensureSimulatedNodes, removeSimulatedNodes } from '../../src/cli/nodes';
import { runOk } from '../../src/adapters/exec';
import { ROOT } from '../../src/cli/bootstrap';
import path from 'node:path';
import {
  computeNodes,
  config,
  dropAccount,
  execIn,
  IMAGES,
  newAccount,
  nodeOf,
  oarcloud,
  oarnodes,
  sleep,
  terminateAll,
  waitForImage,
  waitForStates,
  type TestAccount,
} from '../support/live';

/**
 * Each simulated node: one core of three slots, each slot carrying the memory of one of this machine's (so that an
 * instance sized on the nodes fits here too, and the other way round).
 */
const NODE_SIZE = { cores: 1, slotsPerCore: 3, memoryMib: 3 * Math.floor(config.localMemoryMib / (config.localCores * config.slotsPerCore)) };
const quiet = () => undefined;

describe('a cluster of three simulated nodes (real namespaces, sshd, libvirtd and OAR on each)', function () {
  this.timeout(900_000);
  let account: TestAccount;
  let nodes: string[];
  /** Instance id → the node it runs on. */
  const placed = new Map<string, string>();

  before(async () => {
    account = await newAccount('cluster');
    // nodes left by `up --nodes` may have another size: start from none
    await withAdministration(config, (admin) => removeSimulatedNodes(config, admin, quiet));
    nodes = await withAdministration(config, (admin) => ensureSimulatedNodes(config, admin, 3, NODE_SIZE, quiet));
  });

  after(async () => {
    try {
      await terminateAll(account);
    } finally {
      await oarcloud('node', 'undrain', 'localhost');
      // removed from OAR by force: whatever still runs there ends with them
      await withAdministration(config, (admin) => removeSimulatedNodes(config, admin, quiet));
      await dropAccount(account);
    }
  });

  it('each node is an OAR host of its own, and joining it again changes nothing', async () => {
    for (const node of nodes) {
      const resources = await oarnodes(node);
      expect(resources, node).to.have.length(NODE_SIZE.slotsPerCore);
      expect(resources.every((r) => r.state === 'Alive')).to.equal(true);
    }
    const again = await oarcloud('node', 'join', `root@${nodes[0]}`);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.contain('already an OAR node');
    expect(await oarnodes(nodes[0])).to.have.length(NODE_SIZE.slotsPerCore);
    const list = await oarcloud('node', 'list');
    for (const node of nodes) expect(list.stdout).to.match(new RegExp(`^${node.replace(/\./g, '\\.')}\\s+Alive\\s+no\\s+1\\s`, 'm'));
  });

  it('MaxCount=9 fills the three nodes (the drained server takes none) and every instance reaches every other', async () => {
    expect((await oarcloud('node', 'drain', 'localhost')).code).to.equal(0);
    try {
      const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 9, MaxCount: 9 }));
      const ids = run.Instances!.map((i) => i.InstanceId!);
      const running = await waitForStates(account.ec2, ids, ['running'], 180_000);
      for (const id of ids) placed.set(id, (await nodeOf(id))!);
      const perNode = nodes.map((n) => [...placed.values()].filter((p) => p === n).length);
      expect(perNode, 'instances per node').to.deep.equal([3, 3, 3]);

      // OAR placed each job on the node whose libvirtd runs the container
      const list = await oarcloud('instance', 'list', '--account', account.name);
      const jobIds = ids.map((id) => Number(new RegExp(`^${id}\\s+\\S+\\s+running\\s+\\S+\\s+\\d+\\s+\\S+\\s+(\\d+)`, 'm').exec(list.stdout)?.[1]));
      const oar = new Oar(config);
      try {
        const jobs = await oar.jobs(jobIds);
        for (const [i, id] of ids.entries()) expect(jobs.get(jobIds[i])?.node, `${id}'s OAR job`).to.equal(placed.get(id));
      } finally {
        await oar.close();
      }
      for (const node of nodes) {
        const domains = await computeNodes.get(node).libvirt.list();
        const here = ids.filter((id) => placed.get(id) === node);
        for (const id of here) expect(domains.get(id), `${id} on ${node}`).to.equal('running');
      }

      const addresses = running.map((i) => i.PrivateIpAddress!);
      const results = await Promise.all(
        ids.map((id) => execIn(id, addresses.map((ip) => `ping -c 1 -W 2 ${ip} >/dev/null && echo "ok ${ip}" || echo "lost ${ip}"`).join('; '))),
      );
      for (const [i, out] of results.entries()) {
        expect(out.match(/^ok /gm), `${ids[i]} on ${placed.get(ids[i])}: ${out}`).to.have.length(addresses.length);
      }
    } finally {
      await oarcloud('node', 'undrain', 'localhost');
    }
  });

  it('a stopped instance started on another node takes its disk along', async () => {
    const [id] = [...placed.entries()].find(([, node]) => node === nodes[0])!;
    await execIn(id, 'echo "written on the first node" > /root/marker; sync');
    await account.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitForStates(account.ec2, [id], ['stopped'], 60_000);
    // the first node takes nothing new: OAR places it elsewhere
    expect((await oarcloud('node', 'drain', nodes[0])).code).to.equal(0);
    try {
      await account.ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
      await waitForStates(account.ec2, [id], ['running'], 120_000);
      const now = await nodeOf(id);
      expect(now).to.not.equal(nodes[0]);
      expect((await execIn(id, 'cat /root/marker')).trim()).to.equal('written on the first node');
      expect(await computeNodes.get(nodes[0]).mountedInstances()).to.not.include(id);
      placed.set(id, now!);
    } finally {
      await oarcloud('node', 'undrain', nodes[0]);
    }
  });

  it('CreateImage of an instance on another node: captured there, launched from anywhere', async () => {
    const [source] = [...placed.entries()].find(([, node]) => node === nodes[1])!;
    await execIn(source, 'echo "captured on the second node" > /root/captured');
    const { ImageId } = await account.ec2.send(new CreateImageCommand({ InstanceId: source, Name: `cluster-${Date.now()}` }));
    const image = await waitForImage(account.ec2, ImageId!, 60_000);
    expect(image.State, image.StateReason?.Message).to.equal('available');
    expect((await execIn(source, 'cat /root/captured')).trim(), 'the source was thawed').to.equal('captured on the second node');
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId, InstanceType: 't2.nano', MinCount: 1, MaxCount: 1 }));
    const copy = run.Instances![0].InstanceId!;
    await waitForStates(account.ec2, [copy], ['running'], 120_000);
    expect((await execIn(copy, 'cat /root/captured')).trim()).to.equal('captured on the second node');
    placed.set(copy, (await nodeOf(copy))!);
  });

  it('a node that dies: its instances are impaired, then terminated with the reason, and OAR marks it Dead', async () => {
    const victim = nodes[2];
    const lost = [...placed.entries()].filter(([, node]) => node === victim).map(([id]) => id);
    const survivors = [...placed.entries()].filter(([, node]) => node !== victim).map(([id]) => id);
    expect(lost.length).to.be.at.least(3);
    // the node stops at once, as a host that loses power: every process of it is killed, its link goes silent
    const init = (await runOk('bash', [path.join(ROOT, 'docker', 'sim-node.sh'), 'pid', '3'])).trim();
    await runOk('ip', ['link', 'set', 'ocu3', 'down']);
    await runOk('kill', ['-KILL', init]);

    let impaired = false;
    for (let i = 0; i < 60 && !impaired; i++) {
      const status = await account.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: lost }));
      impaired = (status.InstanceStatuses ?? []).length === lost.length && status.InstanceStatuses!.every((s) => s.SystemStatus?.Status === 'impaired');
      if (!impaired) await sleep(1000);
    }
    expect(impaired, 'DescribeInstanceStatus says impaired').to.equal(true);

    const ended = await waitForStates(account.ec2, lost, ['terminated'], 240_000);
    for (const inst of ended) {
      expect(inst.StateReason?.Code).to.equal('Server.ScheduledStop');
      expect(inst.StateReason?.Message).to.contain(`node ${victim} stopped answering`);
    }
    expect((await oarnodes(victim)).every((r) => r.state === 'Dead')).to.equal(true);
    // the other nodes' instances never noticed
    const others = await account.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: survivors }));
    expect(others.InstanceStatuses!.map((s) => s.InstanceStatus?.Status)).to.deep.equal(survivors.map(() => 'ok'));
  });
});
