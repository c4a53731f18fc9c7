/**
 * Security groups: CreateSecurityGroup, DeleteSecurityGroup, DescribeSecurityGroups, Authorize/Revoke
 * SecurityGroupIngress/Egress, DescribeSecurityGroupRules and ModifySecurityGroupRules. A group is named by GroupId,
 * or by GroupName in the default VPC.
 */
import { defineAction, type ActionContext } from './action';
import { errors } from '../domain/errors';
import { tagsFor } from '../domain/tags';
import type { GroupRow, RuleRow } from '../domain/security-groups';
import { describeList, groupView, isIpv6Spec, ruleSpecs, ruleView, type RulesInput } from './views/network';
import type { AnswerFilterSpec } from './views/answer-filters';
import type { SecurityGroupRule, TagSpecification } from '../protocol/model/ec2-shapes';

const region = (ctx: ActionContext) => ctx.services.config.regions[0];

async function targetGroup(ctx: ActionContext, input: { GroupId?: string; GroupName?: string }): Promise<GroupRow> {
  const { services, caller } = ctx;
  await services.vpcs.ensureDefaults(caller.accountId);
  if (!input.GroupId && !input.GroupName) throw errors.missingParameter('GroupId');
  return services.securityGroups.resolve(caller.accountId, { id: input.GroupId, name: input.GroupName }, services.network.defaultVpcId(caller.accountId));
}

export const createSecurityGroup = defineAction('CreateSecurityGroup', async (input, ctx) => {
  const { caller, services } = ctx;
  await services.vpcs.ensureDefaults(caller.accountId);
  const vpc = await services.vpcs.getVpc(caller.accountId, input.VpcId || services.network.defaultVpcId(caller.accountId));
  const tags = tagsFor(input.TagSpecifications, 'security-group', ['security-group']);
  const group = await services.securityGroups.create(caller.accountId, vpc.id, input.GroupName, input.Description);
  await services.tags.insert(caller.accountId, 'security-group', [group.id], tags);
  return {
    GroupId: group.id,
    Tags: tags.length ? tags.map((t) => ({ Key: t.key, Value: t.value })) : undefined,
    SecurityGroupArn: `arn:aws:ec2:${region(ctx)}:${caller.accountId}:security-group/${group.id}`,
  };
});

export const deleteSecurityGroup = defineAction('DeleteSecurityGroup', async (input, ctx) => {
  const group = await targetGroup(ctx, input);
  await ctx.services.securityGroups.delete(ctx.caller.accountId, group.id);
  await ctx.services.tags.deleteAll([group.id]);
  return { Return: true, GroupId: group.id };
});

/** DescribeSecurityGroups's documented filters beyond those applied on rows, read off the SecurityGroup answer. */
export const SECURITY_GROUP_ANSWER_FILTERS: Omit<AnswerFilterSpec, 'appliedEarlier'> = {
  action: 'DescribeSecurityGroups',
  shape: 'SecurityGroup',
  aliases: {
    'ip-permission.group-name': 'IpPermissions.UserIdGroupPairs.GroupName',
    'ip-permission.ipv6-cidr': 'IpPermissions.Ipv6Ranges.CidrIpv6',
    'ip-permission.prefix-list-id': 'IpPermissions.PrefixListIds.PrefixListId',
    'ip-permission.user-id': 'IpPermissions.UserIdGroupPairs.UserId',
    'egress.ip-permission.group-name': 'IpPermissionsEgress.UserIdGroupPairs.GroupName',
    'egress.ip-permission.ipv6-cidr': 'IpPermissionsEgress.Ipv6Ranges.CidrIpv6',
    'egress.ip-permission.prefix-list-id': 'IpPermissionsEgress.PrefixListIds.PrefixListId',
    'egress.ip-permission.user-id': 'IpPermissionsEgress.UserIdGroupPairs.UserId',
  },
  refused: {},
};

