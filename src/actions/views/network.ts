/** EC2's structures for VPCs, subnets, gateways, route tables, ACLs, security groups and addresses, from rows. */
import type { Services } from '../../services';
import type { AclEntryRow, NetworkAclRow, RouteTableRow, SubnetRow, VpcRow, GatewayRow } from '../../domain/vpcs';
import type { GroupRow, RuleRow, RuleSpec } from '../../domain/security-groups';
import type { ElasticIpRow } from '../../domain/elastic-ips';
import { errors } from '../../domain/errors';
import { filterInMemory, selectNamed, type Accessor, type Filter } from '../../domain/filters';
import { answerFilterNames, answerValues, filterSteps, type AnswerFilterSpec } from './answer-filters';
import { checkMaxResults, decodeToken, takePage } from '../../domain/pagination';
import type {
  Address,
  InternetGateway,
  IpPermission,
  NetworkAcl,
  NetworkAclEntry,
  RouteTable,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
  Tag,
  Vpc,
} from '../../protocol/model/ec2-shapes';
import { tagSet } from './tags';

type TagsById = Map<string, Tag[]>;
const tagsOf = (tags: TagsById, id: string) => tags.get(id) ?? [];

/** A row's tags as the `tag:` filters read them. */
export const tagMapOf = (tags: TagsById) => (item: { id: string }) => Object.fromEntries(tagsOf(tags, item.id).map((t) => [t.Key!, t.Value!]));

export function vpcView(v: VpcRow, tags: TagsById): Vpc {
  return {
    VpcId: v.id,
    OwnerId: v.account_id,
    State: 'available',
    CidrBlock: v.cidr,
    DhcpOptionsId: 'default',
    InstanceTenancy: v.instance_tenancy,
    IsDefault: v.is_default,
    CidrBlockAssociationSet: [{ AssociationId: `vpc-cidr-assoc-${v.id.slice(4)}`, CidrBlock: v.cidr, CidrBlockState: { State: 'associated' } }],
    Tags: tagSet(tagsOf(tags, v.id)),
  };
}

export function subnetView(s: SubnetRow, tags: TagsById, services: Services): Subnet {
  const zone = s.availability_zone;
  const size = 2 ** (32 - Number(s.cidr.split('/')[1]));
  // the shared network hands out its configured range; a VPC subnet all but 5 addresses (EC2 reserves them)
  const [first, last] = services.config.addressRange;
  const usable = s.is_default ? last - first + 1 : size - 5;
  return {
    SubnetId: s.id,
    VpcId: s.vpc_id,
    OwnerId: s.account_id,
    State: 'available',
    CidrBlock: s.cidr,
    AvailabilityZone: zone,
    AvailabilityZoneId: `${zone
      .slice(0, -1)
      .split('-')
      .map((p) => p[0])
      .join('')}-az${zone.charCodeAt(zone.length - 1) - 96}`,
    AvailableIpAddressCount: Math.max(0, usable - (s.leased ?? 0)),
    DefaultForAz: s.is_default,
    MapPublicIpOnLaunch: s.map_public_ip,
    AssignIpv6AddressOnCreation: false,
    Ipv6Native: false,
    EnableDns64: false,
    MapCustomerOwnedIpOnLaunch: false,
    PrivateDnsNameOptionsOnLaunch: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    Tags: tagSet(tagsOf(tags, s.id)),
    SubnetArn: `arn:aws:ec2:${zone.slice(0, -1)}:${s.account_id}:subnet/${s.id}`,
  };
}

export function gatewayView(g: GatewayRow, tags: TagsById): InternetGateway {
  return {
    InternetGatewayId: g.id,
    OwnerId: g.account_id,
    Attachments: g.vpc_id ? [{ VpcId: g.vpc_id, State: 'available' }] : [],
    Tags: tagSet(tagsOf(tags, g.id)),
  };
}

