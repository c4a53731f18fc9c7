/**
 * Security groups, their rules and which instances are in them. A rule is one row: a direction, a protocol with
 * its ports (ICMP: type and code), and one peer, a CIDR block or another group of the same VPC. EC2 shows rules
 * two ways and both come from these rows: DescribeSecurityGroups folds rules of the same protocol and ports into
 * one IpPermission; DescribeSecurityGroupRules lists each rule with its id (`sgr-`).
 *
 * New groups allow all egress and no ingress; an account's default group in a VPC allows ingress from its own
 * members. An instance launched without groups is in its VPC's default group.
 */
import type { Knex } from 'knex';
import { errors } from './errors';
import { newId } from './ids';
import { changeSignal } from './change-signal';
import { envLimit } from './quotas';

export interface GroupRow {
  id: string;
  account_id: string;
  vpc_id: string;
  name: string;
  description: string;
  is_default: boolean;
}
export interface RuleRow {
  id: string;
  group_id: string;
  account_id: string;
  egress: boolean;
  /** '-1' (all), 'tcp', 'udp', 'icmp' or another IP protocol number. */
  protocol: string;
  from_port: number | null;
  to_port: number | null;
  cidr: string | null;
  source_group_id: string | null;
  description: string | null;
}
/** One rule as a caller states it, before checks. */
export interface RuleSpec {
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidr?: string;
  sourceGroupId?: string;
  description?: string;
}

export interface GroupLimits {
  groupsPerVpc: number;
  rulesPerGroup: number;
  groupsPerInstance: number;
}
export function groupLimits(env = process.env): GroupLimits {
  return {
    groupsPerVpc: envLimit(env, 'OARCLOUD_MAX_SECURITY_GROUPS_PER_VPC', 100),
    rulesPerGroup: envLimit(env, 'OARCLOUD_MAX_RULES_PER_SECURITY_GROUP', 60),
    groupsPerInstance: envLimit(env, 'OARCLOUD_MAX_SECURITY_GROUPS_PER_INSTANCE', 5),
  };
}

const PROTOCOL_NAMES: Record<string, string> = { '-1': '-1', all: '-1', tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', icmp: 'icmp', '1': 'icmp' };

/** A protocol, its ports and its peer checked and put in the one form rows use (ports null where they mean nothing). */
export function normaliseRule(spec: RuleSpec): Omit<RuleRow, 'id' | 'group_id' | 'account_id' | 'egress'> {
  const raw = String(spec.protocol ?? '').toLowerCase();
  const protocol = PROTOCOL_NAMES[raw] ?? (/^\d{1,3}$/.test(raw) && Number(raw) <= 255 ? raw : undefined);
  if (!protocol) throw errors.invalidParameterValue('IpProtocol', spec.protocol ?? '', 'It must be tcp, udp, icmp, -1 (all) or a protocol number.');
  let from: number | null = null;
  let to: number | null = null;
  if (protocol === 'tcp' || protocol === 'udp') {
    from = spec.fromPort ?? NaN;
    to = spec.toPort ?? NaN;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 65535 || from > to)
      throw errors.invalidParameterValue(
        'FromPort',
        `${spec.fromPort}-${spec.toPort}`,
        `${protocol} rules need FromPort and ToPort from 0 to 65535, FromPort first.`,
      );
  } else if (protocol === 'icmp') {
    from = spec.fromPort ?? -1;
    to = spec.toPort ?? -1;
    if (from < -1 || from > 255 || to < -1 || to > 255)
      throw errors.invalidParameterValue('FromPort', String(from), 'ICMP rules take a type and a code from -1 (any) to 255.');
  }
  if ((spec.cidr === undefined) === (spec.sourceGroupId === undefined)) throw errors.missingParameter('IpPermissions.N.IpRanges or IpPermissions.N.Groups');
  if (spec.description !== undefined && (spec.description.length > 255 || !/^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/.test(spec.description)))
    throw errors.invalidParameterValue(
      'Description',
      spec.description,
      'Descriptions are up to 255 characters: a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*',
    );
  return {
    protocol,
    from_port: from,
    to_port: to,
    cidr: spec.cidr ?? null,
    source_group_id: spec.sourceGroupId ?? null,
    description: spec.description ?? null,
  };
}

export class SecurityGroups {
  constructor(
    private readonly db: Knex,
    readonly limits: GroupLimits = groupLimits(),
  ) {}

