/** DescribeVpcs, DescribeSubnets, DescribeSecurityGroups: the one default VPC, subnet and group each account has. */
import { defineAction } from './action';
import { errors } from '../protocol/errors';
import { filterInMemory, type Filter } from '../domain/filters';
import { zones } from '../domain/zones';
import type { Services } from '../services';

function defaults(services: Services, accountId: string) {
  const n = services.network;
  return { vpcId: n.defaultVpcId(accountId), subnetId: n.defaultSubnetId(accountId), groupId: n.defaultSecurityGroupId(accountId), cidr: n.cidr };
}

function pick<T>(all: T[], ids: string[] | undefined, idOf: (t: T) => string, notFound: (id: string) => Error): T[] {
  for (const id of ids ?? []) if (!all.some((t) => idOf(t) === id)) throw notFound(id);
  return ids?.length ? all.filter((t) => ids.includes(idOf(t))) : all;
}

export const describeVpcs = defineAction<{ VpcIds?: string[]; Filters?: Filter[] }>('DescribeVpcs', async (input, { caller, services }) => {
  const d = defaults(services, caller.accountId);
  const vpc = {
    VpcId: d.vpcId, OwnerId: caller.accountId, State: 'available', CidrBlock: d.cidr, DhcpOptionsId: 'default', InstanceTenancy: 'default', IsDefault: true,
    CidrBlockAssociationSet: [{ AssociationId: `vpc-cidr-assoc-${d.vpcId.slice(4)}`, CidrBlock: d.cidr, CidrBlockState: { State: 'associated' } }], Tags: [],
  };
  const vpcs = filterInMemory(pick([vpc], input.VpcIds, (v) => v.VpcId, errors.vpcNotFound), input.Filters, {
    'vpc-id': (v) => v.VpcId, 'is-default': () => 'true', 'cidr': (v) => v.CidrBlock, 'cidr-block-association.cidr-block': (v) => v.CidrBlock,
    state: (v) => v.State, 'owner-id': (v) => v.OwnerId, 'dhcp-options-id': (v) => v.DhcpOptionsId,
  });
  return { Vpcs: vpcs };
});

export const describeSubnets = defineAction<{ SubnetIds?: string[]; Filters?: Filter[] }>('DescribeSubnets', async (input, { caller, services }) => {
  const d = defaults(services, caller.accountId);
  const zone = zones(services.config)[0];
  const used = Number((await services.db('ip_leases').count<{ n: string }[]>('* as n'))[0].n);
  const [first, last] = services.config.addressRange;
  const subnet = {
    SubnetId: d.subnetId, VpcId: d.vpcId, OwnerId: caller.accountId, State: 'available', CidrBlock: d.cidr, AvailabilityZone: zone.ZoneName,
    AvailabilityZoneId: zone.ZoneId, AvailableIpAddressCount: last - first + 1 - used, DefaultForAz: true, MapPublicIpOnLaunch: false,
    AssignIpv6AddressOnCreation: false, Ipv6CidrBlockAssociationSet: [], Tags: [],
    SubnetArn: `arn:aws:ec2:${zone.RegionName}:${caller.accountId}:subnet/${d.subnetId}`,
  };
  const subnets = filterInMemory(pick([subnet], input.SubnetIds, (s) => s.SubnetId, errors.subnetNotFound), input.Filters, {
    'subnet-id': (s) => s.SubnetId, 'vpc-id': (s) => s.VpcId, 'availability-zone': (s) => s.AvailabilityZone, 'default-for-az': () => 'true',
    'cidr-block': (s) => s.CidrBlock, state: (s) => s.State, 'owner-id': (s) => s.OwnerId,
  });
  return { Subnets: subnets };
});

export const describeSecurityGroups = defineAction<{ GroupIds?: string[]; GroupNames?: string[]; Filters?: Filter[] }>('DescribeSecurityGroups', async (input, { caller, services }) => {
  const d = defaults(services, caller.accountId);
  const group = {
    GroupId: d.groupId, GroupName: 'default', Description: 'default VPC security group (instances reach the instances of their own account only)',
    OwnerId: caller.accountId, VpcId: d.vpcId,
    IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: d.groupId, UserId: caller.accountId }], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [] }],
    IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }],
    Tags: [],
  };
  let groups = pick([group], input.GroupIds, (g) => g.GroupId, errors.groupNotFound);
  groups = pick(groups, input.GroupNames, (g) => g.GroupName, errors.groupNotFound);
  groups = filterInMemory(groups, input.Filters, {
    'group-id': (g) => g.GroupId, 'group-name': (g) => g.GroupName, 'vpc-id': (g) => g.VpcId, 'owner-id': (g) => g.OwnerId, description: (g) => g.Description,
  });
  return { SecurityGroups: groups };
});
