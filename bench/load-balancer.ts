/**
 * Load balancing figures: requests/s and p99 latency of HTTP GETs through one internet-facing application load
 * balancer (HAProxy) to three busybox httpd instances, next to the same load sent straight to one of them at its
 * automatic public address (both paths cross the VPC's router from this machine), measured with autocannon in
 * alternating rounds. The ratio is the proxy's cost.
 */
import autocannon from 'autocannon';
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { systemImageId } from '../src/domain/images';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];

export interface LoadBalancerFigures {
  connections: number;
  seconds: number;
  direct: { rps: number[]; p99: number[] };
  balanced: { rps: number[]; p99: number[] };
  errors: number;
}

async function load(url: string, connections: number, seconds: number): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

export async function benchLoadBalancer(ec2: EC2Client, elb: ElasticLoadBalancingV2Client, quick: boolean): Promise<LoadBalancerFigures> {
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.90.0.0/16' }))).Vpc!.VpcId!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.90.1.0/24' }))).Subnet!.SubnetId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
  const table = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).RouteTables![0].RouteTableId!;
  await ec2.send(new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
  const group = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'http', Description: 'http' }))).GroupId!;
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: group,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    }),
  );
  const userData = Buffer.from('mkdir -p /www; echo hello > /www/index.html; httpd -p 80 -h /www\n').toString('base64');
  const launch = async (count: number, publicAddress: boolean) =>
    (
      await ec2.send(
        new RunInstancesCommand({
          ImageId: systemImageId('busybox'),
          InstanceType: 't2.nano',
          MinCount: count,
          MaxCount: count,
          UserData: userData,
          NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet, Groups: [group], AssociatePublicIpAddress: publicAddress }],
        }),
      )
    ).Instances!.map((i) => i.InstanceId!);
  const ids = [...(await launch(1, true)), ...(await launch(2, false))];
  let lbArn: string | undefined;
  let tgArn: string | undefined;
  try {
    tgArn = (
      await elb.send(
        new CreateTargetGroupCommand({ Name: 'bench', Protocol: 'HTTP', Port: 80, VpcId: vpc, HealthCheckIntervalSeconds: 5, HealthyThresholdCount: 2 }),
      )
    ).TargetGroups![0].TargetGroupArn!;
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'bench', Subnets: [subnet], SecurityGroups: [group] }))).LoadBalancers![0];
    lbArn = lb.LoadBalancerArn!;
    await elb.send(
      new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }] }),
    );
    let publicIp: string | undefined;
    for (let i = 0; i < 300 && !publicIp; i++) {
      const view = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!);
      if (view.every((v) => v.State?.Name === 'running')) publicIp = view.find((v) => v.InstanceId === ids[0])?.PublicIpAddress;
      if (!publicIp) await sleep(500);
    }
    if (!publicIp) throw new Error('the instances did not run');
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: ids.map((Id) => ({ Id })) }));
    for (let i = 0; i < 120; i++) {
      const health = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }))).TargetHealthDescriptions ?? [];
      if (health.length === 3 && health.every((h) => h.TargetHealth?.State === 'healthy')) break;
      await sleep(500);
    }
    const connections = 20;
    const seconds = quick ? 1 : 8;
    const direct = { rps: [] as number[], p99: [] as number[] };
    const balanced = { rps: [] as number[], p99: [] as number[] };
    let errors = 0;
    await load(`http://${publicIp}/`, connections, 1);
    await load(`http://${lb.DNSName}/`, connections, 1);
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      for (const [url, into] of [
        [`http://${publicIp}/`, direct],
        [`http://${lb.DNSName}/`, balanced],
      ] as const) {
        const r = await load(url, connections, seconds);
        into.rps.push(r.rps);
        into.p99.push(r.p99);
        errors += r.errors;
      }
    }
    return { connections, seconds, direct, balanced, errors };
  } finally {
    if (lbArn) await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
    if (tgArn) await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tgArn })).catch(() => undefined);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    for (let i = 0; i < 240; i++) {
      const view = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!);
      if (view.every((v) => v.State?.Name === 'terminated')) break;
      await sleep(500);
    }
  }
}

export function loadBalancerReport(f: LoadBalancerFigures): string[] {
  const ratio = median(f.balanced.rps) / median(f.direct.rps);
  return [
    '',
    '## Load balancing: HTTP through one application load balancer (HAProxy) to three busybox httpd instances',
    '',
    `autocannon from this machine, ${f.connections} connections, ${f.seconds} s per round, rounds alternating; both paths cross the VPC's router`,
    `(the load balancer's and the instance's public addresses). Errors and non-2xx answers in all rounds: ${f.errors}.`,
    '',
    '| path | requests/s (median of rounds) | p99 latency (median of rounds) |',
    '|---|---|---|',
    `| straight to one instance | ${median(f.direct.rps).toFixed(0)} | ${median(f.direct.p99).toFixed(1)} ms |`,
    `| through the load balancer to three | ${median(f.balanced.rps).toFixed(0)} | ${median(f.balanced.p99).toFixed(1)} ms |`,
    `| **load balancer / direct throughput** | **${ratio.toFixed(2)}** | |`,
    '',
    'busybox httpd closes every connection and forks a process per request: 20 clients opening connections straight at one',
    "of them meet occasional stalls of seconds (connection setups that wait to be retried), which is the direct path's p99.",
    "HAProxy keeps the clients' connections open and spreads the new ones over three servers, so here the proxy costs no",
    'throughput and its p99 is that of an ordinary request.',
    '',
  ];
}
