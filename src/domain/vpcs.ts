/**
 * VPCs and what routes inside them: subnets, internet gateways, route tables and network ACLs, with EC2's rules for
 * each (CIDR sizes and overlaps, one gateway per VPC, what must go before a delete). CIDR arithmetic is
 * PostgreSQL's (`cidr`, `&&`, `<<=`): the database checks what it stores.
 *
 * Every account has a default VPC with a default subnet, main route table, default ACL and default security group,
 * made the first time the account needs them, with the ids derived from the account id it always had. The default
 * VPC is the machine's shared instance network (vni null): the accounts' default VPCs share its addresses and are
 * kept apart by their security groups. Any other VPC is a network of its own (a VXLAN segment, `vni`), whose CIDR
 * may overlap another VPC's.
 */
import type { Knex } from 'knex';
import { databaseFailure } from '../adapters/db';
import { errors, DomainError } from './errors';
import { newId } from './ids';
import { envLimit } from './quotas';
import { changeSignal } from './change-signal';
import type { NetworkView } from './network';
import type { SecurityGroups } from './security-groups';

export interface VpcRow {
  id: string;
  account_id: string;
  cidr: string;
  vni: number | null;
  is_default: boolean;
  enable_dns_support: boolean;
  enable_dns_hostnames: boolean;
  instance_tenancy: string;
}
export interface SubnetRow {
  id: string;
  account_id: string;
  vpc_id: string;
  cidr: string;
  availability_zone: string;
  map_public_ip: boolean;
  is_default: boolean;
  /** Addresses of the subnet held by instances (filled by list). */
  leased?: number;
}
export interface GatewayRow {
  id: string;
  account_id: string;
  vpc_id: string | null;
}
export interface RouteRow {
  destination: string;
  gateway_id: string;
}
export interface RouteTableRow {
  id: string;
  account_id: string;
  vpc_id: string;
  is_main: boolean;
  routes: RouteRow[];
  associations: { id: string; subnet_id: string | null; main: boolean }[];
  vpc_cidr: string;
}
export interface AclEntryRow {
  egress: boolean;
  rule_number: number;
  protocol: string;
  rule_action: 'allow' | 'deny';
  cidr: string;
  from_port: number | null;
  to_port: number | null;
  icmp_type: number | null;
  icmp_code: number | null;
}
export interface NetworkAclRow {
  id: string;
  account_id: string;
  vpc_id: string;
  is_default: boolean;
  entries: AclEntryRow[];
  associations: { id: string; subnet_id: string }[];
}

export interface NetworkLimits {
  vpcs: number;
  subnetsPerVpc: number;
  internetGateways: number;
  routeTablesPerVpc: number;
  routesPerTable: number;
  aclsPerVpc: number;
  entriesPerAcl: number;
}
export function networkLimits(env = process.env): NetworkLimits {
  const n = (name: string, fallback: number) => envLimit(env, name, fallback);
  return {
    vpcs: n('OARCLOUD_MAX_VPCS', 5),
    subnetsPerVpc: n('OARCLOUD_MAX_SUBNETS_PER_VPC', 200),
    internetGateways: n('OARCLOUD_MAX_INTERNET_GATEWAYS', 5),
    routeTablesPerVpc: n('OARCLOUD_MAX_ROUTE_TABLES_PER_VPC', 200),
    routesPerTable: n('OARCLOUD_MAX_ROUTES_PER_TABLE', 50),
    aclsPerVpc: n('OARCLOUD_MAX_ACLS_PER_VPC', 200),
    entriesPerAcl: n('OARCLOUD_MAX_ENTRIES_PER_ACL', 20),
  };
}

/** What a default ACL's rule 100 matches, both ways (every ACL then ends with the implicit deny, 32767). */
const ALLOW_ALL = { protocol: '-1', cidr: '0.0.0.0/0', from_port: null, to_port: null, icmp_type: null, icmp_code: null };

