/**
 * VPC networking figures: a security group change until it is enforced (end to end on real instances, and the
 * packet filter's rewrite for 1,000 instances in a scratch namespace), TCP throughput between two instances on two
 * nodes against the same pair on one node, and the metadata service's latency from inside an instance (through this
 * machine's NAT and through a VPC router's relay).
 */
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  DescribeRouteTablesCommand,
  DisassociateAddressCommand,
  ReleaseAddressCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { Config } from '../src/config';
import { run, runOk } from '../src/adapters/exec';
import { compileFirewall, type FirewallModel } from '../src/adapters/firewall';
import { ComputeNodes } from '../src/adapters/compute-node';
import { Libvirt } from '../src/adapters/libvirt';
import { ImageStore } from '../src/adapters/image-store';
import { connect } from '../src/adapters/db';
import { systemImageId } from '../src/domain/images';
import { withAdministration } from '../src/cli/admin';
import { ensureSimulatedNodes, removeSimulatedNodes } from '../src/cli/nodes';
import { execFileSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import path from 'node:path';
import { median } from './figures';

const ROOT = path.resolve(__dirname, '..', '..');
const oarcloudCli = (...args: string[]) => execFileSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args]);
const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NetworkFigures {
  ruleChange: { endToEnd: number[]; rewrite1000: number[]; ports: number };
  throughput: { sameNodeMbps: number[]; crossNodeMbps: number[] };
  metadata: { sharedMs: number; vpcMs: number; requests: number };
  /** AssociateAddress moving an elastic IP to an instance on the other node, until that instance answers on it (ms). */
  eipMove: number[];
}

