/**
 * What the data plane must enforce, read from the database in a handful of queries: every instance port (its
 * network, address, MAC, node and groups), the groups' rules, every VPC subnet with its ACL and whether it routes to
 * an internet gateway, and the elastic IP associations. NetworkSync turns it into each node's bridges, routers and
 * packet filter.
 */
import type { Knex } from 'knex';
import type { NetworkView } from './network';
import type { RuleRow } from './security-groups';
import type { AclEntryRow } from './vpcs';

export interface PortState {
  instanceId: string;
  ip: string;
  mac: string;
  /** The OAR node it runs on or last ran on (null: never started). */
  node: string | null;
  /** Its VPC's VXLAN number; null: the shared instance network (a default VPC). */
  vni: number | null;
  subnetId: string | null;
  groupIds: string[];
  /** Names the VPC's resolver answers for it besides its private name (a load balancer's DNS name). */
  names?: string[];
  /** The IP TTL the metadata service's answers leave with (ModifyInstanceMetadataOptions HttpPutResponseHopLimit). */
  metadataHops: number;
}

export interface SubnetState {
  id: string;
  vpcId: string;
  vni: number;
  cidr: string;
  /** Whether its route table sends 0.0.0.0/0 to an internet gateway attached to its VPC. */
  internet: boolean;
  acl: AclEntryRow[];
}

export interface VpcState {
  vni: number;
  dnsSupport: boolean;
  dnsHostnames: boolean;
}

export interface NetworkSnapshot {
  ports: PortState[];
  vpcs: VpcState[];
  rules: Map<string, RuleRow[]>;
  subnets: SubnetState[];
  eips: { publicIp: string; instanceId: string }[];
}

/** Load balancers' ports are named so; a load balancer without security groups (a network one) is open to all. */
export const LOAD_BALANCER_PORT_PREFIX = 'lb-';
export const OPEN_GROUP = 'open-to-all';
const OPEN_RULES: RuleRow[] = [false, true].map((egress) => ({
  id: `${OPEN_GROUP}-${egress ? 'out' : 'in'}`,
  group_id: OPEN_GROUP,
  account_id: '',
  egress,
  protocol: '-1',
  from_port: null,
  to_port: null,
  cidr: '0.0.0.0/0',
  source_group_id: null,
  description: null,
}));

export class NetworkState {
  constructor(
    private readonly db: Knex,
    private readonly network: NetworkView,
    /** The DNS name of a load balancer (LoadBalancers.dnsName). */
    private readonly balancerName: (lb: { name: string; id: string; scheme: 'internal' | 'internet-facing' }) => string = () => '',
  ) {}

  async snapshot(): Promise<NetworkSnapshot> {
    const db = this.db;
    const [ports, members, subnets, eips, vpcs, balancers] = await Promise.all([
      db('instances as i')
        .leftJoin('subnets as s', 's.id', 'i.subnet_id')
        .leftJoin('vpcs as v', 'v.id', 's.vpc_id')
        .whereNot('i.state', 'terminated')
        .whereNotNull('i.private_ip')
        .select(
          'i.id',
          'i.account_id',
          db.raw('host(i.private_ip) as ip'),
          'i.mac',
          'i.metadata_hop_limit',
          db.raw('coalesce(i.oar_node, i.disk_node) as node'),
          'i.subnet_id',
          'v.vni',
        ),
      db('instance_security_groups as m')
        .join('instances as i', 'i.id', 'm.instance_id')
        .whereNot('i.state', 'terminated')
        .select('m.instance_id', 'm.group_id'),
      db('subnets as s')
        .join('vpcs as v', 'v.id', 's.vpc_id')
        .whereNotNull('v.vni')
        .select(
          's.id',
          's.vpc_id',
          'v.vni',
          db.raw('s.cidr::text as cidr'),
          db.raw('(select a.network_acl_id from network_acl_associations a where a.subnet_id = s.id) as acl_id'),
          db.raw(`exists (select 1 from routes r join internet_gateways g on g.id = r.gateway_id and g.vpc_id = s.vpc_id
                   where r.destination = '0.0.0.0/0'
                     and r.route_table_id = coalesce(
                       (select ra.route_table_id from route_table_associations ra where ra.subnet_id = s.id),
                       (select t.id from route_tables t where t.vpc_id = s.vpc_id and t.is_main))) as internet`),
        ),
      db('elastic_ips')
        .where((q) => q.whereNotNull('instance_id').orWhereNotNull('load_balancer_id'))
        .select(db.raw('host(public_ip) as "publicIp"'), db.raw(`coalesce(instance_id, '${LOAD_BALANCER_PORT_PREFIX}' || load_balancer_id) as "instanceId"`)),
      db('vpcs').whereNotNull('vni').select('vni', 'enable_dns_support as dnsSupport', 'enable_dns_hostnames as dnsHostnames'),
      // load balancers run on this machine (the OAR node localhost), in their first subnet
      db('load_balancers as l')
        .join('vpcs as v', 'v.id', 'l.vpc_id')
        .whereNotNull('l.private_ip')
        .select('l.id', 'l.name', 'l.scheme', 'l.mac', 'l.subnet_ids', 'l.security_group_ids', db.raw('host(l.private_ip) as ip'), 'v.vni'),
    ]);
    const groupsOf = new Map<string, string[]>();
    for (const m of members) groupsOf.set(m.instance_id, [...(groupsOf.get(m.instance_id) ?? []), m.group_id]);
    const portStates: PortState[] = ports.map((p) => ({
      instanceId: p.id,
      ip: p.ip,
      mac: p.mac,
      node: p.node,
      vni: p.vni ?? null,
      subnetId: p.subnet_id,
      metadataHops: p.metadata_hop_limit ?? 1,
      // a row from before VPCs is in its account's default group
      groupIds: groupsOf.get(p.id) ?? [this.network.defaultSecurityGroupId(p.account_id)],
    }));
    for (const b of balancers)
      portStates.push({
        instanceId: `${LOAD_BALANCER_PORT_PREFIX}${b.id}`,
        ip: b.ip,
        mac: b.mac,
        node: 'localhost',
        vni: b.vni,
        subnetId: b.subnet_ids[0],
        groupIds: b.security_group_ids.length ? b.security_group_ids : [OPEN_GROUP],
        names: [this.balancerName(b)],
        metadataHops: 1,
      });
    const groupIds = [...new Set(portStates.flatMap((p) => p.groupIds))].filter((g) => g !== OPEN_GROUP);
    const ruleRows: RuleRow[] = groupIds.length
      ? await db('security_group_rules').whereIn('group_id', groupIds).orderBy('created_at').select('*', db.raw('cidr::text as cidr'))
      : [];
    const rules = new Map<string, RuleRow[]>([...groupIds.map((g): [string, RuleRow[]] => [g, []]), [OPEN_GROUP, OPEN_RULES]]);
    for (const r of ruleRows) rules.get(r.group_id)!.push(r);
    const aclIds = [...new Set(subnets.map((s) => s.acl_id).filter(Boolean))];
    const entries: (AclEntryRow & { network_acl_id: string })[] = aclIds.length
      ? await db('network_acl_entries').whereIn('network_acl_id', aclIds).orderBy('rule_number').select('*', db.raw('cidr::text as cidr'))
      : [];
    return {
      ports: portStates,
      vpcs,
      rules,
      subnets: subnets.map((s) => ({
        id: s.id,
        vpcId: s.vpc_id,
        vni: s.vni,
        cidr: s.cidr,
        internet: s.internet,
        acl: entries.filter((e) => e.network_acl_id === s.acl_id),
      })),
      eips,
    };
  }
}
