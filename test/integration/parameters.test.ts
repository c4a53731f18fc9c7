/**
 * Issue 20: parameters the model allows are honoured or refused by name (UnsupportedOperation naming the parameter),
 * never dropped. RunInstances' own list is unit-tested (test/unit/run-instances.test.ts); here the other calls, over
 * the wire, and StopInstances/TerminateInstances' SkipOsShutdown and Force on a real instance.
 */
import { expect } from 'chai';
import {
  CreateImageCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeVolumesCommand,
  DeleteVpcCommand,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { dropAccount, IMAGES, instanceRow, newAccount, rejection, terminateAll, waitForStates, type TestAccount } from '../support/live';

const skipFlag = async (instanceId: string) => (await instanceRow(instanceId, 'skip_os_shutdown')).skip_os_shutdown;

describe('Parameters honoured or refused by name (real)', function () {
  this.timeout(120_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('params');
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  it('refuses what it cannot honour, naming the parameter, and changes nothing', async () => {
    const ec2 = account.ec2;
    const netmask = await rejection(ec2.send(new CreateVpcCommand({ Ipv4IpamPoolId: 'ipam-pool-0123456789abcdef0', Ipv4NetmaskLength: 24 })));
    expect(netmask.name).to.equal('UnsupportedOperation');
    expect(netmask.message).to.match(/^The parameter Ipv4NetmaskLength is not supported: /);
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.60.0.0/16' }));
    try {
      const outpost = await rejection(
        ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId, CidrBlock: '10.60.1.0/24', OutpostArn: 'arn:aws:outposts:us-east-1:123456789012:outpost/op-1' })),
      );
      expect(outpost.message).to.match(/^The parameter OutpostArn is not supported: /);
    } finally {
      await ec2.send(new DeleteVpcCommand({ VpcId: Vpc!.VpcId }));
    }

    // TagSpecifications of type volume tag the instance's root volume (Terraform's volume_tags)
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.busybox,
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [
          { ResourceType: 'instance', Tags: [{ Key: 'role', Value: 'web' }] },
          { ResourceType: 'volume', Tags: [{ Key: 'backup', Value: 'daily' }] },
        ],
      }),
    );
    const id = run.Instances![0].InstanceId!;
    await waitForStates(ec2, [id], ['running']);
    const { Volumes } = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
    expect(Volumes![0].Tags).to.deep.equal([{ Key: 'backup', Value: 'daily' }]);
    const check = await rejection(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, SourceDestCheck: { Value: false } })));
    expect(check.name).to.equal('UnsupportedOperation');
    expect(check.message).to.match(/^The parameter SourceDestCheck is not supported: /);
    // what the instance already does is accepted
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, SourceDestCheck: { Value: true } }));
    const mapping = await rejection(
      ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'with-volume', BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1 } }] })),
    );
    expect(mapping.message).to.match(/^The parameter BlockDeviceMapping is not supported: /);

    // SkipOsShutdown: this stop skips the graceful shutdown; the next start clears it; Force is what every stop does
    const stop = await ec2.send(new StopInstancesCommand({ InstanceIds: [id], SkipOsShutdown: true, Force: true }));
    expect(stop.StoppingInstances![0].CurrentState!.Name).to.equal('stopping');
    expect(await skipFlag(id)).to.equal(true);
    await waitForStates(ec2, [id], ['stopped']);
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(await skipFlag(id)).to.equal(false);
    await waitForStates(ec2, [id], ['running']);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id], SkipOsShutdown: true, Force: true }));
    expect(await skipFlag(id)).to.equal(true);
    await waitForStates(ec2, [id], ['terminated']);
  });
});