/** The nftables rewrite for `ports` instances in 20 groups, applied in a scratch network namespace: ms each. */
async function rewriteCost(ports: number, rounds: number): Promise<number[]> {
  const model: FirewallModel = { ports: [], sets: {}, subnets: [], trusted: [], gateways: [{ vni: 5001, ip: '10.1.0.1' }] };
  for (let g = 0; g < 20; g++) model.sets[`g_bench${g}`] = [];
  for (let i = 0; i < ports; i++) {
    const ip = `10.1.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    model.sets[`g_bench${i % 20}`].push(ip);
    model.ports.push({
      port: `oc${i.toString(16).padStart(13, '0')}`,
      network: 5001,
      ip,
      mac: `02:00:0a:01:${Math.floor(i / 250)
        .toString(16)
        .padStart(2, '0')}:${((i % 250) + 2).toString(16).padStart(2, '0')}`,
      ingress: [
        { protocol: 'tcp', from: 22, to: 22, cidr: '0.0.0.0/0' },
        { protocol: 'tcp', from: 80, to: 80, set: `g_bench${(i + 1) % 20}` },
        { protocol: 'icmp', from: -1, to: -1, cidr: '10.1.0.0/16' },
      ],
      egress: [{ protocol: '-1', from: null, to: null, cidr: '0.0.0.0/0' }],
    });
  }
  model.subnets.push({ network: 5001, cidr: '10.1.0.0/16', egress: [], ingress: [] });
  const script = compileFirewall(model, (n) => (n === 'shared' ? 'virbr-bench' : `ocv${n}`));
  await run('ip', ['netns', 'del', 'ocbench']);
  await runOk('ip', ['netns', 'add', 'ocbench']);
  try {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = now();
      await runOk('ip', ['netns', 'exec', 'ocbench', 'nft', '-f', '-'], { input: script });
      times.push(now() - t0);
    }
    return times;
  } finally {
    await run('ip', ['netns', 'del', 'ocbench']);
  }
}

export async function benchNetwork(config: Config, ec2: EC2Client, quick: boolean): Promise<NetworkFigures> {
  const nodes = new ComputeNodes(new Libvirt(config.libvirtUri), new ImageStore(config.dataDir), { ...config, gateway: '', subnet: '' });
  const db = connect(config.databaseUrl, { min: 0, max: 1 });
  const nodeOf = async (id: string) => (await db('instances').where('id', id).first('oar_node')).oar_node as string;
  const exec = async (id: string, command: string) => nodes.get(await nodeOf(id)).exec(id, command);
  const say = () => undefined;
  const perSlotMib = Math.floor(config.localMemoryMib / (config.localCores * config.slotsPerCore));
  const simulated = await withAdministration(config, async (admin) => {
    await removeSimulatedNodes(config, admin, say);
    return ensureSimulatedNodes(config, admin, 2, { cores: 1, slotsPerCore: 3, memoryMib: 3 * perSlotMib }, say);
  });
  const ids: string[] = [];
  try {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.90.0.0/16' }))).Vpc!.VpcId!;
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.90.1.0/24' }))).Subnet!.SubnetId!;
    // b's own group lets the VPC send the throughput test's port, and nothing else until the timed rule comes
    const closed = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'bench-closed', Description: 'bench' }))).GroupId!;
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: closed,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5001, ToPort: 5001, IpRanges: [{ CidrIp: '10.90.0.0/16' }] }],
      }),
    );
    const launch = async (extra: object = {}) => {
      const out = await ec2.send(new RunInstancesCommand({ ImageId: systemImageId('debian'), InstanceType: 't2.nano', MinCount: 1, MaxCount: 1, ...extra }));
      ids.push(out.Instances![0].InstanceId!);
      return { id: out.Instances![0].InstanceId!, ip: out.Instances![0].PrivateIpAddress! };
    };
    const waitRunning = async (id: string) => {
      for (let i = 0; i < 600 && !(await db('instances').where({ id, state: 'running' }).first('id')); i++) await sleep(200);
    };
    // a and b on the first node, c on the second: a→b stays on one node, a→c crosses VXLAN
    oarcloudCli('node', 'drain', 'localhost');
    oarcloudCli('node', 'drain', simulated[1]);
    const a = await launch({ SubnetId: subnet });
    const b = await launch({ SubnetId: subnet, SecurityGroupIds: [closed] });
    await Promise.all([waitRunning(a.id), waitRunning(b.id)]);
    oarcloudCli('node', 'undrain', simulated[1]);
    oarcloudCli('node', 'drain', simulated[0]);
    const c = await launch({ SubnetId: subnet });
    const shared = await launch();
    await Promise.all([waitRunning(c.id), waitRunning(shared.id)]);
    for (const n of ['localhost', ...simulated]) oarcloudCli('node', 'undrain', n);

    // throughput: 200 MB over one TCP connection, timed inside the sender
    const send = async (from: string, to: string) => {
      await exec(to.split(' ')[0], `nohup sh -c 'nc -l -p 5001 >/dev/null' >/dev/null 2>&1 & sleep 0.3`);
      const out = await exec(
        from,
        `s=$(date +%s%N); dd if=/dev/zero bs=1M count=200 2>/dev/null | nc -N ${to.split(' ')[1]} 5001; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
      );
      return (200 * 8) / (Number(out.trim()) / 1000);
    };
    const rounds = quick ? 1 : 5;
    const sameNodeMbps: number[] = [];
    const crossNodeMbps: number[] = [];
    for (let r = 0; r < rounds; r++) {
      sameNodeMbps.push(await send(a.id, `${b.id} ${b.ip}`));
      crossNodeMbps.push(await send(a.id, `${c.id} ${c.ip}`));
    }

    // a group change until enforced: b allows a new port from a; time until a's connection gets through
    const group = closed;
    await exec(b.id, `nohup sh -c 'while true; do echo ok | nc -l -p 7001; done' >/dev/null 2>&1 & sleep 0.3`);
    const endToEnd: number[] = [];
    for (let r = 0; r < (quick ? 1 : 5); r++) {
      // the probe loop runs inside a, so that only the rule's arrival is timed (ms since the epoch when it got through)
      const probe = exec(a.id, `while ! timeout 0.05 nc -z ${b.ip} 7001 2>/dev/null; do sleep 0.01; done; echo $(( $(date +%s%N) / 1000000 ))`);
      await sleep(500);
      const t0 = Date.now();
      const rule = (
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: group,
            IpPermissions: [{ IpProtocol: 'tcp', FromPort: 7001, ToPort: 7001, IpRanges: [{ CidrIp: `${a.ip}/32` }] }],
          }),
        )
      ).SecurityGroupRules![0].SecurityGroupRuleId!;
      endToEnd.push(Number((await probe).trim()) - t0);
      await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: group, SecurityGroupRuleIds: [rule] }));
      await sleep(1500);
    }

    // the metadata service from inside: 50 sequential requests, timed inside
    const requests = quick ? 10 : 50;
    const timed = async (id: string) =>
      Number(
        (
          await exec(
            id,
            `s=$(date +%s%N); for i in $(seq ${requests}); do busybox wget -q -O /dev/null http://169.254.169.254/latest/meta-data/instance-id; done; e=$(date +%s%N); echo $(( (e - s) / 1000 ))`,
          )
        ).trim(),
      ) /
      1000 /
      requests;
    const metadata = { sharedMs: await timed(shared.id), vpcMs: await timed(a.id), requests };

    // an elastic IP moved between a (first node) and c (second node): AssociateAddress → the new instance answers
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    const table = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).RouteTables![0].RouteTableId!;
    await ec2.send(new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    const defaultGroup = (await db('instance_security_groups').where('instance_id', a.id).first('group_id')).group_id as string;
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: defaultGroup,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 7002, ToPort: 7002, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    for (const [who, id] of [
      ['a', a.id],
      ['c', c.id],
    ])
      await exec(id, `nohup sh -c 'while true; do echo ${who} | nc -l -p 7002; done' >/dev/null 2>&1 & sleep 0.3`);
    const { AllocationId, PublicIp } = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    /** What one new connection to the public address gets within 300 ms ('' if nothing, or refused). */
    const answer = () =>
      new Promise<string>((resolve) => {
        let got = '';
        const socket = tcpConnect({ host: PublicIp!, port: 7002 });
        const done = () => {
          socket.destroy();
          resolve(got.trim());
        };
        socket.setTimeout(300, done);
        socket.on('data', (d) => {
          got += d.toString();
          done();
        });
        socket.on('error', done);
        socket.on('close', done);
      });
    const until = async (who: string) => {
      for (let i = 0; i < 200 && (await answer()) !== who; i++) await sleep(20);
    };
    await ec2.send(new AssociateAddressCommand({ AllocationId, InstanceId: a.id }));
    await until('a');
    const eipMove: number[] = [];
    for (let r = 0; r < (quick ? 1 : 4); r++) {
      const [to, who] = r % 2 === 0 ? [c.id, 'c'] : [a.id, 'a'];
      const t0 = now();
      await ec2.send(new AssociateAddressCommand({ AllocationId, InstanceId: to, AllowReassociation: true }));
      await until(who);
      eipMove.push(now() - t0);
    }
    await ec2.send(new DisassociateAddressCommand({ PublicIp }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId }));

    return {
      ruleChange: { endToEnd, rewrite1000: await rewriteCost(1000, quick ? 1 : 5), ports: 1000 },
      throughput: { sameNodeMbps, crossNodeMbps },
      metadata,
      eipMove,
    };
  } finally {
    if (ids.length) {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
      for (let i = 0; i < 900 && (await db('instances').whereIn('id', ids).whereNot('state', 'terminated').first('id')); i++) await sleep(200);
    }
    await db.destroy();
    await withAdministration(config, (admin) => removeSimulatedNodes(config, admin, say));
  }
}

