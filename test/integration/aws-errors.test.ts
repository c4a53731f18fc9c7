/**
 * Issue 20: error codes are AWS's (a contract) and texts carry AWS's words (what people search for): the plural
 * "do not exist" forms, and the checks EC2 makes on TagSpecifications. Each expected text is quoted from AWS's answers
 * as the EC2 API reference's "Error codes" page and AWS's own responses give them.
 */
import { expect } from 'chai';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { dropAccount, IMAGES, newAccount, rejection, type TestAccount } from '../support/live';

describe('AWS error codes and texts (live server)', function () {
  this.timeout(60_000);
  let account: TestAccount;
  let ec2: EC2Client;
  before(async () => {
    account = await newAccount('errors');
    ec2 = account.ec2;
  });
  after(() => dropAccount(account));

  it('names every missing id, in the plural form when there are several', async () => {
    // "The instance IDs 'i-1, i-2' do not exist" (InvalidInstanceID.NotFound)
    const instances = await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] })));
    expect(instances.name).to.equal('InvalidInstanceID.NotFound');
    expect(instances.message).to.equal("The instance IDs 'i-0000000000000000a, i-0000000000000000b' do not exist");
    const one = await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000000a'] })));
    expect(one.message).to.equal("The instance ID 'i-0000000000000000a' does not exist");
    // "The vpc ID 'vpc-1' does not exist" (InvalidVpcID.NotFound), and its plural
    const vpcs = await rejection(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0000000000000000a', 'vpc-0000000000000000b'] })));
    expect(vpcs.name).to.equal('InvalidVpcID.NotFound');
    expect(vpcs.message).to.equal("The vpc IDs 'vpc-0000000000000000a, vpc-0000000000000000b' do not exist");
    // "The image id '[ami-1]' does not exist" (InvalidAMIID.NotFound), and its plural
    const images = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0000000000000000a', 'ami-0000000000000000b'] })));
    expect(images.name).to.equal('InvalidAMIID.NotFound');
    expect(images.message).to.equal("The image ids '[ami-0000000000000000a, ami-0000000000000000b]' do not exist");
    // "The volume 'vol-1' does not exist." (InvalidVolume.NotFound), and its plural
    const volumes = await rejection(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-0000000000000000a', 'vol-0000000000000000b'] })));
    expect(volumes.name).to.equal('InvalidVolume.NotFound');
    expect(volumes.message).to.equal("The volumes 'vol-0000000000000000a, vol-0000000000000000b' do not exist.");
  });

  it('checks TagSpecifications as EC2 does, in its words, and launches nothing', async () => {
    const run = (TagSpecifications: object[]) =>
      rejection(ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, MinCount: 1, MaxCount: 1, TagSpecifications: TagSpecifications as never })));
    const cases: [object[], string][] = [
      [[{ ResourceType: 'elastic-ip', Tags: [{ Key: 'a', Value: 'b' }] }], "'elastic-ip' is not a valid taggable resource type for this operation."],
      [[{ Tags: [{ Key: 'a', Value: 'b' }] }], 'Tag specification resource type must have a value'],
      [[{ ResourceType: 'instance', Tags: [] }], 'Tag specification must have at least one tag'],
      [
        [
          { ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] },
          { ResourceType: 'instance', Tags: [{ Key: 'c', Value: 'd' }] },
        ],
        'The same resource type may not be specified more than once in tag specifications',
      ],
      [[{ ResourceType: 'instance', Tags: [{ Key: 'aws:owner', Value: 'b' }] }], "Tag keys starting with 'aws:' are reserved for internal use"],
      [[{ ResourceType: 'instance', Tags: [{ Key: 'k'.repeat(129), Value: 'b' }] }], 'Tag key exceeds the maximum length of 128 characters'],
      [[{ ResourceType: 'instance', Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] }], 'Tag value exceeds the maximum length of 256 characters'],
    ];
    for (const [specs, text] of cases) {
      const err = await run(specs);
      expect(err.name, text).to.equal('InvalidParameterValue');
      expect(err.message, text).to.include(text);
    }
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({}));
    expect(Reservations).to.deep.equal([]);
  });
});