export const describeSecurityGroups = defineAction('DescribeSecurityGroups', async (input, ctx) => {
  const { caller, services } = ctx;
  await services.vpcs.ensureDefaults(caller.accountId);
  let groups = await services.securityGroups.list(caller.accountId);
  for (const name of input.GroupNames ?? []) {
    if (!groups.some((g) => g.name === name && g.vpc_id === services.network.defaultVpcId(caller.accountId))) throw errors.groupNotFound(name);
  }
  if (input.GroupNames?.length)
    groups = groups.filter((g) => input.GroupNames!.includes(g.name) && g.vpc_id === services.network.defaultVpcId(caller.accountId));
  const rules = await services.securityGroups.rulesOfAccount(caller.accountId);
  const of = (g: GroupRow) => rules.filter((r) => r.group_id === g.id);
  const ingress = (g: GroupRow) => of(g).filter((r) => !r.egress);
  const egress = (g: GroupRow) => of(g).filter((r) => r.egress);
  const { page, tags, nextToken } = await describeList(
    services,
    groups,
    { ids: input.GroupIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    errors.groupNotFound,
    {
      'group-id': (g) => g.id,
      'group-name': (g) => g.name,
      'vpc-id': (g) => g.vpc_id,
      'owner-id': (g) => g.account_id,
      description: (g) => g.description,
      'ip-permission.protocol': (g) => ingress(g).map((r) => r.protocol),
      'ip-permission.from-port': (g) => ingress(g).map((r) => String(r.from_port ?? -1)),
      'ip-permission.to-port': (g) => ingress(g).map((r) => String(r.to_port ?? -1)),
      'ip-permission.cidr': (g) => ingress(g).flatMap((r) => (r.cidr ? [r.cidr] : [])),
      'ip-permission.group-id': (g) => ingress(g).flatMap((r) => (r.source_group_id ? [r.source_group_id] : [])),
      'egress.ip-permission.protocol': (g) => egress(g).map((r) => r.protocol),
      'egress.ip-permission.from-port': (g) => egress(g).map((r) => String(r.from_port ?? -1)),
      'egress.ip-permission.to-port': (g) => egress(g).map((r) => String(r.to_port ?? -1)),
      'egress.ip-permission.cidr': (g) => egress(g).flatMap((r) => (r.cidr ? [r.cidr] : [])),
      'egress.ip-permission.group-id': (g) => egress(g).flatMap((r) => (r.source_group_id ? [r.source_group_id] : [])),
    },
    { spec: SECURITY_GROUP_ANSWER_FILTERS, view: (g, tags) => groupView(g, rules, tags, region(ctx)) },
  );
  return { SecurityGroups: page.map((g) => groupView(g, rules, tags, region(ctx))), NextToken: nextToken };
});

type AuthorizeInput = RulesInput & { GroupId?: string; GroupName?: string; TagSpecifications?: TagSpecification[] };

async function authorize(ctx: ActionContext, input: AuthorizeInput, egress: boolean): Promise<{ Return: boolean; SecurityGroupRules: SecurityGroupRule[] }> {
  const { caller, services } = ctx;
  const group = await targetGroup(ctx, input);
  const tags = tagsFor(input.TagSpecifications, 'security-group-rule', ['security-group-rule']);
  const specs = await ruleSpecs(input, async (name) => (await services.securityGroups.resolve(caller.accountId, { name }, group.vpc_id)).id);
  if (specs.some(isIpv6Spec)) throw errors.invalidParameterValue('IpPermissions.Ipv6Ranges', '', 'IPv6 is not supported: instances have IPv4 addresses only.');
  const added: RuleRow[] = await services.securityGroups.authorize(caller.accountId, group.id, egress, specs);
  await services.tags.insert(
    caller.accountId,
    'security-group-rule',
    added.map((r) => r.id),
    tags,
  );
  const tagMap = await services.tags.load(added.map((r) => r.id));
  return { Return: true, SecurityGroupRules: added.map((r) => ruleView(r, tagMap, region(ctx))) };
}

async function revoke(ctx: ActionContext, input: AuthorizeInput & { SecurityGroupRuleIds?: string[] }, egress: boolean) {
  const { caller, services } = ctx;
  const group = await targetGroup(ctx, input);
  const byId = input.SecurityGroupRuleIds ?? [];
  const specs =
    byId.length && !input.IpPermissions?.length
      ? []
      : await ruleSpecs(input, async (name) => (await services.securityGroups.resolve(caller.accountId, { name }, group.vpc_id)).id);
  // no group here holds an IPv6 rule: revoking one finds nothing, as EC2 answers for a rule that is not there
  if (specs.some(isIpv6Spec)) throw errors.permissionNotFound('The specified rule does not exist in this security group.');
  const gone = await services.securityGroups.revoke(caller.accountId, group.id, egress, { specs, ruleIds: byId });
  await services.tags.deleteAll(gone.map((r) => r.id));
  return {
    Return: true,
    RevokedSecurityGroupRules: gone.map((r) => ({
      SecurityGroupRuleId: r.id,
      GroupId: r.group_id,
      IsEgress: r.egress,
      IpProtocol: r.protocol,
      FromPort: r.from_port ?? -1,
      ToPort: r.to_port ?? -1,
      CidrIpv4: r.cidr ?? undefined,
      ReferencedGroupId: r.source_group_id ?? undefined,
      Description: r.description ?? undefined,
    })),
  };
}

export const authorizeSecurityGroupIngress = defineAction('AuthorizeSecurityGroupIngress', (input, ctx) => authorize(ctx, input, false));
export const authorizeSecurityGroupEgress = defineAction('AuthorizeSecurityGroupEgress', (input, ctx) => authorize(ctx, input, true));
export const revokeSecurityGroupIngress = defineAction('RevokeSecurityGroupIngress', (input, ctx) => revoke(ctx, input, false));
export const revokeSecurityGroupEgress = defineAction('RevokeSecurityGroupEgress', (input, ctx) => revoke(ctx, input, true));

export const describeSecurityGroupRules = defineAction('DescribeSecurityGroupRules', async (input, ctx) => {
  const { caller, services } = ctx;
  await services.vpcs.ensureDefaults(caller.accountId);
  const { page, tags, nextToken } = await describeList(
    services,
    await services.securityGroups.rulesOfAccount(caller.accountId),
    { ids: input.SecurityGroupRuleIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    (ids) => errors.ruleNotFound(`The security group rule ID '${ids.join(', ')}' does not exist`),
    { 'group-id': (r) => r.group_id, 'security-group-rule-id': (r) => r.id },
  );
  return { SecurityGroupRules: page.map((r) => ruleView(r, tags, region(ctx))), NextToken: nextToken };
});

export const modifySecurityGroupRules = defineAction('ModifySecurityGroupRules', async (input, { caller, services }) => {
  const changes = (input.SecurityGroupRules ?? []).map((u, i) => {
    const r = u.SecurityGroupRule;
    if (!u.SecurityGroupRuleId) throw errors.missingParameter(`SecurityGroupRule.${i + 1}.SecurityGroupRuleId`);
    if (!r) throw errors.missingParameter(`SecurityGroupRule.${i + 1}.SecurityGroupRule`);
    if (r.CidrIpv6 || r.PrefixListId) throw errors.unsupportedOperation('IPv6 ranges and prefix lists are not supported.');
    return {
      ruleId: u.SecurityGroupRuleId,
      spec: {
        protocol: r.IpProtocol ?? '',
        fromPort: r.FromPort,
        toPort: r.ToPort,
        cidr: r.CidrIpv4,
        sourceGroupId: r.ReferencedGroupId,
        description: r.Description,
      },
    };
  });
  if (!changes.length) throw errors.missingParameter('SecurityGroupRule.1');
  await services.securityGroups.modifyRules(caller.accountId, input.GroupId, changes);
  return { Return: true };
});
