/** CreateVpc, DeleteVpc, DescribeVpcs, ModifyVpcAttribute and DescribeVpcAttribute. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { tagsFor } from '../domain/tags';
import { describeList, vpcView } from './views/network';
import type { AnswerFilterSpec } from './views/answer-filters';

export const createVpc = defineAction(
  'CreateVpc',
  async (input, { caller, services }) => {
    if (input.Ipv6CidrBlock || input.AmazonProvidedIpv6CidrBlock || input.Ipv6Pool)
      throw errors.unsupportedOperation('IPv6 blocks are not supported: VPCs are IPv4 only.');
    if (input.Ipv4IpamPoolId) throw errors.unsupportedOperation('IPAM pools are not supported: give CidrBlock.');
    if (!input.CidrBlock) throw errors.missingParameter('CidrBlock');
    const tags = tagsFor(input.TagSpecifications, 'vpc', ['vpc']);
    const vpc = await services.vpcs.createVpc(caller.accountId, input.CidrBlock, input.InstanceTenancy ?? 'default');
    await services.tags.insert(caller.accountId, 'vpc', [vpc.id], tags);
    return { Vpc: vpcView({ ...vpc, cidr: input.CidrBlock }, new Map([[vpc.id, tags.map((t) => ({ Key: t.key, Value: t.value }))]])) };
  },
  {
    unhonoured: [
      ['Ipv4NetmaskLength', (i) => i.Ipv4NetmaskLength !== undefined, 'There is no IPAM here: give CidrBlock.'],
      ['Ipv6IpamPoolId', (i) => Boolean(i.Ipv6IpamPoolId || i.Ipv6NetmaskLength || i.Ipv6CidrBlockNetworkBorderGroup), 'Instances have no IPv6 address here.'],
      [
        'VpcEncryptionControl',
        (i) => i.VpcEncryptionControl !== undefined && Object.keys(i.VpcEncryptionControl).length > 0,
        'VPC encryption controls are not offered.',
      ],
    ],
  },
);

export const deleteVpc = defineAction('DeleteVpc', async (input, { caller, services }) => {
  await services.vpcs.deleteVpc(caller.accountId, input.VpcId);
  await services.tags.deleteAll([input.VpcId]);
});

/** DescribeVpcs's documented filters beyond those applied on rows, read off the Vpc answer. */
export const VPC_ANSWER_FILTERS: Omit<AnswerFilterSpec, 'appliedEarlier'> = {
  action: 'DescribeVpcs',
  shape: 'Vpc',
  aliases: {
    'cidr-block-association.association-id': 'CidrBlockAssociationSet.AssociationId',
    'ipv6-cidr-block-association.ipv6-cidr-block': 'Ipv6CidrBlockAssociationSet.Ipv6CidrBlock',
    'ipv6-cidr-block-association.ipv6-pool': 'Ipv6CidrBlockAssociationSet.Ipv6Pool',
    'ipv6-cidr-block-association.association-id': 'Ipv6CidrBlockAssociationSet.AssociationId',
    'ipv6-cidr-block-association.state': 'Ipv6CidrBlockAssociationSet.Ipv6CidrBlockState.State',
  },
  refused: {
    tag: "The reference's name for the tag:<key> filters, which are supported.",
  },
};

export const describeVpcs = defineAction('DescribeVpcs', async (input, { caller, services }) => {
  const { page, tags, nextToken } = await describeList(
    services,
    await services.vpcs.listVpcs(caller.accountId),
    { ids: input.VpcIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    errors.vpcNotFound,
    {
      'vpc-id': (v) => v.id,
      'is-default': (v) => String(v.is_default),
      cidr: (v) => v.cidr,
      'cidr-block-association.cidr-block': (v) => v.cidr,
      'cidr-block-association.state': () => 'associated',
      state: () => 'available',
      'owner-id': (v) => v.account_id,
      'dhcp-options-id': () => 'default',
      'instance-tenancy': (v) => v.instance_tenancy,
    },
    { spec: VPC_ANSWER_FILTERS, view: vpcView },
  );
  return { Vpcs: page.map((v) => vpcView(v, tags)), NextToken: nextToken };
});

export const modifyVpcAttribute = defineAction('ModifyVpcAttribute', async (input, { caller, services }) => {
  if (input.EnableNetworkAddressUsageMetrics?.Value) throw errors.unsupportedOperation('Network address usage metrics are not offered.');
  const given = [input.EnableDnsSupport, input.EnableDnsHostnames, input.EnableNetworkAddressUsageMetrics].filter((a) => a !== undefined);
  if (given.length !== 1) throw errors.invalidParameterCombination('Exactly one attribute may be modified at a time.');
  await services.vpcs.modifyVpc(caller.accountId, input.VpcId, {
    enable_dns_support: input.EnableDnsSupport?.Value,
    enable_dns_hostnames: input.EnableDnsHostnames?.Value,
  });
});

export const describeVpcAttribute = defineAction('DescribeVpcAttribute', async (input, { caller, services }) => {
  const vpc = await services.vpcs.getVpc(caller.accountId, input.VpcId);
  switch (input.Attribute) {
    case 'enableDnsSupport':
      return { VpcId: vpc.id, EnableDnsSupport: { Value: vpc.enable_dns_support } };
    case 'enableDnsHostnames':
      return { VpcId: vpc.id, EnableDnsHostnames: { Value: vpc.enable_dns_hostnames } };
    case 'enableNetworkAddressUsageMetrics':
      return { VpcId: vpc.id, EnableNetworkAddressUsageMetrics: { Value: false } };
    default:
      throw errors.invalidParameterValue(
        'Attribute',
        input.Attribute ?? '',
        'It must be enableDnsSupport, enableDnsHostnames or enableNetworkAddressUsageMetrics.',
      );
  }
});