  /** A VPC's default group: ingress from its members, all egress. */
  async createDefault(trx: Knex, accountId: string, vpcId: string, id: string): Promise<void> {
    await trx('security_groups').insert({
      id,
      account_id: accountId,
      vpc_id: vpcId,
      name: 'default',
      description: 'default VPC security group',
      is_default: true,
    });
    await trx('security_group_rules').insert([
      { id: newId('sgr'), group_id: id, account_id: accountId, egress: false, protocol: '-1', source_group_id: id },
      { id: newId('sgr'), group_id: id, account_id: accountId, egress: true, protocol: '-1', cidr: '0.0.0.0/0' },
    ]);
  }

  async create(accountId: string, vpcId: string, name: string, description: string): Promise<GroupRow> {
    if (!name || name.length > 255) throw errors.invalidParameterValue('GroupName', name ?? '', 'Group names are 1 to 255 characters.');
    if (/^sg-/i.test(name)) throw errors.invalidParameterValue('GroupName', name, "Group names may not start with 'sg-'.");
    if (name === 'default') throw errors.invalidGroupReserved("The security group 'default' is reserved");
    if (!description || description.length > 255)
      throw errors.invalidParameterValue('GroupDescription', description ?? '', 'Descriptions are 1 to 255 characters.');
    return this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`groups:${vpcId}`]);
      const [{ n }] = await trx('security_groups').where('vpc_id', vpcId).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.limits.groupsPerVpc)
        throw errors.securityGroupLimitExceeded(`The maximum number of security groups per VPC (${this.limits.groupsPerVpc}) has been reached.`);
      if (await trx('security_groups').where({ vpc_id: vpcId, name }).first('id'))
        throw errors.groupDuplicate(`The security group '${name}' already exists for VPC '${vpcId}'`);
      const [group] = await trx('security_groups')
        .insert({ id: newId('sg'), account_id: accountId, vpc_id: vpcId, name, description })
        .returning('*');
      await trx('security_group_rules').insert({
        id: newId('sgr'),
        group_id: group.id,
        account_id: accountId,
        egress: true,
        protocol: '-1',
        cidr: '0.0.0.0/0',
      });
      return group;
    });
  }

  async list(accountId: string): Promise<GroupRow[]> {
    return this.db('security_groups').where('account_id', accountId).orderBy('created_at');
  }

  /** The rules of the given groups (of any owner: a rule names its own group's account). */
  async rulesOf(groupIds: string[]): Promise<RuleRow[]> {
    if (!groupIds.length) return [];
    return this.db('security_group_rules').whereIn('group_id', groupIds).orderBy('created_at').select('*', this.db.raw('cidr::text as cidr'));
  }

  async rulesOfAccount(accountId: string): Promise<RuleRow[]> {
    return this.db('security_group_rules').where('account_id', accountId).orderBy('created_at').select('*', this.db.raw('cidr::text as cidr'));
  }

  async get(accountId: string, id: string): Promise<GroupRow> {
    const group = await this.db('security_groups').where({ account_id: accountId, id }).first();
    if (!group) throw errors.groupNotFound(id);
    return group;
  }

  /** A group by id, or by name in the account's default VPC (EC2-Classic's way, still accepted). */
  async resolve(accountId: string, ref: { id?: string; name?: string }, defaultVpcId: string): Promise<GroupRow> {
    if (ref.id) return this.get(accountId, ref.id);
    if (!ref.name) throw errors.missingParameter('GroupId');
    const group = await this.db('security_groups').where({ account_id: accountId, vpc_id: defaultVpcId, name: ref.name }).first();
    if (!group) throw errors.groupNotFound(ref.name);
    return group;
  }

  async delete(accountId: string, id: string): Promise<void> {
    const group = await this.get(accountId, id);
    if (group.is_default) throw errors.cannotDelete(`the specified group: "${id}" name: "default" cannot be deleted by a user`);
    const user = await this.db('instance_security_groups as m')
      .join('instances as i', 'i.id', 'm.instance_id')
      .where('m.group_id', id)
      .whereNot('i.state', 'terminated')
      .first('i.id');
    if (user) throw errors.dependencyViolation(`resource ${id} has a dependent object`);
    const referrer = await this.db('security_group_rules').where('source_group_id', id).whereNot('group_id', id).first('group_id');
    if (referrer) throw errors.dependencyViolation(`resource ${id} has a dependent object (referenced by ${referrer.group_id})`);
    await this.db.transaction(async (trx) => {
      await trx('instance_security_groups').where('group_id', id).delete();
      await trx('security_group_rules').where('group_id', id).delete();
      await trx('security_groups').where('id', id).delete();
    });
    changeSignal.raise();
  }

  /** Adds rules to a group, all or none; a rule that exists already is InvalidPermission.Duplicate. */
  async authorize(accountId: string, groupId: string, egress: boolean, specs: RuleSpec[]): Promise<RuleRow[]> {
    const group = await this.get(accountId, groupId);
    const rules = specs.map(normaliseRule);
    for (const r of rules) if (r.source_group_id) await this.checkPeer(accountId, group, r.source_group_id);
    const added = await this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`rules:${groupId}`]);
      const existing: RuleRow[] = await trx('security_group_rules').where({ group_id: groupId, egress }).select('*', trx.raw('cidr::text as cidr'));
      const mine = existing.slice();
      const rows: RuleRow[] = [];
      for (const r of rules) {
        const cidr = r.cidr === null ? null : await this.normaliseCidr(trx, r.cidr);
        const row = { ...r, cidr, id: newId('sgr'), group_id: groupId, account_id: accountId, egress };
        if (mine.some((e) => sameRule(e, row))) throw errors.permissionDuplicate(`the specified rule "${describeRule(row)}" already exists`);
        mine.push(row);
        rows.push(row);
      }
      if (mine.length > this.limits.rulesPerGroup)
        throw errors.rulesPerGroupLimitExceeded(`The maximum number of rules per security group (${this.limits.rulesPerGroup}) has been reached.`);
      if (rows.length) await trx('security_group_rules').insert(rows);
      return rows;
    });
    changeSignal.raise();
    return added;
  }

  /** Removes rules named by content or by id; one that does not exist is InvalidPermission.NotFound, and none goes. */
  async revoke(accountId: string, groupId: string, egress: boolean, what: { specs?: RuleSpec[]; ruleIds?: string[] }): Promise<RuleRow[]> {
    await this.get(accountId, groupId);
    const existing: RuleRow[] = await this.db('security_group_rules').where({ group_id: groupId, egress }).select('*', this.db.raw('cidr::text as cidr'));
    const gone: RuleRow[] = [];
    for (const id of what.ruleIds ?? []) {
      const rule = existing.find((e) => e.id === id);
      if (!rule) throw errors.ruleNotFound(`The security group rule ID '${id}' does not exist`);
      gone.push(rule);
    }
    for (const spec of what.specs ?? []) {
      const r = normaliseRule(spec);
      const cidr = r.cidr === null ? null : await this.normaliseCidr(this.db, r.cidr);
      const rule = existing.find((e) => sameRule(e, { ...r, cidr }));
      if (!rule) throw errors.permissionNotFound(`The specified rule does not exist in this security group.`);
      gone.push(rule);
    }
    if (gone.length)
      await this.db('security_group_rules')
        .whereIn(
          'id',
          gone.map((g) => g.id),
        )
        .delete();
    changeSignal.raise();
    return gone;
  }

  /** ModifySecurityGroupRules: each rule replaced by its new content, keeping its id. */
  async modifyRules(accountId: string, groupId: string, changes: { ruleId: string; spec: RuleSpec }[]): Promise<void> {
    const group = await this.get(accountId, groupId);
    await this.db.transaction(async (trx) => {
      for (const { ruleId, spec } of changes) {
        const old = await trx('security_group_rules').where({ id: ruleId, group_id: groupId }).first();
        if (!old) throw errors.ruleNotFound(`The security group rule ID '${ruleId}' does not exist`);
        const r = normaliseRule(spec);
        if (r.source_group_id) await this.checkPeer(accountId, group, r.source_group_id);
        const cidr = r.cidr === null ? null : await this.normaliseCidr(trx, r.cidr);
        await trx('security_group_rules')
          .where('id', ruleId)
          .update({ ...r, cidr });
      }
    });
    changeSignal.raise();
  }

  async describeRules(accountId: string, ids?: string[]): Promise<RuleRow[]> {
    const rules = await this.rulesOfAccount(accountId);
    for (const id of ids ?? []) if (!rules.some((r) => r.id === id)) throw errors.ruleNotFound(`The security group rule ID '${id}' does not exist`);
    return ids?.length ? rules.filter((r) => ids.includes(r.id)) : rules;
  }

  // --------------------------------------------------------------------------------------------------- members

  /** The groups of many instances (an instance with no row is in its VPC's default group: `fallback`). */
  async groupsOf(instanceIds: string[]): Promise<Map<string, { id: string; name: string }[]>> {
    const out = new Map<string, { id: string; name: string }[]>();
    if (!instanceIds.length) return out;
    const rows = await this.db('instance_security_groups as m')
      .join('security_groups as g', 'g.id', 'm.group_id')
      .whereIn('m.instance_id', instanceIds)
      .orderBy(['m.instance_id', 'g.name'])
      .select('m.instance_id', 'g.id', 'g.name');
    for (const r of rows) {
      if (!out.has(r.instance_id)) out.set(r.instance_id, []);
      out.get(r.instance_id)!.push({ id: r.id, name: r.name });
    }
    return out;
  }

  /** Checks the groups an instance is to be in (all of the caller's, in the instance's VPC) and returns their ids. */
  async checkMembership(accountId: string, vpcId: string, groupIds: string[]): Promise<string[]> {
    const unique = [...new Set(groupIds)];
    if (unique.length > this.limits.groupsPerInstance)
      throw errors.securityGroupsPerInstanceLimitExceeded(`An instance may be in at most ${this.limits.groupsPerInstance} security groups.`);
    for (const id of unique) {
      const group = await this.get(accountId, id);
      if (group.vpc_id !== vpcId) throw errors.invalidParameter(`Security group ${id} and subnet belong to different networks.`);
    }
    if (!unique.length) {
      const fallback = await this.db('security_groups').where({ vpc_id: vpcId, is_default: true }).first('id');
      unique.push(fallback.id);
    }
    return unique;
  }

  async setMembership(trx: Knex, instanceIds: string[], groupIds: string[]): Promise<void> {
    await trx('instance_security_groups').whereIn('instance_id', instanceIds).delete();
    const rows = instanceIds.flatMap((instance_id) => groupIds.map((group_id) => ({ instance_id, group_id })));
    if (rows.length) await trx('instance_security_groups').insert(rows);
  }

  /** ModifyInstanceAttribute Groups: the instance's new groups, in force for its traffic at once. */
  async replaceMembership(accountId: string, instanceId: string, vpcId: string, groupIds: string[]): Promise<void> {
    if (!groupIds.length) throw errors.missingParameter('GroupId');
    const ids = await this.checkMembership(accountId, vpcId, groupIds);
    await this.db.transaction((trx) => this.setMembership(trx, [instanceId], ids));
    changeSignal.raise();
  }

  private async checkPeer(accountId: string, group: GroupRow, peerId: string): Promise<void> {
    const peer = await this.db('security_groups').where('id', peerId).first();
    if (!peer || peer.account_id !== accountId) throw errors.groupNotFound(peerId);
    if (peer.vpc_id !== group.vpc_id)
      throw errors.invalidParameter(`You have specified two resources that belong to different networks (${group.id} and ${peerId}).`);
  }

  private async normaliseCidr(db: Knex, cidr: string): Promise<string> {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr))
      throw errors.invalidParameterValue('CidrIp', cidr, 'It must be an IPv4 CIDR block such as 10.0.0.0/16.');
    try {
      const { rows } = await db.raw('select network(?::inet)::text as cidr', [cidr]);
      return rows[0].cidr;
    } catch {
      throw errors.invalidParameterValue('CidrIp', cidr, 'It is not a valid CIDR block.');
    }
  }
}

function sameRule(
  a: Omit<RuleRow, 'id' | 'group_id' | 'account_id' | 'egress' | 'description'>,
  b: Omit<RuleRow, 'id' | 'group_id' | 'account_id' | 'egress' | 'description'>,
): boolean {
  return a.protocol === b.protocol && a.from_port === b.from_port && a.to_port === b.to_port && a.cidr === b.cidr && a.source_group_id === b.source_group_id;
}

function describeRule(r: Omit<RuleRow, 'id' | 'group_id' | 'account_id'>): string {
  const proto = r.protocol === '-1' ? 'ALL' : r.protocol.toUpperCase();
  return `peer: ${r.cidr ?? r.source_group_id}, ${proto}, from port: ${r.from_port ?? 'None'}, to port: ${r.to_port ?? 'None'}, ALLOW`;
}