/** The default VPC's subnet is the network every account shares: its ACL stays allow-all. */
const sharedAcl = () =>
  errors.operationNotPermitted(
    'The default VPC is the shared instance network: its network ACL allows everything and cannot be changed. Create a VPC for ACLs of your own.',
  );

export class Vpcs {
  private readonly defaultsMade = new Set<string>();
  private securityGroups!: SecurityGroups;

  constructor(
    private readonly db: Knex,
    private readonly network: NetworkView,
    private readonly zone: () => string,
    readonly limits: NetworkLimits = networkLimits(),
  ) {}

  /** The security groups (each needs the other: a VPC is made with its default group, a group lives in a VPC). */
  attach(securityGroups: SecurityGroups): void {
    this.securityGroups = securityGroups;
  }

  // ---------------------------------------------------------------------------------------------------- defaults

  /** Makes the account's default VPC and what comes with it, once (idempotent, safe to race). */
  async ensureDefaults(accountId: string): Promise<void> {
    if (this.defaultsMade.has(accountId)) return;
    const ids = this.network.defaults(accountId);
    await this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`default-vpc:${accountId}`]);
      if (await trx('vpcs').where('id', ids.vpc).first()) return;
      await trx('vpcs').insert({ id: ids.vpc, account_id: accountId, cidr: this.network.cidr, vni: null, is_default: true, enable_dns_hostnames: true });
      await trx('subnets').insert({
        id: ids.subnet,
        account_id: accountId,
        vpc_id: ids.vpc,
        cidr: this.network.cidr,
        availability_zone: this.zone(),
        is_default: true,
      });
      await this.furnish(trx, accountId, ids.vpc, { routeTable: this.network.derivedId('rtb', accountId), acl: this.network.derivedId('acl', accountId) });
      await trx('network_acl_associations').insert({
        id: this.network.derivedId('aclassoc', accountId),
        network_acl_id: this.network.derivedId('acl', accountId),
        subnet_id: ids.subnet,
      });
      await this.securityGroups.createDefault(trx, accountId, ids.vpc, ids.group);
    });
    this.defaultsMade.add(accountId);
  }

  /** A new VPC's main route table and default ACL (rule 100 allows everything both ways, as on AWS). */
  private async furnish(trx: Knex, accountId: string, vpcId: string, ids = { routeTable: newId('rtb'), acl: newId('acl') }): Promise<void> {
    await trx('route_tables').insert({ id: ids.routeTable, account_id: accountId, vpc_id: vpcId, is_main: true });
    await trx('route_table_associations').insert({ id: newId('rtbassoc'), route_table_id: ids.routeTable, subnet_id: null });
    await trx('network_acls').insert({ id: ids.acl, account_id: accountId, vpc_id: vpcId, is_default: true });
    await trx('network_acl_entries').insert(
      [true, false].map((egress) => ({ network_acl_id: ids.acl, egress, rule_number: 100, rule_action: 'allow', ...ALLOW_ALL })),
    );
  }

  // -------------------------------------------------------------------------------------------------------- VPCs

  async createVpc(accountId: string, cidr: string, tenancy = 'default'): Promise<VpcRow> {
    await this.ensureDefaults(accountId);
    const block = await this.checkCidr('CidrBlock', cidr);
    if (tenancy !== 'default') throw errors.invalidParameterValue('InstanceTenancy', tenancy, 'Only default tenancy is offered.');
    return this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`vpcs:${accountId}`]);
      const [{ n }] = await trx('vpcs').where({ account_id: accountId, is_default: false }).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.limits.vpcs) throw errors.vpcLimitExceeded(`The maximum number of VPCs (${this.limits.vpcs}) has been reached.`);
      const [vpc] = await trx('vpcs')
        .insert({ id: newId('vpc'), account_id: accountId, cidr: block, vni: trx.raw("nextval('vpc_vni')"), enable_dns_hostnames: false })
        .returning('*');
      await this.furnish(trx, accountId, vpc.id);
      await this.securityGroups.createDefault(trx, accountId, vpc.id, newId('sg'));
      return vpc;
    });
  }

  async listVpcs(accountId: string): Promise<VpcRow[]> {
    await this.ensureDefaults(accountId);
    return this.db('vpcs').where('account_id', accountId).orderBy('created_at').select('*', this.db.raw('cidr::text as cidr'));
  }

  async getVpc(accountId: string, id: string, trx: Knex = this.db): Promise<VpcRow> {
    await this.ensureDefaults(accountId);
    const vpc = await trx('vpcs').where({ account_id: accountId, id }).select('*', trx.raw('cidr::text as cidr')).first();
    if (!vpc) throw errors.vpcNotFound(id);
    return vpc;
  }

  /** DeleteVpc: only an empty VPC (no subnet, gateway, extra route table, ACL or group) goes, with its defaults. */
  async deleteVpc(accountId: string, id: string): Promise<void> {
    const vpc = await this.getVpc(accountId, id);
    if (vpc.is_default) throw errors.operationNotPermitted('The default VPC stands for the shared instance network and cannot be deleted.');
    await this.db.transaction(async (trx) => {
      const blockers = await Promise.all([
        trx('subnets').where('vpc_id', id).first('id'),
        trx('internet_gateways').where('vpc_id', id).first('id'),
        trx('route_tables').where({ vpc_id: id, is_main: false }).first('id'),
        trx('network_acls').where({ vpc_id: id, is_default: false }).first('id'),
        trx('security_groups').where({ vpc_id: id, is_default: false }).first('id'),
      ]);
      const blocker = blockers.find(Boolean);
      if (blocker) throw errors.dependencyViolation(`The vpc '${id}' has dependencies (${blocker.id}) and cannot be deleted.`);
      await trx('security_group_rules').whereIn('group_id', trx('security_groups').select('id').where('vpc_id', id)).delete();
      await trx('vpcs').where('id', id).delete();
    });
  }

  async modifyVpc(accountId: string, id: string, change: { enable_dns_support?: boolean; enable_dns_hostnames?: boolean }): Promise<void> {
    const vpc = await this.getVpc(accountId, id);
    const support = change.enable_dns_support ?? vpc.enable_dns_support;
    const hostnames = change.enable_dns_hostnames ?? vpc.enable_dns_hostnames;
    if (hostnames && !support) throw errors.invalidParameterValue('EnableDnsHostnames', 'true', 'DNS hostnames need DNS support to be enabled.');
    await this.db('vpcs').where('id', id).update(change);
    changeSignal.raise();
  }

  // ----------------------------------------------------------------------------------------------------- subnets

  async createSubnet(accountId: string, vpcId: string, cidr: string, zone: string): Promise<SubnetRow> {
    const vpc = await this.getVpc(accountId, vpcId);
    if (vpc.is_default)
      throw errors.invalidParameterValue('VpcId', vpcId, 'The default VPC has one subnet, the shared instance network; create a VPC for subnets of your own.');
    const block = await this.checkCidr('CidrBlock', cidr);
    return this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`subnets:${vpcId}`]);
      const { rows } = await trx.raw(
        `select (?::cidr <<= v.cidr) as inside,
                (select id from subnets s where s.vpc_id = v.id and s.cidr && ?::cidr limit 1) as clash,
                (select count(*)::int from subnets s where s.vpc_id = v.id) as n
           from vpcs v where v.id = ?`,
        [block, block, vpcId],
      );
      const { inside, clash, n } = rows[0];
      if (!inside) throw errors.invalidSubnetRange(`The CIDR '${block}' is invalid for the VPC ${vpcId} (${vpc.cidr}).`);
      if (clash) throw errors.invalidSubnetConflict(`The CIDR '${block}' conflicts with another subnet (${clash}).`);
      if (n >= this.limits.subnetsPerVpc)
        throw errors.subnetLimitExceeded(`The maximum number of subnets per VPC (${this.limits.subnetsPerVpc}) has been reached.`);
      const [subnet] = await trx('subnets')
        .insert({ id: newId('subnet'), account_id: accountId, vpc_id: vpcId, cidr: block, availability_zone: zone })
        .returning('*');
      const acl = await trx('network_acls').where({ vpc_id: vpcId, is_default: true }).first('id');
      await trx('network_acl_associations').insert({ id: newId('aclassoc'), network_acl_id: acl.id, subnet_id: subnet.id });
      return { ...subnet, cidr: block };
    });
  }

  async listSubnets(accountId: string): Promise<SubnetRow[]> {
    await this.ensureDefaults(accountId);
    return this.db('subnets as s')
      .where('s.account_id', accountId)
      .orderBy('s.created_at')
      .select(
        's.*',
        this.db.raw('s.cidr::text as cidr'),
        this.db.raw(
          `(select count(*)::int from ip_leases l where l.ip <<= s.cidr
              and l.network = (case when s.is_default then 'default' else s.vpc_id end)) as leased`,
        ),
      );
  }

  /** The VPC of each of the account's subnets (what instance views need, without counting addresses). */
  async subnetVpcs(accountId: string): Promise<Map<string, string>> {
    await this.ensureDefaults(accountId);
    const rows: { id: string; vpc_id: string }[] = await this.db('subnets').where('account_id', accountId).select('id', 'vpc_id');
    return new Map(rows.map((r) => [r.id, r.vpc_id]));
  }

  async getSubnet(accountId: string, id: string): Promise<SubnetRow & { vni: number | null; vpc_cidr: string }> {
    await this.ensureDefaults(accountId);
    const subnet = await this.db('subnets as s')
      .join('vpcs as v', 'v.id', 's.vpc_id')
      .where({ 's.account_id': accountId, 's.id': id })
      .first('s.*', this.db.raw('s.cidr::text as cidr'), 'v.vni', this.db.raw('v.cidr::text as vpc_cidr'));
    if (!subnet) throw errors.subnetNotFound(id);
    return subnet;
  }

  async deleteSubnet(accountId: string, id: string): Promise<void> {
    const subnet = await this.getSubnet(accountId, id);
    if (subnet.is_default) throw errors.operationNotPermitted('The default subnet is the shared instance network and cannot be deleted.');
    const user = await this.db('instances').where('subnet_id', id).whereNot('state', 'terminated').first('id');
    if (user) throw errors.dependencyViolation(`The subnet '${id}' has dependencies (${user.id}) and cannot be deleted.`);
    await this.db.transaction(async (trx) => {
      await trx('instances').where('subnet_id', id).update({ subnet_id: null });
      await trx('subnets').where('id', id).delete();
    });
    changeSignal.raise();
  }

  async modifySubnet(accountId: string, id: string, mapPublicIp: boolean): Promise<void> {
    const subnet = await this.getSubnet(accountId, id);
    if (mapPublicIp && subnet.is_default)
      throw errors.invalidParameterValue(
        'MapPublicIpOnLaunch',
        'true',
        'The default subnet is the shared network, reached from this machine directly: it has no public addresses.',
      );
    await this.db('subnets').where('id', id).update({ map_public_ip: mapPublicIp });
    changeSignal.raise();
  }

  // ------------------------------------------------------------------------------------------- internet gateways

  async createGateway(accountId: string): Promise<GatewayRow> {
    return this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`igw:${accountId}`]);
      const [{ n }] = await trx('internet_gateways').where('account_id', accountId).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.limits.internetGateways)
        throw errors.internetGatewayLimitExceeded(`The maximum number of internet gateways (${this.limits.internetGateways}) has been reached.`);
      const [row] = await trx('internet_gateways')
        .insert({ id: newId('igw'), account_id: accountId })
        .returning('*');
      return row;
    });
  }

  async listGateways(accountId: string): Promise<GatewayRow[]> {
    return this.db('internet_gateways').where('account_id', accountId).orderBy('created_at');
  }

  private async getGateway(accountId: string, id: string): Promise<GatewayRow> {
    const row = await this.db('internet_gateways').where({ account_id: accountId, id }).first();
    if (!row) throw errors.internetGatewayNotFound(id);
    return row;
  }

  async attachGateway(accountId: string, id: string, vpcId: string): Promise<void> {
    const gateway = await this.getGateway(accountId, id);
    const vpc = await this.getVpc(accountId, vpcId);
    if (gateway.vpc_id) throw errors.resourceAlreadyAssociated(`resource ${id} is already attached to network ${gateway.vpc_id}`);
    if (vpc.is_default)
      throw errors.invalidParameterValue('VpcId', vpcId, 'The default VPC reaches out through the machine already; it takes no internet gateway.');
    try {
      await this.db('internet_gateways').where('id', id).update({ vpc_id: vpcId });
    } catch (err) {
      if (databaseFailure(err) === 'unique') throw errors.resourceAlreadyAssociated(`Network ${vpcId} already has an internet gateway attached`);
      throw err;
    }
    changeSignal.raise();
  }

  async detachGateway(accountId: string, id: string, vpcId: string): Promise<void> {
    const gateway = await this.getGateway(accountId, id);
    await this.getVpc(accountId, vpcId);
    if (gateway.vpc_id !== vpcId) throw errors.gatewayNotAttached(`resource ${id} is not attached to network ${vpcId}`);
    const addressed = await this.db('elastic_ips as e')
      .join('instances as i', 'i.id', 'e.instance_id')
      .join('subnets as s', 's.id', 'i.subnet_id')
      .where('s.vpc_id', vpcId)
      .first('e.public_ip');
    if (addressed)
      throw errors.dependencyViolation(
        `Network ${vpcId} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`,
      );
    await this.db('internet_gateways').where('id', id).update({ vpc_id: null });
    changeSignal.raise();
  }

  async deleteGateway(accountId: string, id: string): Promise<void> {
    const gateway = await this.getGateway(accountId, id);
    if (gateway.vpc_id) throw errors.dependencyViolation(`The internetGateway '${id}' has dependencies and cannot be deleted.`);
    await this.db('internet_gateways').where('id', id).delete();
  }

  // ------------------------------------------------------------------------------------------------ route tables

  /** CreateRouteTable; a ClientToken used before answers the table it made (for the same VPC). */
  async createRouteTable(accountId: string, vpcId: string, clientToken?: string): Promise<RouteTableRow> {
    await this.getVpc(accountId, vpcId);
    if (clientToken) {
      const previous = await this.db('route_tables').where({ account_id: accountId, client_token: clientToken }).first();
      if (previous && previous.vpc_id !== vpcId) throw errors.idempotentParameterMismatch();
      if (previous) return this.getRouteTable(accountId, previous.id);
    }
    const [{ n }] = await this.db('route_tables').where('vpc_id', vpcId).count<{ n: string }[]>('* as n');
    if (Number(n) >= this.limits.routeTablesPerVpc)
      throw errors.routeTableLimitExceeded(`The maximum number of route tables per VPC (${this.limits.routeTablesPerVpc}) has been reached.`);
    const [row] = await this.db('route_tables')
      .insert({ id: newId('rtb'), account_id: accountId, vpc_id: vpcId, client_token: clientToken || null })
      .returning('id');
    return this.getRouteTable(accountId, row.id);
  }

  async listRouteTables(accountId: string): Promise<RouteTableRow[]> {
    await this.ensureDefaults(accountId);
    const tables = await this.db('route_tables as t')
      .join('vpcs as v', 'v.id', 't.vpc_id')
      .where('t.account_id', accountId)
      .orderBy('t.created_at')
      .select('t.*', this.db.raw('v.cidr::text as vpc_cidr'));
    const ids = tables.map((t) => t.id);
    const routes = await this.db('routes')
      .whereIn('route_table_id', ids)
      .orderByRaw('routes.destination')
      .select('route_table_id', 'gateway_id', this.db.raw('destination::text as destination'));
    const assocs = await this.db('route_table_associations').whereIn('route_table_id', ids).orderBy('id');
    return tables.map((t) => ({
      ...t,
      routes: routes.filter((r) => r.route_table_id === t.id),
      associations: assocs
        .filter((a) => a.route_table_id === t.id)
        .map((a) => ({ id: a.id, subnet_id: a.subnet_id, main: a.subnet_id === null && !a.gateway_id })),
    }));
  }

  async getRouteTable(accountId: string, id: string): Promise<RouteTableRow> {
    const table = (await this.listRouteTables(accountId)).find((t) => t.id === id);
    if (!table) throw errors.routeTableNotFound(id);
    return table;
  }

  async deleteRouteTable(accountId: string, id: string): Promise<void> {
    const table = await this.getRouteTable(accountId, id);
    if (table.is_main || table.associations.length) throw errors.dependencyViolation(`The routeTable '${id}' has dependencies and cannot be deleted.`);
    await this.db('route_tables').where('id', id).delete();
  }

  /** CreateRoute / ReplaceRoute to an internet gateway attached to the table's VPC. */
  async putRoute(accountId: string, tableId: string, destination: string, gatewayId: string, replace: boolean): Promise<void> {
    const table = await this.getRouteTable(accountId, tableId);
    const block = await this.checkCidr('DestinationCidrBlock', destination, 0, 32);
    const gateway = await this.getGateway(accountId, gatewayId);
    if (gateway.vpc_id !== table.vpc_id)
      throw errors.invalidParameterValue('GatewayId', gatewayId, `route table ${tableId} and network gateway ${gatewayId} belong to different networks`);
    const { rows } = await this.db.raw('select ?::cidr <<= ?::cidr as inside', [block, table.vpc_cidr]);
    if (rows[0].inside)
      throw errors.invalidParameterValue(
        'DestinationCidrBlock',
        block,
        `The route ${block} is more specific than, or the same as, the local route ${table.vpc_cidr}.`,
      );
    const existing = table.routes.find((r) => r.destination === block);
    if (replace && !existing) throw errors.invalidRouteNotFound(`There is no route defined for '${block}' in the route table.`);
    if (!replace && existing) throw errors.routeAlreadyExists(`The route identified by ${block} already exists.`);
    if (!replace && table.routes.length >= this.limits.routesPerTable)
      throw errors.routeLimitExceeded(`The maximum number of routes per table (${this.limits.routesPerTable}) has been reached.`);
    await this.db('routes')
      .insert({ route_table_id: tableId, destination: block, gateway_id: gatewayId })
      .onConflict(['route_table_id', 'destination'])
      .merge();
    changeSignal.raise();
  }

  async deleteRoute(accountId: string, tableId: string, destination: string): Promise<void> {
    await this.getRouteTable(accountId, tableId);
    const removed = await this.db('routes')
      .where({ route_table_id: tableId })
      .whereRaw('destination = ?::cidr', [destination])
      .delete()
      .catch(() => 0);
    if (!removed) throw errors.invalidRouteNotFound(`There is no route defined for '${destination}' in the route table.`);
    changeSignal.raise();
  }

  async associateRouteTable(accountId: string, tableId: string, subnetId: string): Promise<string> {
    const table = await this.getRouteTable(accountId, tableId);
    const subnet = await this.getSubnet(accountId, subnetId);
    if (subnet.vpc_id !== table.vpc_id)
      throw errors.invalidParameterValue('SubnetId', subnetId, `route table ${tableId} and subnet ${subnetId} belong to different networks`);
    const id = newId('rtbassoc');
    try {
      await this.db('route_table_associations').insert({ id, route_table_id: tableId, subnet_id: subnetId });
    } catch (err) {
      if (databaseFailure(err) === 'unique')
        throw errors.resourceAlreadyAssociated(`the specified association for route table ${tableId} conflicts with an existing association`);
      throw err;
    }
    changeSignal.raise();
    return id;
  }

  private async association(accountId: string, associationId: string): Promise<{ id: string; route_table_id: string; subnet_id: string | null }> {
    const row = await this.db('route_table_associations as a')
      .join('route_tables as t', 't.id', 'a.route_table_id')
      .where({ 'a.id': associationId, 't.account_id': accountId })
      .first('a.*');
    if (!row) throw errors.associationNotFound(`The association ID '${associationId}' does not exist`);
    return row;
  }

  async disassociateRouteTable(accountId: string, associationId: string): Promise<void> {
    const row = await this.association(accountId, associationId);
    if (!row.subnet_id)
      throw errors.invalidParameterValue('AssociationId', associationId, 'The main route table association cannot be removed; replace it instead.');
    await this.db('route_table_associations').where('id', associationId).delete();
    changeSignal.raise();
  }

  /** ReplaceRouteTableAssociation: a subnet's table, or (the main association) the VPC's main table. */
  async replaceRouteTableAssociation(accountId: string, associationId: string, tableId: string): Promise<string> {
    const row = await this.association(accountId, associationId);
    const table = await this.getRouteTable(accountId, tableId);
    const current = await this.getRouteTable(accountId, row.route_table_id);
    if (current.vpc_id !== table.vpc_id) throw errors.invalidParameterValue('RouteTableId', tableId, 'The route table belongs to another network.');
    const id = newId('rtbassoc');
    await this.db.transaction(async (trx) => {
      await trx('route_table_associations').where('id', associationId).delete();
      await trx('route_table_associations').insert({ id, route_table_id: tableId, subnet_id: row.subnet_id });
      if (!row.subnet_id) {
        await trx('route_tables').where('id', current.id).update({ is_main: false });
        await trx('route_tables').where('id', tableId).update({ is_main: true });
      }
    });
    changeSignal.raise();
    return id;
  }

  // ---------------------------------------------------------------------------------------------- network ACLs

  async createAcl(accountId: string, vpcId: string): Promise<NetworkAclRow> {
    if ((await this.getVpc(accountId, vpcId)).is_default) throw sharedAcl();
    const [{ n }] = await this.db('network_acls').where('vpc_id', vpcId).count<{ n: string }[]>('* as n');
    if (Number(n) >= this.limits.aclsPerVpc)
      throw errors.networkAclLimitExceeded(`The maximum number of network ACLs per VPC (${this.limits.aclsPerVpc}) has been reached.`);
    const [row] = await this.db('network_acls')
      .insert({ id: newId('acl'), account_id: accountId, vpc_id: vpcId })
      .returning('id');
    return this.getAcl(accountId, row.id);
  }

  async listAcls(accountId: string): Promise<NetworkAclRow[]> {
    await this.ensureDefaults(accountId);
    const acls = await this.db('network_acls').where('account_id', accountId).orderBy('created_at');
    const ids = acls.map((a) => a.id);
    const entries = await this.db('network_acl_entries')
      .whereIn('network_acl_id', ids)
      .orderBy(['egress', 'rule_number'])
      .select('*', this.db.raw('cidr::text as cidr'));
    const assocs = await this.db('network_acl_associations').whereIn('network_acl_id', ids).orderBy('id');
    return acls.map((a) => ({
      ...a,
      entries: entries.filter((e) => e.network_acl_id === a.id),
      associations: assocs.filter((s) => s.network_acl_id === a.id),
    }));
  }

  async getAcl(accountId: string, id: string): Promise<NetworkAclRow> {
    const acl = (await this.listAcls(accountId)).find((a) => a.id === id);
    if (!acl) throw errors.networkAclNotFound(id);
    return acl;
  }

  async deleteAcl(accountId: string, id: string): Promise<void> {
    const acl = await this.getAcl(accountId, id);
    if (acl.is_default) throw errors.invalidParameterValue('NetworkAclId', id, 'cannot delete default network ACL');
    if (acl.associations.length) throw errors.dependencyViolation(`The networkAcl '${id}' has dependencies and cannot be deleted.`);
    await this.db('network_acls').where('id', id).delete();
  }

  async putAclEntry(accountId: string, aclId: string, entry: AclEntryRow, replace: boolean): Promise<void> {
    const acl = await this.getAcl(accountId, aclId);
    if ((await this.getVpc(accountId, acl.vpc_id)).is_default) throw sharedAcl();
    if (!Number.isInteger(entry.rule_number) || entry.rule_number < 1 || entry.rule_number > 32766)
      throw errors.invalidParameterValue('RuleNumber', String(entry.rule_number), 'Rule numbers run from 1 to 32766.');
    const cidr = await this.checkCidr('CidrBlock', entry.cidr, 0, 32);
    const exists = acl.entries.some((e) => e.egress === entry.egress && e.rule_number === entry.rule_number);
    if (replace && !exists) throw errors.networkAclEntryNotFound(`The network acl entry identified by ${entry.rule_number} does not exist.`);
    if (!replace && exists) throw errors.networkAclEntryAlreadyExists(`The network acl entry identified by ${entry.rule_number} already exists.`);
    if (!replace && acl.entries.filter((e) => e.egress === entry.egress).length >= this.limits.entriesPerAcl)
      throw errors.networkAclEntryLimitExceeded(`The maximum number of entries per network ACL and direction (${this.limits.entriesPerAcl}) has been reached.`);
    await this.db('network_acl_entries')
      .insert({ ...entry, cidr, network_acl_id: aclId })
      .onConflict(['network_acl_id', 'egress', 'rule_number'])
      .merge();
    changeSignal.raise();
  }

  async deleteAclEntry(accountId: string, aclId: string, egress: boolean, ruleNumber: number): Promise<void> {
    const acl = await this.getAcl(accountId, aclId);
    if ((await this.getVpc(accountId, acl.vpc_id)).is_default) throw sharedAcl();
    const n = await this.db('network_acl_entries').where({ network_acl_id: aclId, egress, rule_number: ruleNumber }).delete();
    if (!n) throw errors.networkAclEntryNotFound(`The network acl entry identified by ${ruleNumber} does not exist.`);
    changeSignal.raise();
  }

  async replaceAclAssociation(accountId: string, associationId: string, aclId: string): Promise<string> {
    const acl = await this.getAcl(accountId, aclId);
    const row = await this.db('network_acl_associations as a')
      .join('network_acls as n', 'n.id', 'a.network_acl_id')
      .where({ 'a.id': associationId, 'n.account_id': accountId })
      .first('a.*', 'n.vpc_id');
    if (!row) throw errors.associationNotFound(`The association ID '${associationId}' does not exist`);
    if (row.vpc_id !== acl.vpc_id) throw errors.invalidParameterValue('NetworkAclId', aclId, 'The network ACL belongs to another network.');
    const id = newId('aclassoc');
    await this.db.transaction(async (trx) => {
      await trx('network_acl_associations').where('id', associationId).delete();
      await trx('network_acl_associations').insert({ id, network_acl_id: aclId, subnet_id: row.subnet_id });
    });
    changeSignal.raise();
    return id;
  }

  // ----------------------------------------------------------------------------------------------------- helpers

  /** A CIDR block as PostgreSQL normalises it, from /`min` to /`max` (EC2's limits for VPCs and subnets: /16 to /28). */
  private async checkCidr(parameter: string, value: string, min = 16, max = 28): Promise<string> {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(value ?? ''))
      throw errors.invalidParameterValue(parameter, value ?? '', 'It must be an IPv4 CIDR block such as 10.0.0.0/16.');
    try {
      const { rows } = await this.db.raw('select ?::cidr::text as cidr, masklen(?::cidr) as len', [value, value]);
      const len = Number(rows[0].len);
      if (len < min || len > max) throw errors.invalidParameterValue(parameter, value, `The prefix length must be between /${min} and /${max}.`);
      return rows[0].cidr;
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if (databaseFailure(err) === 'data') throw errors.invalidParameterValue(parameter, value, 'It is not a valid CIDR block (are host bits set?).');
      throw err;
    }
  }
}