export function routeTableView(t: RouteTableRow, tags: TagsById): RouteTable {
  return {
    RouteTableId: t.id,
    VpcId: t.vpc_id,
    OwnerId: t.account_id,
    Routes: [
      { DestinationCidrBlock: t.vpc_cidr, GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      ...t.routes.map((r) => ({ DestinationCidrBlock: r.destination, GatewayId: r.gateway_id, Origin: 'CreateRoute', State: 'active' })),
    ],
    Associations: t.associations.map((a) => ({
      Main: a.main,
      RouteTableAssociationId: a.id,
      RouteTableId: t.id,
      SubnetId: a.subnet_id ?? undefined,
      AssociationState: { State: 'associated' },
    })),
    PropagatingVgws: [],
    Tags: tagSet(tagsOf(tags, t.id)),
  };
}

export function aclEntryView(e: AclEntryRow): NetworkAclEntry {
  return {
    RuleNumber: e.rule_number,
    Protocol: e.protocol,
    RuleAction: e.rule_action,
    Egress: e.egress,
    CidrBlock: e.cidr,
    PortRange: e.from_port !== null ? { From: e.from_port, To: e.to_port ?? e.from_port } : undefined,
    IcmpTypeCode: e.icmp_type !== null ? { Type: e.icmp_type, Code: e.icmp_code ?? -1 } : undefined,
  };
}

export function aclView(a: NetworkAclRow, tags: TagsById): NetworkAcl {
  // every ACL ends with the implicit deny-all rule, shown as number 32767
  const implicit = [true, false].map((egress): NetworkAclEntry => ({
    RuleNumber: 32767,
    Protocol: '-1',
    RuleAction: 'deny',
    Egress: egress,
    CidrBlock: '0.0.0.0/0',
  }));
  return {
    NetworkAclId: a.id,
    VpcId: a.vpc_id,
    OwnerId: a.account_id,
    IsDefault: a.is_default,
    Entries: [...a.entries.map(aclEntryView), ...implicit],
    Associations: a.associations.map((s) => ({ NetworkAclAssociationId: s.id, NetworkAclId: a.id, SubnetId: s.subnet_id })),
    Tags: tagSet(tagsOf(tags, a.id)),
  };
}

/** Rules of one direction folded as EC2 shows them: one IpPermission per protocol and port range. */
export function ipPermissions(rules: RuleRow[], groupOwner: (groupId: string) => string): IpPermission[] {
  const out = new Map<
    string,
    IpPermission & { IpRanges: NonNullable<IpPermission['IpRanges']>; UserIdGroupPairs: NonNullable<IpPermission['UserIdGroupPairs']> }
  >();
  for (const r of rules) {
    const key = `${r.protocol}/${r.from_port}/${r.to_port}`;
    if (!out.has(key)) {
      out.set(key, {
        IpProtocol: r.protocol,
        FromPort: r.protocol === '-1' ? undefined : (r.from_port ?? undefined),
        ToPort: r.protocol === '-1' ? undefined : (r.to_port ?? undefined),
        IpRanges: [],
        UserIdGroupPairs: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
      });
    }
    const p = out.get(key)!;
    if (r.cidr) p.IpRanges.push({ CidrIp: r.cidr, Description: r.description ?? undefined });
    else p.UserIdGroupPairs.push({ GroupId: r.source_group_id!, UserId: groupOwner(r.source_group_id!), Description: r.description ?? undefined });
  }
  return [...out.values()];
}

export function groupView(g: GroupRow, rules: RuleRow[], tags: TagsById, region: string): SecurityGroup {
  const mine = rules.filter((r) => r.group_id === g.id);
  const owner = () => g.account_id;
  return {
    GroupId: g.id,
    GroupName: g.name,
    Description: g.description,
    OwnerId: g.account_id,
    VpcId: g.vpc_id,
    IpPermissions: ipPermissions(
      mine.filter((r) => !r.egress),
      owner,
    ),
    IpPermissionsEgress: ipPermissions(
      mine.filter((r) => r.egress),
      owner,
    ),
    SecurityGroupArn: `arn:aws:ec2:${region}:${g.account_id}:security-group/${g.id}`,
    Tags: tagSet(tagsOf(tags, g.id)),
  };
}

export function ruleView(r: RuleRow, tags: TagsById, region: string): SecurityGroupRule {
  const ports = r.protocol === '-1' ? { FromPort: -1, ToPort: -1 } : { FromPort: r.from_port ?? -1, ToPort: r.to_port ?? -1 };
  return {
    SecurityGroupRuleId: r.id,
    GroupId: r.group_id,
    GroupOwnerId: r.account_id,
    IsEgress: r.egress,
    IpProtocol: r.protocol,
    ...ports,
    CidrIpv4: r.cidr ?? undefined,
    ReferencedGroupInfo: r.source_group_id ? { GroupId: r.source_group_id, UserId: r.account_id } : undefined,
    Description: r.description ?? undefined,
    SecurityGroupRuleArn: `arn:aws:ec2:${region}:${r.account_id}:security-group-rule/${r.id}`,
    Tags: tagSet(tagsOf(tags, r.id)),
  };
}

export function addressView(e: ElasticIpRow, tags: TagsById, region: string): Address {
  return {
    AllocationId: e.id,
    PublicIp: e.public_ip,
    Domain: 'vpc',
    AssociationId: e.association_id ?? undefined,
    InstanceId: e.instance_id ?? undefined,
    NetworkInterfaceId: e.instance_id ? `eni-${e.instance_id.slice(2)}` : undefined,
    NetworkInterfaceOwnerId: e.instance_id ? e.account_id : undefined,
    PrivateIpAddress: e.private_ip ?? undefined,
    PublicIpv4Pool: 'amazon',
    NetworkBorderGroup: region,
    Tags: tagSet(tagsOf(tags, e.id)),
  };
}

/**
 * The rules an Authorize/Revoke call names: its IpPermissions, or the old top-level form (IpProtocol, FromPort,
 * ToPort, CidrIp / SourceSecurityGroupName). IPv6 ranges and prefix lists are refused (instances have IPv4 only).
 */
/** The rules of an Authorize/Revoke call, in either of its forms. */
export interface RulesInput {
  IpPermissions?: IpPermission[];
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  CidrIp?: string;
  SourceSecurityGroupName?: string;
}

export function ruleSpecs(input: RulesInput, resolveGroupName: (name: string) => Promise<string>): Promise<RuleSpec[]> {
  const perms: IpPermission[] = input.IpPermissions?.length
    ? input.IpPermissions
    : input.IpProtocol !== undefined || input.CidrIp !== undefined || input.SourceSecurityGroupName !== undefined
      ? [
          {
            IpProtocol: input.IpProtocol ?? '-1',
            FromPort: input.FromPort,
            ToPort: input.ToPort,
            IpRanges: input.CidrIp !== undefined ? [{ CidrIp: input.CidrIp }] : [],
            UserIdGroupPairs: input.SourceSecurityGroupName !== undefined ? [{ GroupName: input.SourceSecurityGroupName }] : [],
          },
        ]
      : [];
  if (!perms.length) throw errors.missingParameter('IpPermissions');
  return (async () => {
    const specs: RuleSpec[] = [];
    for (const [i, p] of perms.entries()) {
      if (p.PrefixListIds?.length) throw errors.invalidParameterValue(`IpPermissions.${i + 1}.PrefixListIds`, '', 'Prefix lists are not supported.');
      const base = { protocol: p.IpProtocol ?? '', fromPort: p.FromPort, toPort: p.ToPort };
      for (const range of p.IpRanges ?? []) specs.push({ ...base, cidr: range.CidrIp ?? '', description: range.Description });
      for (const pair of p.UserIdGroupPairs ?? []) {
        const groupId = pair.GroupId ?? (pair.GroupName ? await resolveGroupName(pair.GroupName) : undefined);
        if (!groupId) throw errors.missingParameter(`IpPermissions.${i + 1}.Groups.1.GroupId`);
        specs.push({ ...base, sourceGroupId: groupId, description: pair.Description });
      }
      if (p.Ipv6Ranges?.length) specs.push({ ...base, cidr: 'ipv6', description: undefined });
      if (!p.IpRanges?.length && !p.UserIdGroupPairs?.length && !p.Ipv6Ranges?.length)
        throw errors.missingParameter(`IpPermissions.${i + 1}.IpRanges or IpPermissions.${i + 1}.Groups`);
    }
    return specs;
  })();
}

/** Whether a spec is an IPv6 range (which no group here can hold). */
export const isIpv6Spec = (spec: RuleSpec) => spec.cidr === 'ipv6';

/**
 * What every network Describe* does with its rows: the ids it names (NotFound for one that is not there), its
 * filters (with `tag:` and `tag-key`; given the answer's view, every other documented filter is read off it), then a
 * page after NextToken in id order.
 */
export async function describeList<T extends { id: string }>(
  services: Services,
  rows: T[],
  query: { ids?: string[]; filters?: Filter[]; maxResults?: number; nextToken?: string },
  notFound: (missing: string[]) => Error,
  accessors: Record<string, Accessor<T>>,
  answered?: { spec: Omit<AnswerFilterSpec, 'appliedEarlier'>; view: (row: T, tags: TagsById) => object },
): Promise<{ page: T[]; tags: TagsById; nextToken?: string }> {
  const named = selectNamed(rows, query.ids, (r) => r.id, notFound);
  const tags = await services.tags.load(named.map((r) => r.id));
  const tagMap = tagMapOf(tags);
  const all: Record<string, Accessor<T>> = { ...accessors, 'tag-key': (r) => Object.keys(tagMap(r)) };
  if (answered) {
    // the documented filters not applied on rows are read off each row's answer
    const spec = { ...answered.spec, appliedEarlier: Object.keys(all) };
    const views = new Map<T, object>();
    const viewOf = (r: T) => views.get(r) ?? views.set(r, answered.view(r, tags)).get(r)!;
    for (const f of answerFilterNames(spec)) all[f] = (r) => answerValues(viewOf(r), filterSteps(spec, f));
  }
  const filtered = filterInMemory(named, query.filters, all, tagMap);
  const after = decodeToken(query.nextToken);
  const sorted = [...filtered].sort((a, b) => a.id.localeCompare(b.id)).filter((r) => !after || r.id > after);
  const max = checkMaxResults(query.maxResults, 5, 1000);
  const { page, nextToken } = takePage(query.maxResults === undefined ? filtered : sorted, max, (r) => r.id);
  return { page, tags, nextToken };
}
