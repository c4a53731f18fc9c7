/**
 * VPC networking on a cluster (two simulated nodes, real containers): two VPCs with the same CIDR, two subnets,
 * three security groups, instances on both nodes. Every allowed pair connects (tcp, udp, icmp) and every other pair
 * is refused, before and after rule and membership changes; an ACL's deny beats a group's allow and a stateless ACL
 * without the return ports breaks replies; an established connection survives an unrelated rule change; a forged
 * source address or MAC gets nowhere; outbound NAT needs the internet gateway route; an elastic IP reaches its
 * instance from this machine and moves; another account sees none of it.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkAclCommand,
  DeleteSecurityGroupCommand,
  DescribeNetworkAclsCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  ModifyInstanceAttributeCommand,
  ReplaceNetworkAclAssociationCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { withAdministration } from '../../src/cli/admin';
import { ensureSimulatedNodes, removeSimulatedNodes } from '../../src/cli/nodes';
import { localAddressToward } from '../../src/adapters/node-join';
import {
  config,
  dropAccount,
  execFileAsync,
  execIn,
  IMAGES,
  newAccount,
  nodeOf,
  oarcloud,
  sleep,
  terminateAll,
  waitForStates,
  type TestAccount,
} from '../support/live';

const NODE_SIZE = { cores: 1, slotsPerCore: 3, memoryMib: 3 * Math.floor(config.localMemoryMib / (config.localCores * config.slotsPerCore)) };
const quiet = () => undefined;
const PORTS = { web: 80, db: 5432, ssh: 22, dns: 53 };

/** Listeners every test instance runs: TCP on each port (answers its name), UDP echo on 53. */
const SERVE = (name: string) =>
  `nohup perl -MIO::Socket::INET -e '
    for my $p (${PORTS.web}, ${PORTS.db}, ${PORTS.ssh}) { next if fork; my $s = IO::Socket::INET->new(LocalPort => $p, Listen => 16, ReuseAddr => 1) or die;
      while (my $c = $s->accept) { print $c "${name}\\n"; close $c } exit }
    my $u = IO::Socket::INET->new(LocalPort => ${PORTS.dns}, Proto => "udp") or die; while ($u->recv(my $m, 100)) { $u->send("${name}") }' >/dev/null 2>&1 &
  sleep 0.5; echo started`;

/** What `from` gets from `to`: the name its listener answers with, or '' (refused, dropped, timed out). */
async function tcp(from: string, to: string, port: number, source?: string): Promise<string> {
  const out = await execIn(from, `timeout 3 nc -w 2 ${source ? `-s ${source} ` : ''}${to} ${port} </dev/null 2>/dev/null || true`);
  return out.trim();
}
async function udp(from: string, to: string): Promise<string> {
  const out = await execIn(
    from,
    `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "${to}:${PORTS.dns}", Proto => "udp"); $s->send("ping");
      eval { local $SIG{ALRM} = sub { die }; alarm 2; $s->recv($r, 100) }; print $r // ""' 2>/dev/null || true`,
  );
  return out.trim();
}
async function icmp(from: string, to: string): Promise<boolean> {
  return (await execIn(from, `ping -c 1 -W 2 ${to} >/dev/null 2>&1 && echo yes || echo no`)).trim() === 'yes';
}

/**
 * Probes until it gives `expected`, or fails with the last answer: the data plane follows a change within about a
 * second (BENCHMARKS.md measures it); the test only needs it to follow.
 */
async function eventually<T>(probe: () => Promise<T>, expected: T, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (last !== expected && Date.now() < deadline) {
    await sleep(250);
    last = await probe();
  }
  expect(last, what).to.equal(expected);
}

