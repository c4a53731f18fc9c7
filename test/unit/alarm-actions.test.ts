/** Which actions PutMetricAlarm accepts: SNS topics, EC2's automate actions, and OAR Cloud's resize action (issue 17). */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { MetricAlarms, type AlarmConfig } from '../../src/domain/metric-alarms';
import type { Metrics } from '../../src/domain/metrics';
import { DomainError } from '../../src/domain/errors';

const alarms = new MetricAlarms(undefined as unknown as Knex, undefined as unknown as Metrics, 'us-east-1');

const config = (alarmActions: string[], dimensions = [{ Name: 'InstanceId', Value: 'i-0123456789abcdef0' }]): AlarmConfig => ({
  name: 'cpu',
  actionsEnabled: true,
  okActions: [],
  alarmActions,
  insufficientDataActions: [],
  namespace: 'AWS/EC2',
  metricName: 'CPUUtilization',
  dimensions,
  statistic: 'Average',
  period: 60,
  evaluationPeriods: 3,
  threshold: 80,
  comparisonOperator: 'GreaterThanThreshold',
  treatMissingData: 'missing',
  tags: {},
});

function refusal(c: AlarmConfig): string | undefined {
  try {
    alarms.validate(c);
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(DomainError);
    return (err as DomainError).message;
  }
}

describe('alarm actions', () => {
  it("accepts OAR Cloud's resize action on a per-instance EC2 metric, in this region, to a known type", () => {
    expect(refusal(config(['arn:aws:oarcloud:us-east-1::resize/t2.large', 'arn:aws:automate:us-east-1:ec2:stop']))).to.equal(undefined);
    expect(refusal(config(['arn:aws:oarcloud:eu-west-1::resize/t2.large']))).to.match(/region must be us-east-1/);
    expect(refusal(config(['arn:aws:oarcloud:us-east-1::resize/x9.huge']))).to.match(/x9\.huge is not an instance type/);
    expect(refusal(config(['arn:aws:oarcloud:us-east-1::resize/t2.large'], [{ Name: 'AutoScalingGroupName', Value: 'web' }]))).to.match(
      /valid only for alarms on an EC2 per-instance metric/,
    );
    // Terraform's provider accepts only stop, terminate, reboot and recover as automate actions: no resize there
    expect(refusal(config(['arn:aws:automate:us-east-1:ec2:resize']))).to.match(/arn:aws:oarcloud:REGION::resize\/TYPE/);
  });
});
