/**
 * Elastic Load Balancing (v2) on real HAProxy processes: three debian instances each serve their own instance id
 * over HTTP behind an internet-facing application load balancer reached from this machine by its DNS name; health
 * from HAProxy's checks (a stopped server goes unhealthy within its thresholds and no request fails), a path rule to
 * a second group and a fixed response, draining on deregistration, a TCP listener of an internal network load
 * balancer used from inside the VPC by name, an established connection through a reload, a proxy re-created after
 * it was killed, another account's instance refused as a target, ELB's own errors in the Query protocol's envelope,
 * and the account's quotas.
 */
import { expect } from 'chai';
import { Agent, request } from 'node:http';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { dropAccount, elbClient, execFileAsync, execIn, IMAGES, newAccount, publicSubnet, sleep, waitForStates, type TestAccount } from '../support/live';

/** Serves its instance id at / and "api-<id>" under /api/ (busybox httpd, started by the user data). */
const USER_DATA = `#!/bin/sh
id=$(busybox wget -q -O- http://169.254.169.254/latest/meta-data/instance-id)
mkdir -p /www/api
echo "$id" > /www/index.html
echo "api-$id" > /www/api/index.html
busybox httpd -p 80 -h /www
`;

/** One GET from this machine: [status, body] ([0, ''] when the connection fails). */
function get(host: string, path = '/', port = 80): Promise<[number, string]> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, agent: new Agent({ keepAlive: false }), timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve([res.statusCode ?? 0, body.trim()]));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve([0, '']));
    req.end();
  });
}

