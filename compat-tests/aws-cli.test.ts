/** The aws CLI (v1) against real instances: the commands README shows, waiters and pagination included. */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dropAccount, terminateAll, execIn, IMAGES, newAccount, sleep, waitForStates, type TestAccount } from '../test/support/live';
import { available, runClient } from './support';

describe('compat: aws CLI (real instances)', function () {
  this.timeout(600_000);
  let account: TestAccount;
  const aws = (...args: string[]) => {
    const r = runClient('aws', ['ec2', ...args, '--output', 'json'], account);
    if (r.code !== 0) throw new Error(`aws ec2 ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout ? JSON.parse(r.stdout) : {};
  };
  before(async function () {
    if (!available('aws')) {
      console.log('      SKIPPED: the aws CLI is not on this machine');
      return this.skip();
    }
    account = await newAccount('cli');
  });
  afterEach(() => terminateAll(account));
  after(() => dropAccount(account));

  it('regions, zones and key pairs', () => {
    expect(aws('describe-regions').Regions[0].RegionName).to.be.a('string');
    expect(aws('describe-availability-zones').AvailabilityZones[0].State).to.equal('available');
    const created = aws('create-key-pair', '--key-name', 'cli-made');
    expect(created.KeyMaterial).to.contain('PRIVATE KEY');
    const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-cli-'));
    const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@example';
    writeFileSync(path.join(dir, 'key.pub'), pub);
    expect(aws('import-key-pair', '--key-name', 'cli-imported', '--public-key-material', `fileb://${path.join(dir, 'key.pub')}`).KeyName).to.equal(
      'cli-imported',
    );
    const keys = aws('describe-key-pairs', '--key-names', 'cli-made', 'cli-imported');
    expect(keys.KeyPairs.map((k: { KeyName: string }) => k.KeyName)).to.deep.equal(['cli-imported', 'cli-made']);
    const dup = runClient('aws', ['ec2', 'create-key-pair', '--key-name', 'cli-made'], account);
    expect(dup.code).to.equal(255);
    expect(dup.stderr).to.contain('InvalidKeyPair.Duplicate');
  });

  it('run --count 2 with key, user data, tags and a client token; wait; filters, --query, pagination; image; terminate; wait', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-cli-'));
    writeFileSync(path.join(dir, 'user-data.sh'), '#!/bin/sh\necho from-cli > /root/cli\n');
    const runArgs = [
      'run-instances',
      '--image-id',
      IMAGES.busybox,
      '--instance-type',
      't2.nano',
      '--count',
      '2',
      '--key-name',
      'cli-imported',
      '--user-data',
      `file://${path.join(dir, 'user-data.sh')}`,
      '--client-token',
      `cli-${Date.now()}`,
      '--tag-specifications',
      'ResourceType=instance,Tags=[{Key=Name,Value=cli-web},{Key=Env,Value=compat}]',
    ];
    const run = aws(...runArgs);
    const ids: string[] = run.Instances.map((i: { InstanceId: string }) => i.InstanceId);
    expect(ids).to.have.length(2);
    expect(aws(...runArgs).ReservationId, 'same client token, same reservation').to.equal(run.ReservationId);

    aws('wait', 'instance-running', '--instance-ids', ...ids);
    const names = aws(
      'describe-instances',
      '--filters',
      'Name=instance-state-name,Values=running',
      'Name=tag:Name,Values=cli-web',
      '--query',
      'Reservations[].Instances[].InstanceId',
    );
    expect([...names].sort()).to.deep.equal([...ids].sort());
    const paged = aws('describe-instances', '--page-size', '5', '--query', 'Reservations[].Instances[].InstanceId');
    expect([...paged].sort()).to.deep.equal([...ids].sort());
    const status = aws('describe-instance-status', '--instance-ids', ...ids);
    expect(status.InstanceStatuses.map((s: { InstanceState: { Name: string } }) => s.InstanceState.Name)).to.deep.equal(['running', 'running']);
    const ud = aws('describe-instance-attribute', '--instance-id', ids[0], '--attribute', 'userData');
    expect(Buffer.from(ud.UserData.Value, 'base64').toString()).to.contain('from-cli');

    const image = aws(
      'create-image',
      '--instance-id',
      ids[0],
      '--name',
      `cli-image-${Date.now()}`,
      '--description',
      'from the CLI',
      '--tag-specifications',
      'ResourceType=image,Tags=[{Key=made-by,Value=cli}]',
    );
    aws('wait', 'image-available', '--image-ids', image.ImageId);
    const mine = aws('describe-images', '--owners', 'self');
    expect(mine.Images.map((i: { ImageId: string }) => i.ImageId)).to.deep.equal([image.ImageId]);

    aws('create-tags', '--resources', ids[0], '--tags', 'Key=extra,Value=1');
    const tags = aws('describe-tags', '--filters', `Name=resource-id,Values=${ids[0]}`);
    expect(tags.Tags.map((t: { Key: string }) => t.Key).sort()).to.deep.equal(['Env', 'Name', 'extra']);

    const term = aws('terminate-instances', '--instance-ids', ...ids);
    expect(term.TerminatingInstances).to.have.length(2);
    aws('wait', 'instance-terminated', '--instance-ids', ...ids);
    aws('deregister-image', '--image-id', image.ImageId);
    aws('delete-snapshot', '--snapshot-id', mine.Images[0].BlockDeviceMappings[0].Ebs.SnapshotId);
    aws('delete-key-pair', '--key-name', 'cli-made');
    aws('delete-key-pair', '--key-name', 'cli-imported');
    expect(aws('describe-key-pairs').KeyPairs).to.deep.equal([]);

    const probe = runClient('aws', ['ec2', 'describe-instances', '--instance-ids', 'i-0123456789abcdef0'], account);
    expect(probe.code).to.equal(255);
    expect(probe.stderr).to.contain('InvalidInstanceID.NotFound');
  });

  it('user data ran inside; stop, start and reboot with their waiters keep the instance and its disk', async () => {
    const run = aws('run-instances', '--image-id', IMAGES.busybox, '--user-data', 'echo plain > /root/plain');
    const id = run.Instances[0].InstanceId;
    aws('wait', 'instance-running', '--instance-ids', id);
    expect(await execIn(id, 'cat /root/plain')).to.equal('plain\n');
    expect(aws('stop-instances', '--instance-ids', id).StoppingInstances[0].CurrentState.Name).to.equal('stopping');
    aws('wait', 'instance-stopped', '--instance-ids', id);
    expect(aws('start-instances', '--instance-ids', id).StartingInstances[0].CurrentState.Name).to.equal('pending');
    aws('wait', 'instance-running', '--instance-ids', id);
    expect(await execIn(id, 'cat /root/plain')).to.equal('plain\n');
    aws('reboot-instances', '--instance-ids', id);
    aws('wait', 'instance-running', '--instance-ids', id);
    aws('terminate-instances', '--instance-ids', id);
    aws('wait', 'instance-terminated', '--instance-ids', id);
  });

  it('a VPC with the CLI: subnet, gateway, routes, a group with rules, an instance in it, an elastic IP; then everything deleted', async () => {
    const vpc = aws('create-vpc', '--cidr-block', '10.40.0.0/16', '--tag-specifications', 'ResourceType=vpc,Tags=[{Key=Name,Value=cli-vpc}]').Vpc.VpcId;
    aws('wait', 'vpc-available', '--vpc-ids', vpc);
    aws('modify-vpc-attribute', '--vpc-id', vpc, '--enable-dns-hostnames', '{"Value":true}');
    expect(aws('describe-vpc-attribute', '--vpc-id', vpc, '--attribute', 'enableDnsHostnames').EnableDnsHostnames.Value).to.equal(true);
    const subnet = aws('create-subnet', '--vpc-id', vpc, '--cidr-block', '10.40.1.0/24').Subnet.SubnetId;
    aws('wait', 'subnet-available', '--subnet-ids', subnet);
    const clash = runClient('aws', ['ec2', 'create-subnet', '--vpc-id', vpc, '--cidr-block', '10.40.1.128/25'], account);
    expect(clash.stderr).to.contain('InvalidSubnet.Conflict');
    const igw = aws('create-internet-gateway').InternetGateway.InternetGatewayId;
    aws('attach-internet-gateway', '--internet-gateway-id', igw, '--vpc-id', vpc);
    const table = aws('create-route-table', '--vpc-id', vpc).RouteTable.RouteTableId;
    aws('create-route', '--route-table-id', table, '--destination-cidr-block', '0.0.0.0/0', '--gateway-id', igw);
    const association = aws('associate-route-table', '--route-table-id', table, '--subnet-id', subnet).AssociationId;
    const routes = aws('describe-route-tables', '--route-table-ids', table).RouteTables[0];
    expect(routes.Routes.map((r: { GatewayId: string }) => r.GatewayId)).to.deep.equal(['local', igw]);
    expect(routes.Associations[0].RouteTableAssociationId).to.equal(association);

    const group = aws('create-security-group', '--group-name', 'cli-web', '--description', 'cli web', '--vpc-id', vpc).GroupId;
    aws('authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '22', '--cidr', '0.0.0.0/0');
    aws('authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '80', '--source-group', group);
    const dup = runClient(
      'aws',
      ['ec2', 'authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '22', '--cidr', '0.0.0.0/0'],
      account,
    );
    expect(dup.stderr).to.contain('InvalidPermission.Duplicate');
    const rules = aws('describe-security-group-rules', '--filters', `Name=group-id,Values=${group}`).SecurityGroupRules;
    // the CLI keeps the default egress rule
    expect(rules.map((r: { IsEgress: boolean; FromPort: number }) => `${r.IsEgress ? 'out' : 'in'}:${r.FromPort}`).sort()).to.deep.equal([
      'in:22',
      'in:80',
      'out:-1',
    ]);

    // the CLI moves --subnet-id and --security-group-ids into NetworkInterfaces when a public address is asked for
    const launch = ['--image-id', IMAGES.busybox, '--instance-type', 't2.nano', '--subnet-id', subnet, '--security-group-ids', group];
    const id = aws('run-instances', ...launch, '--associate-public-ip-address').Instances[0].InstanceId;
    aws('wait', 'instance-running', '--instance-ids', id);
    const publicIp = async () => {
      for (let i = 0; i < 25; i++) {
        const view = aws('describe-instances', '--instance-ids', id).Reservations[0].Instances[0];
        if (view.PublicIpAddress) return view.PublicIpAddress as string;
        await sleep(200);
      }
      return undefined;
    };
    const automatic = await publicIp();
    expect(automatic, 'an automatic public address').to.match(/^198\.51\.100\.\d+$/);
    const instance = aws('describe-instances', '--instance-ids', id).Reservations[0].Instances[0];
    expect(instance).to.include({ VpcId: vpc, SubnetId: subnet });
    expect(instance.PrivateIpAddress).to.match(/^10\.40\.1\.\d+$/);
    expect(instance.SecurityGroups).to.deep.equal([{ GroupId: group, GroupName: 'cli-web' }]);
    const eni = aws('describe-network-interfaces', '--filters', `Name=group-id,Values=${group}`).NetworkInterfaces;
    expect(eni.map((e: { Attachment: { InstanceId: string } }) => e.Attachment.InstanceId)).to.deep.equal([id]);
    const busy = runClient('aws', ['ec2', 'delete-security-group', '--group-id', group], account);
    expect(busy.stderr).to.contain('DependencyViolation');

    const allocation = aws('allocate-address', '--domain', 'vpc').AllocationId;
    const eip = aws('associate-address', '--instance-id', id, '--allocation-id', allocation).AssociationId;
    const address = aws('describe-addresses', '--allocation-ids', allocation).Addresses[0];
    expect(address).to.include({ AssociationId: eip, InstanceId: id, PrivateIpAddress: instance.PrivateIpAddress });
    expect(aws('describe-instances', '--instance-ids', id).Reservations[0].Instances[0].PublicIpAddress, 'the elastic IP replaces it').to.equal(
      address.PublicIp,
    );
    aws('disassociate-address', '--association-id', eip);
    aws('release-address', '--allocation-id', allocation);
    const again = await publicIp();
    expect(again, 'a new automatic address once the elastic IP is gone').to.match(/^198\.51\.100\.\d+$/);

    aws('terminate-instances', '--instance-ids', id);
    await waitForStates(account.ec2, [id], ['terminated'], 120_000);
    const early = runClient('aws', ['ec2', 'delete-vpc', '--vpc-id', vpc], account);
    expect(early.stderr).to.contain('DependencyViolation');
    aws('delete-security-group', '--group-id', group);
    aws('disassociate-route-table', '--association-id', association);
    aws('delete-route-table', '--route-table-id', table);
    aws('detach-internet-gateway', '--internet-gateway-id', igw, '--vpc-id', vpc);
    aws('delete-internet-gateway', '--internet-gateway-id', igw);
    aws('delete-subnet', '--subnet-id', subnet);
    aws('delete-vpc', '--vpc-id', vpc);
    const gone = runClient('aws', ['ec2', 'describe-vpcs', '--vpc-ids', vpc], account);
    expect(gone.stderr).to.contain('InvalidVpcID.NotFound');
  });

  it('elbv2: a load balancer, a target group with an instance, a listener and a rule; waiters; errors; all deleted', () => {
    const elb = (...args: string[]) => {
      const r = runClient('aws', ['elbv2', ...args, '--output', 'json'], account);
      if (r.code !== 0) throw new Error(`aws elbv2 ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout ? JSON.parse(r.stdout) : {};
    };
    const vpc = aws('create-vpc', '--cidr-block', '10.41.0.0/16').Vpc.VpcId;
    const subnet = aws('create-subnet', '--vpc-id', vpc, '--cidr-block', '10.41.1.0/24').Subnet.SubnetId;
    const igw = aws('create-internet-gateway').InternetGateway.InternetGatewayId;
    aws('attach-internet-gateway', '--internet-gateway-id', igw, '--vpc-id', vpc);
    const table = aws('describe-route-tables', '--filters', `Name=vpc-id,Values=${vpc}`).RouteTables[0].RouteTableId;
    aws('create-route', '--route-table-id', table, '--destination-cidr-block', '0.0.0.0/0', '--gateway-id', igw);
    const group = aws('create-security-group', '--group-name', 'cli-lb', '--description', 'cli lb', '--vpc-id', vpc).GroupId;
    aws('authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '80', '--cidr', '0.0.0.0/0');
    const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-cli-'));
    writeFileSync(path.join(dir, 'serve.sh'), '#!/bin/sh\nmkdir -p /www; echo served-via-cli > /www/index.html; httpd -p 80 -h /www\n');
    const tg = elb('create-target-group', '--name', 'cli-web', '--protocol', 'HTTP', '--port', '80', '--vpc-id', vpc, '--health-check-interval-seconds', '5')
      .TargetGroups[0].TargetGroupArn;
    const lb = elb('create-load-balancer', '--name', 'cli-front', '--subnets', subnet, '--security-groups', group).LoadBalancers[0];
    expect(lb).to.include({ Type: 'application', Scheme: 'internet-facing' });
    const served = aws(
      'run-instances',
      '--image-id',
      IMAGES.busybox,
      '--instance-type',
      't2.nano',
      '--subnet-id',
      subnet,
      '--security-group-ids',
      group,
      '--user-data',
      `file://${path.join(dir, 'serve.sh')}`,
    ).Instances[0].InstanceId;
    aws('wait', 'instance-running', '--instance-ids', served);
    // by now the load balancer is active: the waiter's first poll (it polls every 15 s) sees it
    elb('wait', 'load-balancer-available', '--load-balancer-arns', lb.LoadBalancerArn);
    elb('register-targets', '--target-group-arn', tg, '--targets', `Id=${served}`);
    const listener = elb(
      'create-listener',
      '--load-balancer-arn',
      lb.LoadBalancerArn,
      '--protocol',
      'HTTP',
      '--port',
      '80',
      '--default-actions',
      `Type=forward,TargetGroupArn=${tg}`,
    ).Listeners[0].ListenerArn;
    elb(
      'create-rule',
      '--listener-arn',
      listener,
      '--priority',
      '1',
      '--conditions',
      'Field=host-header,Values=status.example',
      '--actions',
      'Type=fixed-response,FixedResponseConfig={StatusCode=503,ContentType=text/plain,MessageBody=maintenance}',
    );
    elb('wait', 'target-in-service', '--target-group-arn', tg, '--targets', `Id=${served}`);
    const page = runClient('curl', ['-s', '-m', '3', `http://${lb.DNSName}/`], account);
    expect(page.stdout.trim()).to.equal('served-via-cli');
    const status = runClient('curl', ['-s', '-m', '3', '-H', 'Host: status.example', '-w', ' %{http_code}', `http://${lb.DNSName}/`], account);
    expect(status.stdout.trim()).to.equal('maintenance 503');
    expect(elb('describe-rules', '--listener-arn', listener).Rules.map((r: { Priority: string }) => r.Priority)).to.deep.equal(['1', 'default']);
    elb('add-tags', '--resource-arns', lb.LoadBalancerArn, '--tags', 'Key=env,Value=test');
    expect(elb('describe-tags', '--resource-arns', lb.LoadBalancerArn).TagDescriptions[0].Tags).to.deep.equal([{ Key: 'env', Value: 'test' }]);
    const missing = runClient('aws', ['elbv2', 'describe-load-balancers', '--names', 'cli-nobody'], account);
    expect(missing.stderr).to.contain('LoadBalancerNotFound');

    elb('delete-listener', '--listener-arn', listener);
    elb('deregister-targets', '--target-group-arn', tg, '--targets', `Id=${served}`);
    elb('delete-load-balancer', '--load-balancer-arn', lb.LoadBalancerArn);
    elb('wait', 'load-balancers-deleted', '--load-balancer-arns', lb.LoadBalancerArn);
    elb('delete-target-group', '--target-group-arn', tg);
    aws('terminate-instances', '--instance-ids', served);
    aws('wait', 'instance-terminated', '--instance-ids', served);
    aws('delete-security-group', '--group-id', group);
    aws('detach-internet-gateway', '--internet-gateway-id', igw, '--vpc-id', vpc);
    aws('delete-internet-gateway', '--internet-gateway-id', igw);
    aws('delete-subnet', '--subnet-id', subnet);
    aws('delete-vpc', '--vpc-id', vpc);
  });

  it('cloudwatch (JSON 1.0) and sns: metric data and statistics, an alarm with its waiter, state, history and tags; a topic, a subscription, a message; errors', () => {
    const cli = (service: string, ...args: string[]) => {
      const r = runClient('aws', [service, ...args, '--output', 'json'], account);
      if (r.code !== 0) throw new Error(`aws ${service} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout ? JSON.parse(r.stdout) : {};
    };
    const minute = Math.floor(Date.now() / 60_000) * 60 - 60;
    const iso = (s: number) => new Date(s * 1000).toISOString();
    cli(
      'cloudwatch',
      'put-metric-data',
      '--namespace',
      'Cli/App',
      '--metric-name',
      'Requests',
      '--dimensions',
      'Stage=prod',
      '--value',
      '42',
      '--unit',
      'Count',
      '--timestamp',
      iso(minute),
    );
    cli(
      'cloudwatch',
      'put-metric-data',
      '--namespace',
      'Cli/App',
      '--metric-name',
      'Requests',
      '--dimensions',
      'Stage=prod',
      '--value',
      '8',
      '--unit',
      'Count',
      '--timestamp',
      iso(minute + 5),
    );
    const stats = cli(
      'cloudwatch',
      'get-metric-statistics',
      '--namespace',
      'Cli/App',
      '--metric-name',
      'Requests',
      '--dimensions',
      'Name=Stage,Value=prod',
      '--start-time',
      iso(minute - 300),
      '--end-time',
      iso(minute + 60),
      '--period',
      '60',
      '--statistics',
      'Sum',
      'Average',
    );
    // the CLI prints what JSON 1.0 carried: epoch seconds
    expect(stats.Datapoints).to.deep.equal([{ Timestamp: minute, Sum: 50, Average: 25, Unit: 'Count' }]);
    const topic = cli('sns', 'create-topic', '--name', 'cli-alerts', '--tags', 'Key=env,Value=test').TopicArn;
    expect(cli('sns', 'subscribe', '--topic-arn', topic, '--protocol', 'email', '--notification-endpoint', 'cli@example.test').SubscriptionArn).to.equal(
      'pending confirmation',
    );
    expect(cli('sns', 'list-subscriptions-by-topic', '--topic-arn', topic).Subscriptions[0]).to.include({
      Protocol: 'email',
      SubscriptionArn: 'PendingConfirmation',
    });
    expect(cli('sns', 'publish', '--topic-arn', topic, '--subject', 'hi', '--message', 'hello').MessageId).to.match(/^[0-9a-f-]{36}$/);
    cli(
      'cloudwatch',
      'put-metric-alarm',
      '--alarm-name',
      'cli-requests',
      '--namespace',
      'Cli/App',
      '--metric-name',
      'Requests',
      '--dimensions',
      'Name=Stage,Value=prod',
      '--statistic',
      'Sum',
      '--period',
      '60',
      '--evaluation-periods',
      '1',
      '--threshold',
      '1000',
      '--comparison-operator',
      'GreaterThanThreshold',
      '--alarm-actions',
      topic,
      '--unit',
      'Count',
      '--tags',
      'Key=team,Value=cli',
    );
    cli('cloudwatch', 'wait', 'alarm-exists', '--alarm-names', 'cli-requests');
    cli('cloudwatch', 'set-alarm-state', '--alarm-name', 'cli-requests', '--state-value', 'ALARM', '--state-reason', 'from the CLI');
    const alarm = cli('cloudwatch', 'describe-alarms', '--state-value', 'ALARM').MetricAlarms[0];
    expect(alarm).to.include({ AlarmName: 'cli-requests', StateValue: 'ALARM', StateReason: 'from the CLI', Threshold: 1000, Unit: 'Count' });
    expect(alarm.AlarmActions).to.deep.equal([topic]);
    const history = cli('cloudwatch', 'describe-alarm-history', '--alarm-name', 'cli-requests').AlarmHistoryItems;
    expect(history.map((h: { HistoryItemType: string }) => h.HistoryItemType)).to.include.members(['ConfigurationUpdate', 'StateUpdate', 'Action']);
    expect(cli('cloudwatch', 'list-tags-for-resource', '--resource-arn', alarm.AlarmArn).Tags).to.deep.equal([{ Key: 'team', Value: 'cli' }]);
    const missing = runClient('aws', ['cloudwatch', 'set-alarm-state', '--alarm-name', 'nobody', '--state-value', 'OK', '--state-reason', 'x'], account);
    expect(missing.stderr).to.contain('(ResourceNotFound)');
    const reserved = runClient('aws', ['cloudwatch', 'put-metric-data', '--namespace', 'AWS/EC2', '--metric-name', 'x', '--value', '1'], account);
    expect(reserved.stderr).to.contain('(InvalidParameterValue)');
    cli('cloudwatch', 'delete-alarms', '--alarm-names', 'cli-requests');
    expect(cli('cloudwatch', 'describe-alarms', '--alarm-names', 'cli-requests').MetricAlarms).to.deep.equal([]);
    cli('sns', 'delete-topic', '--topic-arn', topic);
    const gone = runClient('aws', ['sns', 'get-topic-attributes', '--topic-arn', topic], account);
    expect(gone.stderr).to.contain('(NotFound)');
  });

  it('scheduler (REST-JSON): a group, a cron schedule in a time zone that resizes an instance, get, list, update, errors; all deleted', () => {
    const cli = (...args: string[]) => runClient('aws', ['scheduler', ...args, '--output', 'json'], account);
    const ok = (...args: string[]) => {
      const r = cli(...args);
      if (r.code !== 0) throw new Error(`aws scheduler ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout ? JSON.parse(r.stdout) : {};
    };
    ok('create-schedule-group', '--name', 'cli-group', '--tags', 'Key=env,Value=test');
    const target = JSON.stringify({
      Arn: 'arn:aws:scheduler:::aws-sdk:ec2:modifyInstanceAttribute',
      RoleArn: 'arn:aws:iam::123456789012:role/cli',
      Input: JSON.stringify({ InstanceId: 'i-0123456789abcdef0', InstanceType: { Value: 't2.small' } }),
    });
    const common = ['--group-name', 'cli-group', '--flexible-time-window', 'Mode=OFF', '--target', target];
    const arn = ok(
      'create-schedule',
      '--name',
      'grow-mornings',
      '--schedule-expression',
      'cron(0 7 ? * MON-FRI *)',
      '--schedule-expression-timezone',
      'Europe/Paris',
      ...common,
    ).ScheduleArn;
    expect(arn).to.match(/:schedule\/cli-group\/grow-mornings$/);
    const got = ok('get-schedule', '--name', 'grow-mornings', '--group-name', 'cli-group');
    expect(got).to.include({ ScheduleExpression: 'cron(0 7 ? * MON-FRI *)', ScheduleExpressionTimezone: 'Europe/Paris', State: 'ENABLED' });
    expect(JSON.parse(got.Target.Input)).to.deep.equal({ InstanceId: 'i-0123456789abcdef0', InstanceType: { Value: 't2.small' } });
    ok('update-schedule', '--name', 'grow-mornings', '--schedule-expression', 'rate(6 hours)', '--state', 'DISABLED', ...common);
    expect(ok('list-schedules', '--group-name', 'cli-group').Schedules.map((s: { Name: string; State: string }) => [s.Name, s.State])).to.deep.equal([
      ['grow-mornings', 'DISABLED'],
    ]);
    const missing = cli('get-schedule', '--name', 'nope', '--group-name', 'cli-group');
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.contain('(ResourceNotFoundException) when calling the GetSchedule operation: Schedule nope does not exist.');
    const bad = cli('create-schedule', '--name', 'bad', '--schedule-expression', 'cron(0 7 * * MON *)', ...common);
    expect(bad.stderr).to.contain('(ValidationException)');
    ok('delete-schedule-group', '--name', 'cli-group');
    expect(ok('list-schedules').Schedules).to.deep.equal([]);
  });
});
