import { expect } from 'chai';
import { decodeQuery, LIMITS } from '../../src/protocol/query-decoder';
import { ec2Model, elbv2Model } from '../../src/protocol/model';
import { DomainError as Ec2Error } from '../../src/domain/errors';

function fails(fn: () => unknown, code: string, messagePart?: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(Ec2Error);
    expect((err as Ec2Error).code).to.equal(code);
    if (messagePart) expect((err as Ec2Error).message).to.contain(messagePart);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('Query decoder', () => {
  it('decodes flattened lists in index order, whatever order they arrive in', () => {
    const input = decodeQuery(ec2Model, 'DescribeInstancesRequest', { 'InstanceId.2': 'i-b', 'InstanceId.1': 'i-a', 'InstanceId.10': 'i-c' });
    expect(input).to.deep.equal({ InstanceIds: ['i-a', 'i-b', 'i-c'] });
  });

  it('decodes lists of structures with nested lists (filters)', () => {
    const input = decodeQuery(ec2Model, 'DescribeInstancesRequest', {
      'Filter.1.Name': 'tag:Name',
      'Filter.1.Value.1': 'web',
      'Filter.1.Value.2': 'db',
      'Filter.2.Name': 'instance-state-name',
      'Filter.2.Value.1': 'running',
      MaxResults: '5',
    });
    expect(input).to.deep.equal({
      Filters: [
        { Name: 'tag:Name', Values: ['web', 'db'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
      MaxResults: 5,
    });
  });

  it('uses the capitalised locationName as the wire name (dryRun -> DryRun, Tag, Value)', () => {
    const input = decodeQuery(ec2Model, 'RunInstancesRequest', {
      ImageId: 'ami-1',
      MinCount: '1',
      MaxCount: '2',
      DryRun: 'true',
      'TagSpecification.1.ResourceType': 'instance',
      'TagSpecification.1.Tag.1.Key': 'Name',
      'TagSpecification.1.Tag.1.Value': 'x',
      'Placement.AvailabilityZone': '',
      'BlockDeviceMapping.1.Ebs.VolumeSize': '20',
      'BlockDeviceMapping.1.DeviceName': '/dev/xvda',
    });
    expect(input).to.deep.include({ ImageId: 'ami-1', MinCount: 1, MaxCount: 2, DryRun: true });
    expect(input.TagSpecifications).to.deep.equal([{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'x' }] }]);
    expect(input.Placement).to.deep.equal({ AvailabilityZone: '' }, 'blank values are kept');
    expect(input.BlockDeviceMappings).to.deep.equal([{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20 } }]);
  });

  it('refuses missing required members, naming them', () => {
    fails(() => decodeQuery(ec2Model, 'RunInstancesRequest', { ImageId: 'ami-1', MinCount: '1' }), 'MissingParameter', 'MaxCount');
    fails(() => decodeQuery(ec2Model, 'CreateKeyPairRequest', {}), 'MissingParameter', 'KeyName');
  });

  it('refuses bad scalars with InvalidParameterValue naming the parameter', () => {
    fails(() => decodeQuery(ec2Model, 'DescribeInstancesRequest', { MaxResults: 'ten' }), 'InvalidParameterValue', 'MaxResults');
    fails(
      () => decodeQuery(ec2Model, 'RunInstancesRequest', { ImageId: 'a', MinCount: '1', MaxCount: '1', DisableApiTermination: 'maybe' }),
      'InvalidParameterValue',
      'DisableApiTermination',
    );
    fails(
      () => decodeQuery(ec2Model, 'RunInstancesRequest', { ImageId: 'a', MinCount: '1', MaxCount: '1', InstanceInitiatedShutdownBehavior: 'explode' }),
      'InvalidParameterValue',
      'InstanceInitiatedShutdownBehavior',
    );
  });

  it('leaves instance types to the action, which checks them against the catalogue (it grows)', () => {
    const decoded = decodeQuery(ec2Model, 'RunInstancesRequest', { ImageId: 'a', MinCount: '1', MaxCount: '1', InstanceType: 'x9.huge' });
    expect(decoded.InstanceType).to.equal('x9.huge');
  });

  it('refuses unknown parameters, bad list indexes and scalars given where a structure is expected', () => {
    fails(() => decodeQuery(ec2Model, 'DescribeInstancesRequest', { Bogus: '1' }), 'UnknownParameter', 'Bogus');
    fails(() => decodeQuery(ec2Model, 'DescribeInstancesRequest', { 'InstanceId.x': 'i-1' }), 'UnknownParameter', 'InstanceId.x');
    fails(() => decodeQuery(ec2Model, 'DescribeInstancesRequest', { 'InstanceId.0': 'i-1' }), 'UnknownParameter');
    fails(() => decodeQuery(ec2Model, 'DescribeInstancesRequest', { InstanceId: 'i-1' }), 'UnknownParameter', 'InstanceId');
    fails(() => decodeQuery(ec2Model, 'RunInstancesRequest', { ImageId: 'a', MinCount: '1', MaxCount: '1', Placement: 'x' }), 'UnknownParameter', 'Placement');
    fails(() => decodeQuery(ec2Model, undefined, { Anything: '1' }), 'UnknownParameter');
  });

  it('refuses NUL characters in values', () => {
    fails(
      () => decodeQuery(ec2Model, 'DescribeInstancesRequest', { 'Filter.1.Name': 'tag:x', 'Filter.1.Value.1': 'a\u0000b' }),
      'InvalidParameterValue',
      'Filter.1.Value.1',
    );
  });

  it('ignores the envelope and signing parameters', () => {
    expect(decodeQuery(ec2Model, 'DescribeRegionsRequest', { Action: 'DescribeRegions', Version: '2016-11-15', 'X-Amz-Signature': 'ab' })).to.deep.equal({});
  });

  it('bounds the number and depth of parameters', () => {
    const many: Record<string, string> = {};
    for (let i = 1; i <= LIMITS.parameters + 1; i++) many[`InstanceId.${i}`] = 'i-1';
    fails(() => decodeQuery(ec2Model, 'DescribeInstancesRequest', many), 'InvalidParameter');
    fails(() => decodeQuery(ec2Model, 'DescribeInstancesRequest', { ['Filter' + '.1'.repeat(20)]: 'x' }), 'UnknownParameter');
  });

  it('decodes blobs from base64', () => {
    const input = decodeQuery(ec2Model, 'ImportKeyPairRequest', { KeyName: 'k', PublicKeyMaterial: Buffer.from('ssh-ed25519 AAAA').toString('base64') });
    expect((input.PublicKeyMaterial as Buffer).toString()).to.equal('ssh-ed25519 AAAA');
  });

  it('never throws anything but an Ec2Error on random input (fuzz)', () => {
    const names = ['InstanceId', 'Filter', 'Name', 'Value', 'MaxResults', 'NextToken', 'DryRun', '1', '2', '0', 'x', '', 'Tag', '99999999'];
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 3000; i++) {
      const params: Record<string, string> = {};
      for (let j = rand(6); j >= 0; j--) {
        const key = Array.from({ length: 1 + rand(4) }, () => names[rand(names.length)]).join('.');
        params[key] = ['', 'true', '5', 'x'.repeat(rand(50)), '\u0000\u{1F600}', '-1'][rand(6)];
      }
      try {
        decodeQuery(ec2Model, ['DescribeInstancesRequest', 'RunInstancesRequest', 'CreateTagsRequest'][rand(3)], params);
      } catch (err) {
        expect(err, JSON.stringify(params)).to.be.instanceOf(Ec2Error);
      }
    }
  });

  describe('the Query protocol (ELBv2)', () => {
    it('decodes Name.member.N lists, structures in them and members by their own names', () => {
      const input = decodeQuery(elbv2Model, 'CreateLoadBalancerInput', {
        Name: 'front',
        'Subnets.member.2': 'subnet-b',
        'Subnets.member.1': 'subnet-a',
        'Tags.member.1.Key': 'team',
        'Tags.member.1.Value': 'web',
        Type: 'application',
      });
      expect(input).to.deep.equal({ Name: 'front', Subnets: ['subnet-a', 'subnet-b'], Tags: [{ Key: 'team', Value: 'web' }], Type: 'application' });
    });

    it('takes an empty list sent as Name= (botocore) and nested member lists', () => {
      const input = decodeQuery(elbv2Model, 'CreateRuleInput', {
        ListenerArn: 'arn',
        Priority: '5',
        'Conditions.member.1.Field': 'path-pattern',
        'Conditions.member.1.Values.member.1': '/api/*',
        'Actions.member.1.Type': 'forward',
        'Actions.member.1.TargetGroupArn': 'tg',
        Tags: '',
      });
      expect(input).to.deep.equal({
        ListenerArn: 'arn',
        Priority: 5,
        Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
        Actions: [{ Type: 'forward', TargetGroupArn: 'tg' }],
        Tags: [],
      });
    });

    it('refuses EC2-style flattened lists and unknown parameters by name', () => {
      fails(() => decodeQuery(elbv2Model, 'CreateLoadBalancerInput', { Name: 'x', 'Subnets.1': 'subnet-a' }), 'UnknownParameter', 'Subnets.1');
      fails(() => decodeQuery(elbv2Model, 'DescribeLoadBalancersInput', { Bogus: '1' }), 'UnknownParameter', 'Bogus');
      fails(() => decodeQuery(elbv2Model, 'RegisterTargetsInput', { 'Targets.member.1.Id': 'i-1' }), 'MissingParameter', 'TargetGroupArn');
    });
  });
});