export function networkReport(n: NetworkFigures): string[] {
  const ratio = median(n.throughput.crossNodeMbps) / median(n.throughput.sameNodeMbps);
  return [
    '',
    '## VPC networking',
    '',
    "Two simulated nodes, debian instances in one VPC subnet (two on one node, one on the other), the server's node drained.",
    '',
    '| measure | value |',
    '|---|---|',
    `| security group rule added → a new connection through (end to end, inside the instance; p50 of ${n.ruleChange.endToEnd.length}) | ${median(n.ruleChange.endToEnd).toFixed(0)} ms (all: ${n.ruleChange.endToEnd.map((v) => v.toFixed(0)).join(', ')}) |`,
    `| packet filter rewrite for ${n.ruleChange.ports} instances, 20 groups, one \`nft -f\` transaction (p50 of ${n.ruleChange.rewrite1000.length}) | ${median(n.ruleChange.rewrite1000).toFixed(0)} ms |`,
    `| TCP, 200 MB, two instances on one node (p50 of ${n.throughput.sameNodeMbps.length}) | ${median(n.throughput.sameNodeMbps).toFixed(0)} Mbit/s |`,
    `| TCP, 200 MB, two instances on two nodes (VXLAN) (p50) | ${median(n.throughput.crossNodeMbps).toFixed(0)} Mbit/s |`,
    `| **cross-node / same-node throughput** | **${ratio.toFixed(2)}** |`,
    `| elastic IP moved to an instance on the other node: AssociateAddress → it answers on the address (p50 of ${n.eipMove.length}) | ${median(n.eipMove).toFixed(0)} ms |`,
    `| metadata service, default VPC (NAT to the server), mean of ${n.metadata.requests} requests from inside | ${n.metadata.sharedMs.toFixed(1)} ms |`,
    `| metadata service, VPC (router relay on a node), mean of ${n.metadata.requests} | ${n.metadata.vpcMs.toFixed(1)} ms |`,
    '',
  ];
}
