/**
 * Network ACLs: CreateNetworkAcl, DeleteNetworkAcl, DescribeNetworkAcls, CreateNetworkAclEntry,
 * ReplaceNetworkAclEntry, DeleteNetworkAclEntry and ReplaceNetworkAclAssociation. Stateless numbered rules at the
 * subnet boundary, lowest number first, ending in the implicit deny.
 */
import { defineAction, type Input } from './action';
import { errors } from '../domain/errors';
import { tagsFor } from '../domain/tags';
import { aclView, describeList } from './views/network';
import type { AnswerFilterSpec } from './views/answer-filters';
import type { AclEntryRow } from '../domain/vpcs';

const PROTOCOLS: Record<string, string> = { '-1': '-1', all: '-1', '6': '6', tcp: '6', '17': '17', udp: '17', '1': '1', icmp: '1' };

function entryOf(input: Input<'CreateNetworkAclEntry'>): AclEntryRow {
  if (input.Ipv6CidrBlock) throw errors.unsupportedOperation('IPv6 entries are not supported.');
  if (!input.CidrBlock) throw errors.missingParameter('CidrBlock');
  const protocol = PROTOCOLS[String(input.Protocol).toLowerCase()] ?? (/^\d{1,3}$/.test(String(input.Protocol)) ? String(input.Protocol) : undefined);
  if (!protocol) throw errors.invalidParameterValue('Protocol', String(input.Protocol), 'It must be -1 (all), a protocol number, tcp, udp or icmp.');
  const action = String(input.RuleAction).toLowerCase();
  if (action !== 'allow' && action !== 'deny') throw errors.invalidParameterValue('RuleAction', String(input.RuleAction), 'It must be allow or deny.');
  let from: number | null = null;
  let to: number | null = null;
  if (protocol === '6' || protocol === '17') {
    if (input.PortRange?.From === undefined || input.PortRange?.To === undefined) throw errors.missingParameter('PortRange');
    from = input.PortRange.From;
    to = input.PortRange.To;
    if (from < 0 || to > 65535 || from > to) throw errors.invalidParameterValue('PortRange', `${from}-${to}`, 'Ports run from 0 to 65535, From first.');
  }
  const icmp =
    protocol === '1' ? { icmp_type: input.IcmpTypeCode?.Type ?? -1, icmp_code: input.IcmpTypeCode?.Code ?? -1 } : { icmp_type: null, icmp_code: null };
  return {
    egress: Boolean(input.Egress),
    rule_number: input.RuleNumber,
    protocol,
    rule_action: action,
    cidr: input.CidrBlock,
    from_port: from,
    to_port: to,
    ...icmp,
  };
}

export const createNetworkAcl = defineAction('CreateNetworkAcl', async (input, { caller, services }) => {
  const tags = tagsFor(input.TagSpecifications, 'network-acl', ['network-acl']);
  const acl = await services.vpcs.createAcl(caller.accountId, input.VpcId);
  await services.tags.insert(caller.accountId, 'network-acl', [acl.id], tags);
  return { NetworkAcl: aclView(acl, await services.tags.load([acl.id])), ClientToken: input.ClientToken };
});

export const deleteNetworkAcl = defineAction('DeleteNetworkAcl', async (input, { caller, services }) => {
  await services.vpcs.deleteAcl(caller.accountId, input.NetworkAclId);
  await services.tags.deleteAll([input.NetworkAclId]);
});

/** DescribeNetworkAcls's documented filters beyond those applied on rows, read off the NetworkAcl answer. */
export const NETWORK_ACL_ANSWER_FILTERS: Omit<AnswerFilterSpec, 'appliedEarlier'> = {
  action: 'DescribeNetworkAcls',
  shape: 'NetworkAcl',
  aliases: {
    'association.association-id': 'Associations.NetworkAclAssociationId',
    default: 'IsDefault',
    'entry.icmp.code': 'Entries.IcmpTypeCode.Code',
    'entry.icmp.type': 'Entries.IcmpTypeCode.Type',
    'entry.ipv6-cidr': 'Entries.Ipv6CidrBlock',
    'entry.port-range.from': 'Entries.PortRange.From',
    'entry.port-range.to': 'Entries.PortRange.To',
  },
  refused: {
    tag: "The reference's name for the tag:<key> filters, which are supported.",
  },
};

export const describeNetworkAcls = defineAction('DescribeNetworkAcls', async (input, { caller, services }) => {
  const { page, tags, nextToken } = await describeList(
    services,
    await services.vpcs.listAcls(caller.accountId),
    { ids: input.NetworkAclIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    errors.networkAclNotFound,
    {
      'network-acl-id': (a) => a.id,
      'vpc-id': (a) => a.vpc_id,
      default: (a) => String(a.is_default),
      'owner-id': (a) => a.account_id,
      'association.association-id': (a) => a.associations.map((s) => s.id),
      'association.network-acl-id': (a) => (a.associations.length ? a.id : undefined),
      'association.subnet-id': (a) => a.associations.map((s) => s.subnet_id),
      'entry.rule-number': (a) => a.entries.map((e) => String(e.rule_number)),
      'entry.rule-action': (a) => a.entries.map((e) => e.rule_action),
      'entry.protocol': (a) => a.entries.map((e) => e.protocol),
      'entry.cidr': (a) => a.entries.map((e) => e.cidr),
      'entry.egress': (a) => a.entries.map((e) => String(e.egress)),
    },
    { spec: NETWORK_ACL_ANSWER_FILTERS, view: aclView },
  );
  return { NetworkAcls: page.map((a) => aclView(a, tags)), NextToken: nextToken };
});

export const createNetworkAclEntry = defineAction('CreateNetworkAclEntry', async (input, { caller, services }) => {
  await services.vpcs.putAclEntry(caller.accountId, input.NetworkAclId, entryOf(input), false);
});

export const replaceNetworkAclEntry = defineAction('ReplaceNetworkAclEntry', async (input, { caller, services }) => {
  await services.vpcs.putAclEntry(caller.accountId, input.NetworkAclId, entryOf(input), true);
});

export const deleteNetworkAclEntry = defineAction('DeleteNetworkAclEntry', async (input, { caller, services }) => {
  await services.vpcs.deleteAclEntry(caller.accountId, input.NetworkAclId, Boolean(input.Egress), input.RuleNumber);
});

export const replaceNetworkAclAssociation = defineAction('ReplaceNetworkAclAssociation', async (input, { caller, services }) => {
  return { NewAssociationId: await services.vpcs.replaceAclAssociation(caller.accountId, input.AssociationId, input.NetworkAclId) };
});