describe('load balancers (ELBv2 on HAProxy, real instances)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  let other: TestAccount;
  let elb: ElasticLoadBalancingV2Client;
  let vpc: string;
  let subnet: string;
  let web: string;
  let ids: string[];
  let lbArn: string;
  let dnsName: string;
  let listenerArn: string;
  let webGroup: string;
  let apiGroup: string;
  /** The internal network load balancer, once made. */
  let inner: { arn: string; dnsName: string };

  const health = async (group: string): Promise<TargetHealthDescription[]> =>
    (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: group }))).TargetHealthDescriptions ?? [];
  /** Polls until every target's state is one of the wanted ones (per target id); returns the last answer. */
  const healthUntil = async (group: string, wanted: Record<string, string>, ms = 60_000): Promise<TargetHealthDescription[]> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const now = await health(group);
      const states = Object.fromEntries(now.map((t) => [t.Target!.Id!, t.TargetHealth!.State!]));
      if (Object.entries(wanted).every(([id, s]) => states[id] === s) || Date.now() > deadline) return now;
      await sleep(500);
    }
  };
  const states = (h: TargetHealthDescription[]) => Object.fromEntries(h.map((t) => [t.Target!.Id!, t.TargetHealth!.State!]));
  const targetGroup = async (name: string, extra: object = {}) =>
    (
      await elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: 'HTTP',
          Port: 80,
          VpcId: vpc,
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 2,
          ...extra,
        }),
      )
    ).TargetGroups![0].TargetGroupArn!;

  before(async () => {
    account = await newAccount('elb');
    other = await newAccount('elb-other');
    elb = elbClient(account);
    const { ec2 } = account;
    ({ vpc, subnet } = await publicSubnet(ec2, '10.81.0.0/16', '10.81.1.0/24'));
    const group = async (name: string, permissions: object[]) => {
      const id = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: name, Description: name }))).GroupId!;
      await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: permissions }));
      return id;
    };
    const lbGroup = await group('lb', [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]);
    // the instances take HTTP from the application load balancer's group, and from inside the VPC (the network one)
    web = await group('web', [
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: lbGroup }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.81.0.0/16' }] },
      { IpProtocol: 'tcp', FromPort: 7001, ToPort: 7001, IpRanges: [{ CidrIp: '10.81.0.0/16' }] },
    ]);
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.debian,
        InstanceType: 't2.micro',
        MinCount: 3,
        MaxCount: 3,
        SubnetId: subnet,
        SecurityGroupIds: [web],
        UserData: Buffer.from(USER_DATA).toString('base64'),
      }),
    );
    ids = run.Instances!.map((i) => i.InstanceId!);
    webGroup = await targetGroup('web');
    apiGroup = await targetGroup('api', { HealthCheckPath: '/api/' });
    const lb = (
      await elb.send(new CreateLoadBalancerCommand({ Name: 'front', Subnets: [subnet], SecurityGroups: [lbGroup], Tags: [{ Key: 'team', Value: 'web' }] }))
    ).LoadBalancers![0];
    expect(lb).to.include({ Type: 'application', Scheme: 'internet-facing', VpcId: vpc });
    lbArn = lb.LoadBalancerArn!;
    dnsName = lb.DNSName!;
    listenerArn = (
      await elb.send(
        new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: webGroup }] }),
      )
    ).Listeners![0].ListenerArn!;
    await waitForStates(ec2, ids, ['running'], 120_000);
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: webGroup, Targets: ids.map((Id) => ({ Id })) }));
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: apiGroup, Targets: [{ Id: ids[0] }] }));
  });
  after(async () => {
    await dropAccount(account);
    await dropAccount(other);
  });

  it('becomes active, its targets healthy by its checks, and spreads 300 requests over all three by its DNS name', async () => {
    const [active] = (await elb.send(new DescribeLoadBalancersCommand({ Names: ['front'] }))).LoadBalancers!;
    expect(active.State?.Code).to.be.oneOf(['provisioning', 'active']);
    const healthy = await healthUntil(webGroup, Object.fromEntries(ids.map((id) => [id, 'healthy'])), 90_000);
    expect(states(healthy)).to.deep.equal(Object.fromEntries(ids.map((id) => [id, 'healthy'])));
    expect((await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] }))).LoadBalancers![0].State?.Code).to.equal('active');
    const seen: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const [status, body] = await get(dnsName);
      expect(status, `request ${i}`).to.equal(200);
      seen[body] = (seen[body] ?? 0) + 1;
    }
    expect(Object.keys(seen).sort()).to.deep.equal([...ids].sort());
    for (const id of ids) expect(seen[id], id).to.be.within(80, 120);
  });

  it('takes out a target whose server stopped, within its thresholds, and no request fails after', async () => {
    const victim = ids[2];
    await execIn(victim, 'kill $(pidof busybox)');
    const t0 = Date.now();
    const after = await healthUntil(webGroup, { [victim]: 'unhealthy' }, 30_000);
    const seconds = (Date.now() - t0) / 1000;
    const failing = after.find((t) => t.Target!.Id === victim)!;
    expect(failing.TargetHealth).to.include({ State: 'unhealthy', Reason: 'Target.FailedHealthChecks' });
    // two failed checks 5 s apart, each waiting at most 2 s
    expect(seconds, 'seconds until unhealthy').to.be.below(5 * 2 + 2 + 3);
    for (let i = 0; i < 60; i++) {
      const [status, body] = await get(dnsName);
      expect(status, `request ${i}`).to.equal(200);
      expect(body).to.not.equal(victim);
    }
    await execIn(victim, 'busybox httpd -p 80 -h /www');
    expect(states(await healthUntil(webGroup, { [victim]: 'healthy' }, 30_000))[victim]).to.equal('healthy');
  });

  it('sends /api/* to a second group by a path rule, and answers a fixed response by another', async () => {
    await elb.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 10,
        Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
        Actions: [{ Type: 'forward', TargetGroupArn: apiGroup }],
      }),
    );
    await elb.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 5,
        Conditions: [{ Field: 'path-pattern', Values: ['/ping'] }],
        Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200', ContentType: 'text/plain', MessageBody: 'pong' } }],
      }),
    );
    const deadline = Date.now() + 10_000;
    let answer = await get(dnsName, '/ping');
    while (answer[1] !== 'pong' && Date.now() < deadline) {
      await sleep(200);
      answer = await get(dnsName, '/ping');
    }
    expect(answer).to.deep.equal([200, 'pong']);
    await healthUntil(apiGroup, { [ids[0]]: 'healthy' }, 30_000);
    for (let i = 0; i < 10; i++) expect(await get(dnsName, '/api/')).to.deep.equal([200, `api-${ids[0]}`]);
    const [, root] = await get(dnsName, '/');
    expect(ids).to.include(root);
    // the group used by a rule is in use
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: apiGroup })).then(
      () => expect.fail('deleted a group in use'),
      (err) => expect(err.Code).to.equal('ResourceInUse'),
    );
  });

  it('drains a deregistered target (no new requests), then forgets it after the delay', async () => {
    await elb.send(
      new ModifyTargetGroupAttributesCommand({ TargetGroupArn: webGroup, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '4' }] }),
    );
    const leaving = ids[1];
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: webGroup, Targets: [{ Id: leaving }] }));
    expect(states(await health(webGroup))[leaving]).to.equal('draining');
    await sleep(1500);
    for (let i = 0; i < 30; i++) expect((await get(dnsName))[1]).to.not.equal(leaving);
    await sleep(4000);
    expect(
      (await health(webGroup)).map((t) => t.Target!.Id),
      'gone after the delay',
    ).to.not.include(leaving);
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: webGroup, Targets: [{ Id: leaving }] }));
  });

  it('forwards TCP through an internal network load balancer, by its name from inside the VPC', async () => {
    const tcpGroup = (
      await elb.send(
        new CreateTargetGroupCommand({
          Name: 'tcp80',
          Protocol: 'TCP',
          Port: 80,
          VpcId: vpc,
          HealthCheckIntervalSeconds: 5,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 2,
        }),
      )
    ).TargetGroups![0].TargetGroupArn!;
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tcpGroup, Targets: [{ Id: ids[0] }] }));
    const nlb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'inner', Type: 'network', Scheme: 'internal', Subnets: [subnet] }))).LoadBalancers![0];
    expect(nlb.DNSName).to.match(/^internal-inner-/);
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: nlb.LoadBalancerArn,
        Protocol: 'TCP',
        Port: 8080,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tcpGroup }],
      }),
    );
    const deadline = Date.now() + 30_000;
    let body = '';
    while (body !== ids[0] && Date.now() < deadline) {
      body = (await execIn(ids[2], `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -N -w 3 ${nlb.DNSName} 8080 | tail -1 || true`)).trim();
      if (body !== ids[0]) await sleep(500);
    }
    expect(body).to.equal(ids[0]);
    expect(
      (await elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: nlb.LoadBalancerArn }))).TargetGroups!.map((g) => g.TargetGroupName),
    ).to.deep.equal(['tcp80']);
    inner = { arn: nlb.LoadBalancerArn!, dnsName: nlb.DNSName! };
  });

  it('keeps an established connection through a configuration reload', async () => {
    // an echo server on the first instance, behind a TCP listener of the network load balancer
    await execIn(ids[0], 'nohup busybox nc -ll -p 7001 -e /bin/cat >/dev/null 2>&1 &');
    const echoGroup = (await elb.send(new CreateTargetGroupCommand({ Name: 'echo', Protocol: 'TCP', Port: 7001, VpcId: vpc, HealthCheckIntervalSeconds: 5 })))
      .TargetGroups![0].TargetGroupArn!;
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: echoGroup, Targets: [{ Id: ids[0] }] }));
    await elb.send(
      new CreateListenerCommand({ LoadBalancerArn: inner.arn, Protocol: 'TCP', Port: 7001, DefaultActions: [{ Type: 'forward', TargetGroupArn: echoGroup }] }),
    );
    const id = inner.arn.split('/').at(-1)!;
    const workers = async () => (await execFileAsync('sh', ['-c', `pgrep -P $(cat /run/oarcloud/lb/${id}.pid) || true`])).stdout.trim();
    let echoed = '';
    for (let i = 0; i < 20 && echoed !== 'ready'; i++) {
      echoed = (await execIn(ids[2], `(echo ready; sleep 0.5) | nc -q 1 -w 2 ${inner.dnsName} 7001 || true`)).trim();
      if (echoed !== 'ready') await sleep(500);
    }
    expect(echoed).to.equal('ready');
    const before = await workers();
    // one connection: a line, a pause in which the proxy reloads (a new listener), another line
    const held = execIn(ids[2], `(echo one; sleep 4; echo two) | nc -q 1 -w 8 ${inner.dnsName} 7001`);
    await sleep(1000);
    await elb.send(
      new CreateListenerCommand({ LoadBalancerArn: inner.arn, Protocol: 'TCP', Port: 7002, DefaultActions: [{ Type: 'forward', TargetGroupArn: echoGroup }] }),
    );
    await sleep(2000);
    expect(await workers(), 'a new worker took over').to.not.equal(before);
    expect((await held).trim().split('\n')).to.deep.equal(['one', 'two']);
  });

  it('re-creates a proxy that was killed with its namespace', async () => {
    const id = lbArn.split('/').at(-1)!;
    await execFileAsync('sh', ['-c', `kill $(cat /run/oarcloud/lb/${id}.pid); ip netns del olb${id.slice(0, 12)}`]);
    const deadline = Date.now() + 20_000;
    let answer = await get(dnsName);
    while (answer[0] !== 200 && Date.now() < deadline) {
      await sleep(300);
      answer = await get(dnsName);
    }
    expect(answer[0]).to.equal(200);
  });

  it("refuses another account's instance as a target, and answers ELB's errors in its own envelope", async () => {
    const theirs = (await other.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1 }))).Instances![0].InstanceId!;
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: webGroup, Targets: [{ Id: theirs }] })).then(
      () => expect.fail('registered another account’s instance'),
      (err) => expect(err.Code).to.equal('InvalidTarget'),
    );
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'none',
        (err) => err.Code,
      );
    expect(await code(elb.send(new DescribeLoadBalancersCommand({ Names: ['nobody'] })))).to.equal('LoadBalancerNotFound');
    expect(await code(elb.send(new DescribeTargetGroupsCommand({ Names: ['nobody'] })))).to.equal('TargetGroupNotFound');
    expect(await code(elb.send(new CreateLoadBalancerCommand({ Name: 'front', Subnets: [subnet] })))).to.equal('DuplicateLoadBalancerName');
    expect(await code(elb.send(new CreateLoadBalancerCommand({ Name: '-bad-', Subnets: [subnet] })))).to.equal('ValidationError');
    // the other account sees none of it
    expect(await code(elbClient(other).send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] })))).to.equal('LoadBalancerNotFound');
    expect((await elbClient(other).send(new DescribeLoadBalancersCommand({}))).LoadBalancers).to.deep.equal([]);
  });

  it('holds the account to its quotas of load balancers (10) and target groups (50)', async () => {
    const made: string[] = [];
    const groups: string[] = [];
    try {
      const existing = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.length;
      for (let i = existing; i < 10; i++)
        made.push(
          (await elb.send(new CreateLoadBalancerCommand({ Name: `quota-${i}`, Type: 'network', Scheme: 'internal', Subnets: [subnet] }))).LoadBalancers![0]
            .LoadBalancerArn!,
        );
      await elb.send(new CreateLoadBalancerCommand({ Name: 'quota-over', Type: 'network', Scheme: 'internal', Subnets: [subnet] })).then(
        () => expect.fail('an eleventh load balancer was made'),
        (err) => expect(err.Code).to.equal('TooManyLoadBalancers'),
      );
      const existingGroups = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups!.length;
      for (let i = existingGroups; i < 50; i++)
        groups.push(
          (await elb.send(new CreateTargetGroupCommand({ Name: `quota-${i}`, Protocol: 'TCP', Port: 80, VpcId: vpc }))).TargetGroups![0].TargetGroupArn!,
        );
      await elb.send(new CreateTargetGroupCommand({ Name: 'quota-over', Protocol: 'TCP', Port: 80, VpcId: vpc })).then(
        () => expect.fail('a fifty-first target group was made'),
        (err) => expect(err.Code).to.equal('TooManyTargetGroups'),
      );
    } finally {
      for (const arn of made) await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
      for (const arn of groups) await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
    }
  });
});
