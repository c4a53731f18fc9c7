import { defineAction } from './action';
import { reservationViews } from './views/instance';
import { filterAnswers, splitFilters, type AnswerFilterSpec } from './views/answer-filters';
import { INSTANCE_FILTERS } from '../domain/instances';

/**
 * DescribeInstances' documented filters: the common ones run in SQL (with pagination); the others are read off the
 * Instance answer.
 */
export const INSTANCE_ANSWER_FILTERS: AnswerFilterSpec = {
  action: 'DescribeInstances',
  shape: 'Instance',
  appliedEarlier: INSTANCE_FILTERS,
  aliases: {
    affinity: 'Placement.Affinity',
    'availability-zone-id': 'Placement.AvailabilityZoneId',
    'block-device-mapping.attach-time': 'BlockDeviceMappings.Ebs.AttachTime',
    'block-device-mapping.delete-on-termination': 'BlockDeviceMappings.Ebs.DeleteOnTermination',
    'block-device-mapping.status': 'BlockDeviceMappings.Ebs.Status',
    'block-device-mapping.volume-id': 'BlockDeviceMappings.Ebs.VolumeId',
    'dns-name': 'PublicDnsName',
    'host-id': 'Placement.HostId',
    'ip-address': 'PublicIpAddress',
    'launch-index': 'AmiLaunchIndex',
    'monitoring-state': 'Monitoring.State',
    'network-interface.addresses.association.carrier-ip': 'NetworkInterfaces.PrivateIpAddresses.Association.CarrierIp',
    'network-interface.addresses.association.customer-owned-ip': 'NetworkInterfaces.PrivateIpAddresses.Association.CustomerOwnedIp',
    'network-interface.addresses.association.ip-owner-id': 'NetworkInterfaces.PrivateIpAddresses.Association.IpOwnerId',
    'network-interface.addresses.association.public-dns-name': 'NetworkInterfaces.PrivateIpAddresses.Association.PublicDnsName',
    'network-interface.addresses.association.public-ip': 'NetworkInterfaces.PrivateIpAddresses.Association.PublicIp',
    'network-interface.addresses.primary': 'NetworkInterfaces.PrivateIpAddresses.Primary',
    'network-interface.addresses.private-dns-name': 'NetworkInterfaces.PrivateIpAddresses.PrivateDnsName',
    // an instance's interfaces are attached to it, in its zone and outpost, owned by its owner
    'network-interface.attachment.instance-id': 'InstanceId',
    'network-interface.attachment.instance-owner-id': 'NetworkInterfaces.OwnerId',
    'network-interface.availability-zone': 'Placement.AvailabilityZone',
    'network-interface.outpost-arn': 'OutpostArn',
    'network-interface.group-id': 'NetworkInterfaces.Groups.GroupId',
    'network-interface.group-name': 'NetworkInterfaces.Groups.GroupName',
    'network-interface.ipv6-address': 'NetworkInterfaces.Ipv6Addresses.Ipv6Address',
    'network-interface.public-dns-name': 'NetworkInterfaces.Association.PublicDnsName',
    'placement-group-name': 'Placement.GroupName',
    'placement-partition-number': 'Placement.PartitionNumber',
    'product-code': 'ProductCodes.ProductCodeId',
    'product-code.type': 'ProductCodes.ProductCodeType',
    'state-reason-message': 'StateReason.Message',
  },
  refused: {
    'metadata-options.http-protocol-ipv4': 'The metadata service always answers on IPv4 here; filter on metadata-options.http-endpoint.',
    'network-interface.addresses.association.allocation-id': 'Not part of the Instance answer: DescribeAddresses filters on allocation-id.',
    'network-interface.addresses.association.association-id': 'Not part of the Instance answer: DescribeAddresses filters on association-id.',
    'network-interface.association.allocation-id': 'Not part of the Instance answer: DescribeAddresses filters on allocation-id.',
    'network-interface.association.association-id': 'Not part of the Instance answer: DescribeAddresses filters on association-id.',
    'network-interface.deny-all-igw-traffic': 'An IPv6 setting, and instances here have no IPv6 address.',
    'network-interface.ipv6-native': 'An IPv6 setting, and instances here have no IPv6 address.',
    'network-interface.requester-id': 'Not part of the Instance answer: DescribeNetworkInterfaces filters on requester-id.',
    'network-interface.requester-managed': 'Not part of the Instance answer: DescribeNetworkInterfaces filters on requester-managed.',
    'network-interface.tag-key': "An instance's interface carries no tags of its own here; DescribeNetworkInterfaces filters on them.",
    'network-interface.tag-value': "An instance's interface carries no tags of its own here; DescribeNetworkInterfaces filters on them.",
    'requester-id': "A reservation's member, not an instance's; no service launches instances on a user's behalf here.",
  },
};

/** Answered from our database alone: SQL filters and pagination, then the filters read off the answer. */
export default defineAction('DescribeInstances', async (input, { caller, services }) => {
  const { earlier, onAnswer } = splitFilters(INSTANCE_ANSWER_FILTERS, input.Filters);
  const { rows, nextToken } = await services.instances.describeRequest(caller.accountId, { ...input, Filters: earlier });
  const reservations = (await reservationViews(rows, services))
    .map((r) => ({ ...r, Instances: filterAnswers(INSTANCE_ANSWER_FILTERS, r.Instances ?? [], onAnswer) }))
    .filter((r) => r.Instances.length);
  return { Reservations: reservations, NextToken: nextToken };
});
