/** boto3 (client and resource APIs, waiters, paginator) against real instances. */
import { expect } from 'chai';
import path from 'node:path';
import { dropAccount, terminateAll, IMAGES, newAccount, type TestAccount } from '../test/support/live';
import { available, runClient } from './support';

describe('compat: boto3 (real instances)', function () {
  this.timeout(600_000);
  let account: TestAccount;
  before(async function () {
    if (!available('python3', ['-c', 'import boto3'])) {
      console.log('      SKIPPED: boto3 is not importable by python3 on this machine');
      return this.skip();
    }
    account = await newAccount('boto3');
  });
  afterEach(() => terminateAll(account));
  after(() => dropAccount(account));

  it('client and resource APIs: run, wait, paginate, tag, filter, terminate, wait', () => {
    const script = path.join(__dirname, '..', '..', 'compat-tests', 'boto3_workflow.py');
    const r = runClient('python3', [script, IMAGES.busybox], account);
    expect(r.code, r.stderr).to.equal(0);
    const seen = JSON.parse(r.stdout);
    expect(seen.client_states).to.deep.equal(['running']);
    expect(seen.resource.state).to.equal('running');
    expect(seen.resource.ip).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    expect(seen.resource.type).to.equal('t2.nano');
    expect(seen.filtered.sort()).to.deep.equal(seen.ids);
    expect(seen.error).to.equal('InvalidInstanceID.NotFound');
  });

  it('resource API for VPCs: VPC, subnet, group and rule, an instance in them; waiters; everything deleted', () => {
    const script = path.join(__dirname, '..', '..', 'compat-tests', 'boto3_network.py');
    const r = runClient('python3', [script, IMAGES.busybox], account);
    expect(r.code, r.stderr).to.equal(0);
    const seen = JSON.parse(r.stdout);
    expect(seen.ingress).to.deep.equal([['tcp', 443, 'https']]);
    expect(seen.instance).to.deep.include({ vpc: true, subnet: true, groups: ['boto3-web'] });
    expect(seen.instance.ip).to.match(/^10\.50\.3\.\d+$/);
    expect(seen.enis).to.have.length(1);
    expect(seen.vpc_instances).to.deep.equal([true]);
    expect(seen.error).to.equal('InvalidVpcID.NotFound');
  });

  it('elbv2 client: a network load balancer with a TCP listener and a target; waiters, paginator, tags, errors; all deleted', () => {
    const script = path.join(__dirname, '..', '..', 'compat-tests', 'boto3_lb.py');
    const r = runClient('python3', [script, IMAGES.busybox], account);
    expect(r.code, r.stderr).to.equal(0);
    const seen = JSON.parse(r.stdout);
    expect(seen.target_group).to.deep.equal({ Protocol: 'TCP', Port: 7000, TargetType: 'instance', HealthCheckProtocol: 'TCP' });
    expect(seen.listener).to.deep.equal({ Protocol: 'TCP', Port: 7000 });
    expect(seen.address).to.match(/^10\.52\.1\.\d+$/);
    expect(seen.names).to.deep.equal(['boto3-nlb']);
    expect(seen.tags).to.deep.equal([{ Key: 'team', Value: 'b3' }]);
    expect(seen.targets).to.deep.equal([true]);
    expect(seen.error).to.equal('ResourceInUse');
  });

  it("CloudWatch over RPC v2 CBOR (botocore's own CBOR code) and SNS over Query: metrics, statistics, alarm with waiter and history, topic, errors", () => {
    const script = path.join(__dirname, '..', '..', 'compat-tests', 'boto3_monitoring.py');
    const r = runClient('python3', [script], account);
    expect(r.code, r.stderr).to.equal(0);
    const seen = JSON.parse(r.stdout);
    expect(seen.protocol).to.equal('smithy-rpc-v2-cbor');
    expect(seen.datapoint).to.deep.equal({ SampleCount: 5, Sum: 16, Maximum: 6, Unit: 'Seconds' });
    expect(seen.timestamp_is_datetime).to.equal(true);
    expect(seen.metrics).to.deep.equal(['Duration']);
    expect(seen.display_name).to.equal('Boto');
    expect(seen.pending).to.equal('pending confirmation');
    expect(seen.subscriptions).to.deep.equal(['email']);
    expect(seen.tags).to.deep.equal([{ Key: 'k', Value: 'v' }]);
    expect(seen.message_id).to.equal(true);
    expect(seen.alarm).to.deep.equal({ StateValue: 'ALARM', Threshold: 100, Period: 60 });
    expect(seen.alarm_time_is_datetime).to.equal(true);
    expect(seen.history).to.deep.equal(['Action', 'ConfigurationUpdate', 'StateUpdate']);
    expect(seen.alarm_tags).to.deep.equal([{ Key: 'team', Value: 'b3' }]);
    expect(seen.error).to.deep.equal(['ResourceNotFound', 404]);
    expect(seen.deleted).to.equal('NotFound');
  });

  it('EventBridge Scheduler over REST-JSON: a tagged group, schedules with datetimes, the paginator, an update, errors; all deleted', () => {
    const script = path.join(__dirname, '..', '..', 'compat-tests', 'boto3_scheduler.py');
    const r = runClient('python3', [script], account);
    expect(r.code, r.stderr).to.equal(0);
    const seen = JSON.parse(r.stdout);
    expect(seen.group_arn_ok).to.equal(true);
    expect(seen.start_date).to.equal(true);
    expect(seen.creation_is_datetime).to.equal(true);
    expect(seen.pages).to.deep.equal([['boto-a', 'boto-b'], ['boto-c']]);
    expect(seen.updated).to.deep.equal({ ScheduleExpression: 'cron(30 6 ? * SUN *)', ScheduleExpressionTimezone: 'Asia/Tokyo', State: 'DISABLED' });
    expect(seen.tags).to.deep.equal([{ Key: 'team', Value: 'b3' }]);
    expect(seen.not_found).to.deep.equal(['ResourceNotFoundException', 404]);
    expect(seen.conflict).to.deep.equal(['ConflictException', 409]);
    expect(seen.left).to.deep.equal([]);
  });
});