/** Runs `fn` with a TCP listener on this machine (the outside world) that answers "outside"; the sources it saw. */
async function outside(fn: (port: number) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const server: Server = createServer((s) => {
    seen.push(s.remoteAddress!.replace(/^::ffff:/, ''));
    s.end('outside\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  try {
    await fn((server.address() as { port: number }).port);
  } finally {
    server.close();
  }
  return seen;
}

describe('VPC networking on two simulated nodes (real containers, nftables, VXLAN)', function () {
  this.timeout(900_000);
  let account: TestAccount;
  let other: TestAccount;
  let ec2: EC2Client;
  let nodes: string[];
  let hostAddress: string;
  const ids: Record<string, string> = {};
  const ip: Record<string, string> = {};
  const net: Record<string, string> = {};

  async function launch(name: string, subnet: string, groups: string[], privateIp?: string): Promise<void> {
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.debian,
        InstanceType: 't2.nano',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnet,
        SecurityGroupIds: groups,
        PrivateIpAddress: privateIp,
      }),
    );
    ids[name] = run.Instances![0].InstanceId!;
    ip[name] = run.Instances![0].PrivateIpAddress!;
  }

  before(async () => {
    account = await newAccount('vpc');
    other = await newAccount('vpc-other');
    ec2 = account.ec2;
    await withAdministration(config, (admin) => removeSimulatedNodes(config, admin, quiet));
    nodes = await withAdministration(config, (admin) => ensureSimulatedNodes(config, admin, 2, NODE_SIZE, quiet));
    hostAddress = await localAddressToward(nodes[0]);

    // VPC A: subnets a1 (routed to an internet gateway) and a2 (main table: no way out); VPC B: the same CIDR
    const vpcA = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
    const vpcB = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
    const subnet = async (vpc: string, cidr: string) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr }))).Subnet!.SubnetId!;
    Object.assign(net, { vpcA, vpcB, a1: await subnet(vpcA, '10.20.1.0/24'), a2: await subnet(vpcA, '10.20.2.0/24'), b1: await subnet(vpcB, '10.20.1.0/24') });
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcA }));
    const table = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcA }))).RouteTable!.RouteTableId!;
    await ec2.send(new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: table, SubnetId: net.a1 }));

    // groups: web (80 from anywhere, icmp from the VPC), db (5432 tcp and 53 udp from web members), ops (22 from a2)
    const group = async (vpc: string, name: string) =>
      (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: name, Description: name }))).GroupId!;
    Object.assign(net, { web: await group(vpcA, 'web'), db: await group(vpcA, 'db'), ops: await group(vpcA, 'ops'), bAll: await group(vpcB, 'open') });
    const allow = (group: string, perms: object[]) => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: perms }));
    await allow(net.web, [
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '10.20.0.0/16' }] },
    ]);
    await allow(net.db, [
      { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: net.web }] },
      { IpProtocol: 'udp', FromPort: 53, ToPort: 53, UserIdGroupPairs: [{ GroupId: net.web }] },
    ]);
    await allow(net.ops, [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.20.2.0/24' }] }]);
    await allow(net.bAll, [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]);

    // w1, d1 and b1 on the first node, w2 and w3 on the second (the server and the other node drained meanwhile)
    await oarcloud('node', 'drain', 'localhost');
    try {
      await oarcloud('node', 'drain', nodes[1]);
      await launch('w1', net.a1, [net.web]);
      await launch('d1', net.a1, [net.db]);
      await launch('b1', net.b1, [net.bAll], ip.w1); // VPC B: the very address w1 has in VPC A
      await waitForStates(ec2, [ids.w1, ids.d1, ids.b1], ['running'], 180_000);
      await oarcloud('node', 'undrain', nodes[1]);
      await oarcloud('node', 'drain', nodes[0]);
      await launch('w2', net.a2, [net.web, net.ops]);
      await launch('w3', net.a1, [net.web]);
      await waitForStates(ec2, [ids.w2, ids.w3], ['running'], 180_000);
    } finally {
      for (const n of ['localhost', ...nodes]) await oarcloud('node', 'undrain', n);
    }
    await Promise.all(Object.entries(ids).map(([name, id]) => execIn(id, SERVE(name))));
  });

  after(async () => {
    try {
      await terminateAll(account);
    } finally {
      await withAdministration(config, (admin) => removeSimulatedNodes(config, admin, quiet));
      await dropAccount(account);
      await dropAccount(other);
    }
  });

  it('places the instances across the two nodes, with the overlapping address in each VPC', async () => {
    expect(await nodeOf(ids.w1)).to.equal(nodes[0]);
    expect(await nodeOf(ids.b1)).to.equal(nodes[0]);
    expect(await nodeOf(ids.w2)).to.equal(nodes[1]);
    expect(ip.b1).to.equal(ip.w1);
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [net.a1, net.b1] }))).Subnets!;
    expect(subnets.map((s) => s.CidrBlock)).to.deep.equal(['10.20.1.0/24', '10.20.1.0/24']);
  });

  it('connects every allowed pair and refuses every other (tcp, udp, icmp; across subnets and nodes)', async () => {
    const checks: [string, Promise<unknown>, unknown][] = [
      ['w1 → d1 tcp/5432 (web member)', tcp(ids.w1, ip.d1, 5432), 'd1'],
      ['w2 → d1 tcp/5432 (web member, other subnet and node)', tcp(ids.w2, ip.d1, 5432), 'd1'],
      ['w1 → d1 udp/53 (web member)', udp(ids.w1, ip.d1), 'd1'],
      ['d1 → w1 tcp/80 (from anywhere)', tcp(ids.d1, ip.w1, 80), 'w1'],
      ['w1 → w2 tcp/80 (across subnets and nodes)', tcp(ids.w1, ip.w2, 80), 'w2'],
      ['d1 → w2 icmp (from the VPC)', icmp(ids.d1, ip.w2), true],
      ['w1 → w2 tcp/22 (ops: only from a2)', tcp(ids.w1, ip.w2, 22), ''],
      ['w3 → w2 tcp/22 (ops: only from a2)', tcp(ids.w3, ip.w2, 22), ''],
      ['d1 → w1 tcp/22 (no rule)', tcp(ids.d1, ip.w1, 22), ''],
      ['w1 → d1 icmp (db: no icmp)', icmp(ids.w1, ip.d1), false],
      ['w1 → d1 tcp/80 (db: no 80)', tcp(ids.w1, ip.d1, 80), ''],
      ['w2 → d1 udp/53 (web member, other subnet and node)', udp(ids.w2, ip.d1), 'd1'],
      ['w1 → w2 udp/53 (web, ops: no udp)', udp(ids.w1, ip.w2), ''],
      ['b1 → d1 tcp/5432 (another VPC)', tcp(ids.b1, ip.d1, 5432), ''],
      ['b1 → w2 icmp (another VPC)', icmp(ids.b1, ip.w2), false],
      // b1's address is w1's: from VPC A it is w1 that answers, never b1 (whose group allows everything)
      ['w2 → b1 address tcp/80', tcp(ids.w2, ip.b1, 80), 'w1'],
      ['b1 → w2 address tcp/80', tcp(ids.b1, ip.w2, 80), ''],
    ];
    const results = await Promise.all(checks.map(([, p]) => p));
    for (const [i, [what, , expected]] of checks.entries()) expect(results[i], what).to.equal(expected);
  });

  it('applies rule and membership changes to running instances', async () => {
    const rule = (
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: net.db,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: `${ip.w2}/32` }] }],
        }),
      )
    ).SecurityGroupRules![0].SecurityGroupRuleId!;
    await eventually(() => tcp(ids.w2, ip.d1, 80), 'd1', 'w2 → d1:80 once allowed');
    expect(await tcp(ids.w1, ip.d1, 80), 'w1 → d1:80 still refused').to.equal('');
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: net.db, SecurityGroupRuleIds: [rule] }));
    await eventually(() => tcp(ids.w2, ip.d1, 80), '', 'w2 → d1:80 revoked');

    // w1 leaves web for ops: the db group's member rule no longer lets it in, and the web rule set follows
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: ids.w1, Groups: [net.ops] }));
    await eventually(() => tcp(ids.w1, ip.d1, 5432), '', 'w1 out of web');
    expect(await tcp(ids.d1, ip.w1, 80), 'w1 no longer serves 80').to.equal('');
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: ids.w1, Groups: [net.web] }));
    await eventually(() => tcp(ids.w1, ip.d1, 5432), 'd1', 'w1 back in web');
  });

  it('keeps an established connection through an unrelated rule change', async () => {
    // d1 answers slowly on 5433 (opened to w1 for this test); meanwhile another group's rules change
    const rule = (
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: net.db,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5433, ToPort: 5433, IpRanges: [{ CidrIp: `${ip.w1}/32` }] }],
        }),
      )
    ).SecurityGroupRules![0].SecurityGroupRuleId!;
    await execIn(ids.d1, `nohup sh -c '(echo first; sleep 3; echo second) | nc -l -q 1 -p 5433' >/dev/null 2>&1 & sleep 0.3`);
    await sleep(1000);
    const conversation = execIn(ids.w1, `timeout 8 nc -w 6 ${ip.d1} 5433 </dev/null || true`);
    await sleep(1000);
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: net.ops,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 9000, ToPort: 9000, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    expect((await conversation).trim().split('\n')).to.deep.equal(['first', 'second']);
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: net.db, SecurityGroupRuleIds: [rule] }));
  });

  it("drops a forged source address or MAC, even one the instance's group would allow", async () => {
    // w3 (on the second node) takes w1's address: d1 would let w1 in on 5432
    await execIn(ids.w3, `ip addr add ${ip.w1}/24 dev eth0`);
    try {
      expect(await tcp(ids.w3, ip.d1, 5432, ip.w1)).to.equal('');
    } finally {
      // its ARP probes for d1 went out from the forged address too, and were dropped: its own neighbor entry failed
      await execIn(ids.w3, `ip addr del ${ip.w1}/24 dev eth0; ip neigh flush dev eth0`);
    }
    expect(await tcp(ids.w3, ip.d1, 5432), 'with its own address').to.equal('d1');
    const mac = (await execIn(ids.w3, 'cat /sys/class/net/eth0/address')).trim();
    await execIn(ids.w3, 'ip link set eth0 address 02:11:22:33:44:55');
    try {
      expect(await tcp(ids.w3, ip.d1, 5432), 'with a forged MAC').to.equal('');
    } finally {
      await execIn(ids.w3, `ip link set eth0 address ${mac}`);
    }
  });

  it("an ACL's deny beats a group's allow, and a stateless ACL without the return ports breaks replies", async () => {
    const acls = (await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [net.vpcA] }] }))).NetworkAcls!;
    const association = (subnet: string) => acls.flatMap((a) => a.Associations!).find((a) => a.SubnetId === subnet)!.NetworkAclAssociationId!;
    const defaultAcl = acls.find((a) => a.IsDefault)!.NetworkAclId!;
    const acl = (await ec2.send(new CreateNetworkAclCommand({ VpcId: net.vpcA }))).NetworkAcl!.NetworkAclId!;
    const entry = (n: number, egress: boolean, action: 'allow' | 'deny', cidr: string, ports?: [number, number]) =>
      ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: acl,
          RuleNumber: n,
          Egress: egress,
          RuleAction: action,
          CidrBlock: cidr,
          Protocol: ports ? '6' : '-1',
          PortRange: ports ? { From: ports[0], To: ports[1] } : undefined,
        }),
      );
    // on a1: deny 5432 in from a2 (rule 50), then allow everything (100)
    await entry(50, false, 'deny', '10.20.2.0/24', [5432, 5432]);
    await entry(100, false, 'allow', '0.0.0.0/0');
    await entry(100, true, 'allow', '0.0.0.0/0');
    const a1Association = (await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: association(net.a1), NetworkAclId: acl })))
      .NewAssociationId!;
    try {
      await eventually(() => tcp(ids.w2, ip.d1, 5432), '', 'denied by the ACL, allowed by db');
      expect(await tcp(ids.w1, ip.d1, 5432), 'inside the subnet: no ACL').to.equal('d1');
      expect(await tcp(ids.w2, ip.w1, 80), 'another port from a2').to.equal('w1');
      // a2 gets an ACL that lets out everything but in only port 80: replies to w2's own connections die there
      const strict = (await ec2.send(new CreateNetworkAclCommand({ VpcId: net.vpcA }))).NetworkAcl!.NetworkAclId!;
      await ec2.send(
        new CreateNetworkAclEntryCommand({ NetworkAclId: strict, RuleNumber: 100, Egress: true, RuleAction: 'allow', CidrBlock: '0.0.0.0/0', Protocol: '-1' }),
      );
      await ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: strict,
          RuleNumber: 100,
          Egress: false,
          RuleAction: 'allow',
          CidrBlock: '0.0.0.0/0',
          Protocol: '6',
          PortRange: { From: 80, To: 80 },
        }),
      );
      const a2Association = (await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: association(net.a2), NetworkAclId: strict })))
        .NewAssociationId!;
      await eventually(() => tcp(ids.w1, ip.w2, 80), 'w2', 'in to a2 on 80');
      expect(await tcp(ids.w2, ip.w1, 80), 'out of a2: the reply has no rule').to.equal('');
      await ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: strict,
          RuleNumber: 110,
          Egress: false,
          RuleAction: 'allow',
          CidrBlock: '0.0.0.0/0',
          Protocol: '6',
          PortRange: { From: 1024, To: 65535 },
        }),
      );
      await eventually(() => tcp(ids.w2, ip.w1, 80), 'w1', 'with the ephemeral ports allowed back in');
      await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: a2Association, NetworkAclId: defaultAcl }));
      await ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: strict }));
    } finally {
      await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: a1Association, NetworkAclId: defaultAcl }));
      await ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: acl }));
    }
    await eventually(() => tcp(ids.w2, ip.d1, 5432), 'd1', 'the default ACL back');
  });

  it('lets a subnet out through NAT only with a route to the internet gateway', async () => {
    const seen = await outside(async (port) => {
      expect(await tcp(ids.w1, hostAddress, port), 'a1 has the route').to.equal('outside');
      expect(await tcp(ids.w2, hostAddress, port), 'a2 has none').to.equal('');
      expect(await tcp(ids.b1, hostAddress, port), 'VPC B has no gateway').to.equal('');
    });
    expect(seen, 'masqueraded as its node').to.deep.equal([nodes[0]]);
  });

  it('reaches an elastic IP from this machine, sends from it, and moves it to an instance on the other node', async () => {
    const { AllocationId, PublicIp } = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(new AssociateAddressCommand({ AllocationId, InstanceId: ids.w1 }));
    /** What this machine gets from the public address, retried for a while until it is `expected`. */
    const fetch = async (expected: string, port = 80) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const out = await execFileAsync('busybox', ['nc', '-w', '1', PublicIp!, String(port)], { timeout: 3000 }).then(
          (r) => r.stdout.trim(),
          () => '',
        );
        if (out === expected || Date.now() > deadline) return out;
        await sleep(100);
      }
    };
    expect(await fetch('w1')).to.equal('w1');
    expect(
      await execFileAsync('busybox', ['nc', '-w', '2', PublicIp!, '5432']).then(
        (r) => r.stdout,
        () => '',
      ),
      'not to a port its group refuses',
    ).to.equal('');
    const seen = await outside(async (port) => void (await tcp(ids.w1, hostAddress, port)));
    expect(seen, 'w1 goes out as its elastic IP').to.deep.equal([PublicIp]);
    // an instance has one private address: another one cannot be honoured
    const other = await ec2
      .send(new AssociateAddressCommand({ AllocationId, InstanceId: ids.w3, AllowReassociation: true, PrivateIpAddress: '10.99.99.99' }))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(other?.name).to.equal('InvalidParameterValue');
    const [w3] = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids.w3] }))).Reservations![0].Instances!;
    await ec2.send(new AssociateAddressCommand({ AllocationId, InstanceId: ids.w3, AllowReassociation: true, PrivateIpAddress: w3.PrivateIpAddress }));
    expect(await fetch('w3'), 'moved to w3 (second node)').to.equal('w3');
  });

  it("keeps each account's network to itself", async () => {
    await other.ec2.send(new DescribeVpcsCommand({ VpcIds: [net.vpcA] })).then(
      () => expect.fail('another account described the VPC'),
      (err) => expect(err.name).to.equal('InvalidVpcID.NotFound'),
    );
    await other.ec2.send(new DeleteSecurityGroupCommand({ GroupId: net.web })).then(
      () => expect.fail('another account deleted the group'),
      (err) => expect(err.name).to.equal('InvalidGroup.NotFound'),
    );
    const theirs = (await other.ec2.send(new DescribeVpcsCommand({}))).Vpcs!;
    expect(theirs.map((v) => v.IsDefault)).to.deep.equal([true]);
  });
});
