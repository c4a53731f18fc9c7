/** DescribeVpcs, DescribeSubnets, DescribeSecurityGroups: the one default VPC, subnet and group each account has. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { filterInMemory, selectNamed } from '../domain/filters';
import { zones } from '../domain/zones';
import type { SecurityGroup, Subnet, Vpc } from '../protocol/model/ec2-shapes';

export const describeVpcs = defineAction('DescribeVpcs', async (input, { caller, services }) => {
  const ids = services.network.defaults(caller.accountId);
  const cidr = services.network.cidr;
  const vpc = {
    VpcId: ids.vpc,
    OwnerId: caller.accountId,
    State: 'available',
    CidrBlock: cidr,
    DhcpOptionsId: 'default',
    InstanceTenancy: 'default',
    IsDefault: true,
    CidrBlockAssociationSet: [{ AssociationId: `vpc-cidr-assoc-${ids.vpc.slice(4)}`, CidrBlock: cidr, CidrBlockState: { State: 'associated' } }],
    Tags: [],
  } satisfies Vpc;
  const vpcs = filterInMemory(
    selectNamed([vpc], input.VpcIds, (v) => v.VpcId, errors.vpcNotFound),
    input.Filters,
    {
      'vpc-id': (v) => v.VpcId,
      'is-default': () => 'true',
      cidr: (v) => v.CidrBlock,
      'cidr-block-association.cidr-block': (v) => v.CidrBlock,
      state: (v) => v.State,
      'owner-id': (v) => v.OwnerId,
      'dhcp-options-id': (v) => v.DhcpOptionsId,
    },
  );
  return { Vpcs: vpcs };
});

export const describeSubnets = defineAction('DescribeSubnets', async (input, { caller, services }) => {
  const ids = services.network.defaults(caller.accountId);
  const zone = zones(services.config)[0];
  const subnet = {
    SubnetId: ids.subnet,
    VpcId: ids.vpc,
    OwnerId: caller.accountId,
    State: 'available',
    CidrBlock: services.network.cidr,
    AvailabilityZone: zone.ZoneName,
    AvailabilityZoneId: zone.ZoneId,
    AvailableIpAddressCount: await services.addresses.available(),
    DefaultForAz: true,
    MapPublicIpOnLaunch: false,
    AssignIpv6AddressOnCreation: false,
    Ipv6CidrBlockAssociationSet: [],
    Tags: [],
    SubnetArn: `arn:aws:ec2:${zone.RegionName}:${caller.accountId}:subnet/${ids.subnet}`,
  } satisfies Subnet;
  const subnets = filterInMemory(
    selectNamed([subnet], input.SubnetIds, (s) => s.SubnetId, errors.subnetNotFound),
    input.Filters,
    {
      'subnet-id': (s) => s.SubnetId,
      'vpc-id': (s) => s.VpcId,
      'availability-zone': (s) => s.AvailabilityZone,
      'default-for-az': () => 'true',
      'cidr-block': (s) => s.CidrBlock,
      state: (s) => s.State,
      'owner-id': (s) => s.OwnerId,
    },
  );
  return { Subnets: subnets };
});

export const describeSecurityGroups = defineAction('DescribeSecurityGroups', async (input, { caller, services }) => {
  const ids = services.network.defaults(caller.accountId);
  const group = {
    GroupId: ids.group,
    GroupName: 'default',
    Description: 'default VPC security group (instances reach the instances of their own account only)',
    OwnerId: caller.accountId,
    VpcId: ids.vpc,
    IpPermissions: [
      { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: ids.group, UserId: caller.accountId }], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [] },
    ],
    IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }],
    Tags: [],
  } satisfies SecurityGroup;
  let groups = selectNamed([group], input.GroupIds, (g) => g.GroupId, errors.groupNotFound);
  groups = selectNamed(groups, input.GroupNames, (g) => g.GroupName, errors.groupNotFound);
  groups = filterInMemory(groups, input.Filters, {
    'group-id': (g) => g.GroupId,
    'group-name': (g) => g.GroupName,
    'vpc-id': (g) => g.VpcId,
    'owner-id': (g) => g.OwnerId,
    description: (g) => g.Description,
  });
  return { SecurityGroups: groups };
});
