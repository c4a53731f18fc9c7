/** DescribeNetworkInterfaces: each instance's primary interface (the only kind there is), as its instance shows it. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { describeList } from './views/network';
import type { AnswerFilterSpec } from './views/answer-filters';
import { instanceViews } from './views/instance';
import type { NetworkInterface } from '../protocol/model/ec2-shapes';

/** DescribeNetworkInterfaces's documented filters beyond those applied on rows, read off the NetworkInterface answer. */
export const NETWORK_INTERFACE_ANSWER_FILTERS: Omit<AnswerFilterSpec, 'appliedEarlier'> = {
  action: 'DescribeNetworkInterfaces',
  shape: 'NetworkInterface',
  aliases: {
    'addresses.association.owner-id': 'PrivateIpAddresses.Association.IpOwnerId',
    'addresses.association.public-ip': 'PrivateIpAddresses.Association.PublicIp',
    'addresses.primary': 'PrivateIpAddresses.Primary',
  },
  refused: {},
};

export const describeNetworkInterfaces = defineAction('DescribeNetworkInterfaces', async (input, { caller, services }) => {
  const { rows } = await services.instances.describe({
    accountId: caller.accountId,
    filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] }],
  });
  const views = await instanceViews(rows, services);
  const interfaces = views.flatMap((instance) =>
    (instance.NetworkInterfaces ?? []).map((eni) => ({
      id: eni.NetworkInterfaceId!,
      view: {
        Association: eni.Association,
        Attachment: { ...eni.Attachment, InstanceId: instance.InstanceId, InstanceOwnerId: eni.OwnerId },
        AvailabilityZone: instance.Placement?.AvailabilityZone,
        Description: eni.Description,
        Groups: eni.Groups,
        InterfaceType: 'interface',
        Ipv6Addresses: [],
        MacAddress: eni.MacAddress,
        NetworkInterfaceId: eni.NetworkInterfaceId,
        OwnerId: eni.OwnerId,
        PrivateDnsName: eni.PrivateDnsName,
        PrivateIpAddress: eni.PrivateIpAddress,
        PrivateIpAddresses: eni.PrivateIpAddresses,
        RequesterManaged: false,
        SourceDestCheck: true,
        Status: 'in-use',
        SubnetId: eni.SubnetId,
        VpcId: eni.VpcId,
        TagSet: [],
      } satisfies NetworkInterface,
    })),
  );
  const { page, nextToken } = await describeList(
    services,
    interfaces,
    { ids: input.NetworkInterfaceIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    errors.networkInterfaceNotFound,
    {
      'network-interface-id': (e) => e.id,
      'subnet-id': (e) => e.view.SubnetId,
      'vpc-id': (e) => e.view.VpcId,
      'group-id': (e) => e.view.Groups?.map((g) => g.GroupId!),
      'group-name': (e) => e.view.Groups?.map((g) => g.GroupName!),
      'attachment.instance-id': (e) => e.view.Attachment.InstanceId,
      'attachment.instance-owner-id': (e) => e.view.Attachment.InstanceOwnerId,
      'attachment.status': () => 'attached',
      'attachment.device-index': () => '0',
      'availability-zone': (e) => e.view.AvailabilityZone,
      description: (e) => e.view.Description,
      'mac-address': (e) => e.view.MacAddress,
      'owner-id': (e) => e.view.OwnerId,
      'private-ip-address': (e) => e.view.PrivateIpAddress,
      'addresses.private-ip-address': (e) => e.view.PrivateIpAddress,
      'association.public-ip': (e) => e.view.Association?.PublicIp,
      'interface-type': () => 'interface',
      status: () => 'in-use',
      'requester-managed': () => 'false',
    },
    { spec: NETWORK_INTERFACE_ANSWER_FILTERS, view: (e) => e.view },
  );
  return { NetworkInterfaces: page.map((e) => e.view), NextToken: nextToken };
});
