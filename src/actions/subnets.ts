/** CreateSubnet, DeleteSubnet, DescribeSubnets and ModifySubnetAttribute. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { tagsFor } from '../domain/tags';
import { defaultZone, zones } from '../domain/zones';
import { describeList, subnetView } from './views/network';
import type { AnswerFilterSpec } from './views/answer-filters';

export const createSubnet = defineAction(
  'CreateSubnet',
  async (input, { caller, services }) => {
    if (input.Ipv6CidrBlock || input.Ipv6Native) throw errors.unsupportedOperation('IPv6 subnets are not supported.');
    if (!input.CidrBlock) throw errors.missingParameter('CidrBlock');
    const zone = input.AvailabilityZone || defaultZone(services.config);
    if (input.AvailabilityZoneId && !zones(services.config).some((z) => z.ZoneId === input.AvailabilityZoneId))
      throw errors.invalidAvailabilityZone(input.AvailabilityZoneId);
    if (!zones(services.config).some((z) => z.ZoneName === zone)) throw errors.invalidAvailabilityZone(zone);
    const tags = tagsFor(input.TagSpecifications, 'subnet', ['subnet']);
    const subnet = await services.vpcs.createSubnet(caller.accountId, input.VpcId, input.CidrBlock, zone);
    await services.tags.insert(caller.accountId, 'subnet', [subnet.id], tags);
    return { Subnet: subnetView(subnet, new Map([[subnet.id, tags.map((t) => ({ Key: t.key, Value: t.value }))]]), services) };
  },
  {
    unhonoured: [
      ['OutpostArn', (i) => Boolean(i.OutpostArn), 'There are no Outposts here.'],
      ['Ipv4IpamPoolId', (i) => Boolean(i.Ipv4IpamPoolId || i.Ipv4NetmaskLength), 'There is no IPAM here: give CidrBlock.'],
      ['Ipv6IpamPoolId', (i) => Boolean(i.Ipv6IpamPoolId || i.Ipv6NetmaskLength), 'Instances have no IPv6 address here.'],
    ],
  },
);

export const deleteSubnet = defineAction('DeleteSubnet', async (input, { caller, services }) => {
  await services.vpcs.deleteSubnet(caller.accountId, input.SubnetId);
  await services.tags.deleteAll([input.SubnetId]);
});

/** DescribeSubnets's documented filters beyond those applied on rows, read off the Subnet answer. */
export const SUBNET_ANSWER_FILTERS: Omit<AnswerFilterSpec, 'appliedEarlier'> = {
  action: 'DescribeSubnets',
  shape: 'Subnet',
  aliases: {
    'ipv6-cidr-block-association.ipv6-cidr-block': 'Ipv6CidrBlockAssociationSet.Ipv6CidrBlock',
    'ipv6-cidr-block-association.association-id': 'Ipv6CidrBlockAssociationSet.AssociationId',
    'ipv6-cidr-block-association.state': 'Ipv6CidrBlockAssociationSet.Ipv6CidrBlockState.State',
  },
  refused: {
    tag: "The reference's name for the tag:<key> filters, which are supported.",
  },
};

export const describeSubnets = defineAction('DescribeSubnets', async (input, { caller, services }) => {
  const { page, tags, nextToken } = await describeList(
    services,
    await services.vpcs.listSubnets(caller.accountId),
    { ids: input.SubnetIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    errors.subnetNotFound,
    {
      'subnet-id': (s) => s.id,
      'vpc-id': (s) => s.vpc_id,
      'availability-zone': (s) => s.availability_zone,
      availabilityZone: (s) => s.availability_zone,
      'default-for-az': (s) => String(s.is_default),
      defaultForAz: (s) => String(s.is_default),
      'cidr-block': (s) => s.cidr,
      cidr: (s) => s.cidr,
      cidrBlock: (s) => s.cidr,
      'map-public-ip-on-launch': (s) => String(s.map_public_ip),
      state: () => 'available',
      'owner-id': (s) => s.account_id,
      'subnet-arn': (s) => `arn:aws:ec2:${s.availability_zone.slice(0, -1)}:${s.account_id}:subnet/${s.id}`,
    },
    { spec: SUBNET_ANSWER_FILTERS, view: (s, tags) => subnetView(s, tags, services) },
  );
  return { Subnets: page.map((s) => subnetView(s, tags, services)), NextToken: nextToken };
});

export const modifySubnetAttribute = defineAction(
  'ModifySubnetAttribute',
  async (input, { caller, services }) => {
    if (input.AssignIpv6AddressOnCreation?.Value || input.EnableDns64?.Value) throw errors.unsupportedOperation('IPv6 is not supported.');
    if (input.MapPublicIpOnLaunch === undefined) {
      await services.vpcs.getSubnet(caller.accountId, input.SubnetId);
      return;
    }
    await services.vpcs.modifySubnet(caller.accountId, input.SubnetId, input.MapPublicIpOnLaunch.Value ?? false);
  },
  {
    unhonoured: [
      ['MapCustomerOwnedIpOnLaunch', (i) => i.MapCustomerOwnedIpOnLaunch?.Value === true || Boolean(i.CustomerOwnedIpv4Pool), 'There are no Outposts here.'],
      [
        'PrivateDnsHostnameTypeOnLaunch',
        (i) => Boolean(i.PrivateDnsHostnameTypeOnLaunch && i.PrivateDnsHostnameTypeOnLaunch !== 'ip-name'),
        'Private DNS names are IP names (ip-10-0-0-1) here.',
      ],
      [
        'EnableResourceNameDnsARecordOnLaunch',
        (i) => i.EnableResourceNameDnsARecordOnLaunch?.Value === true || i.EnableResourceNameDnsAAAARecordOnLaunch?.Value === true,
        'Private DNS names are IP names (ip-10-0-0-1) here.',
      ],
      ['EnableLniAtDeviceIndex', (i) => i.EnableLniAtDeviceIndex !== undefined || i.DisableLniAtDeviceIndex?.Value === true, 'There are no Outposts here.'],
    ],
  },
);
