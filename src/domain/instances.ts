/**
 * Instances in our database: the rows, their EC2 view, and the queries DescribeInstances needs (filters and
 * pagination in SQL). Nothing here calls OAR or libvirt: that is the reconciler's job.
 */
import type { Knex } from 'knex';
import { errors } from '../protocol/errors';
import { checkFilters, wildcardToLike, type Filter } from './filters';
import { checkMaxResults, decodeToken, encodeToken } from './pagination';
import { loadTags } from './tags';
import { derivedIds, isValidId } from './ids';
import type { NetworkView } from './network';

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80,
};

export interface InstanceRow {
  id: string;
  account_id: string;
  reservation_id: string;
  ami_launch_index: number;
  image_id: string;
  layers: string[];
  instance_type: string;
  vcpus: number;
  memory_mib: number;
  oar_cores: number;
  key_name: string | null;
  public_key: string | null;
  user_data: Buffer | null;
  state: InstanceStateName;
  desired_state: 'running' | 'stopped' | 'terminated';
  state_reason_code: string | null;
  state_reason_message: string | null;
  transition_reason: string;
  private_ip: string | null;
  mac: string | null;
  availability_zone: string;
  launch_time: Date;
  disable_api_termination: boolean;
  disable_api_stop: boolean;
  shutdown_behavior: 'stop' | 'terminate';
  oar_job_id: number | null;
  oar_node: string | null;
  reboot_requested: boolean;
  client_token: string | null;
  created_at: Date;
  terminated_at: Date | null;
}

/** DescribeInstances filters answered in SQL: each maps to an expression compared with LIKE. */
const FILTER_COLUMNS: Record<string, string> = {
  'instance-id': 'i.id',
  'instance-state-name': 'i.state',
  'instance-type': 'i.instance_type',
  'image-id': 'i.image_id',
  'key-name': 'i.key_name',
  'private-ip-address': 'host(i.private_ip)',
  'network-interface.addresses.private-ip-address': 'host(i.private_ip)',
  'private-dns-name': "('ip-' || replace(host(i.private_ip), '.', '-') || '.ec2.internal')",
  'reservation-id': 'i.reservation_id',
  'client-token': 'i.client_token',
  'availability-zone': 'i.availability_zone',
  'placement-availability-zone': 'i.availability_zone',
  'launch-time': `to_char(i.launch_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  'owner-id': 'i.account_id',
  'instance-lifecycle': "''",
  architecture: "'x86_64'",
  'root-device-type': "'ebs'",
  'root-device-name': "'/dev/xvda'",
  'virtualization-type': "'hvm'",
  hypervisor: "'xen'",
  'tenancy': "'default'",
  'reason': 'i.transition_reason',
  'state-reason-code': 'i.state_reason_code',
};
const STATE_BY_CODE = Object.fromEntries(Object.entries(STATE_CODES).map(([k, v]) => [String(v), k]));
export const INSTANCE_FILTERS = [...Object.keys(FILTER_COLUMNS), 'instance-state-code', 'tag-key', 'tag-value', 'vpc-id', 'subnet-id', 'group-id', 'group-name', 'instance.group-id', 'instance.group-name'];

export interface DescribeQuery {
  accountId: string;
  instanceIds?: string[];
  filters?: Filter[];
  maxResults?: number;
  nextToken?: string;
}

export class InstanceStore {
  constructor(
    private readonly db: Knex,
    private readonly network: NetworkView,
    private readonly retentionSeconds: number,
  ) {}

  async get(id: string): Promise<InstanceRow | undefined> {
    return this.db('instances').where('id', id).first();
  }

  /** The caller's instances with these ids; any id that is malformed, unknown or another account's is an error. */
  async getOwned(accountId: string, ids: string[], opts: { includeTerminated?: boolean } = {}): Promise<InstanceRow[]> {
    for (const id of ids) if (!isValidId('i', id)) throw errors.instanceIdMalformed(id);
    const unique = [...new Set(ids)];
    const q = this.db('instances').where('account_id', accountId).whereIn('id', unique);
    if (!opts.includeTerminated) this.hideExpired(q);
    const rows: InstanceRow[] = await q;
    const found = new Set(rows.map((r) => r.id));
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) throw errors.instanceNotFound(missing);
    return unique.map((id) => rows.find((r) => r.id === id)!);
  }

  private hideExpired(q: Knex.QueryBuilder, alias = ''): Knex.QueryBuilder {
    return q.whereRaw(`not (${alias}state = 'terminated' and ${alias}terminated_at < now() - make_interval(secs => ?))`, [this.retentionSeconds]);
  }

  async describe(query: DescribeQuery): Promise<{ rows: InstanceRow[]; nextToken?: string }> {
    const ids = query.instanceIds?.length ? [...new Set(query.instanceIds)] : undefined;
    if (ids && query.maxResults !== undefined) {
      throw errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
    }
    for (const id of ids ?? []) if (!isValidId('i', id)) throw errors.instanceIdMalformed(id);
    const filters = checkFilters(query.filters, INSTANCE_FILTERS, true);
    // one query: the rows and their tags (a waiter's poll by id is the hottest path of the API)
    const q = this.db('instances as i')
      .select('i.*', this.db.raw(`(select coalesce(json_agg(json_build_object('Key', t.key, 'Value', t.value) order by t.key), '[]'::json)
        from tags t where t.resource_id = i.id) as tag_list`))
      .where('i.account_id', query.accountId);
    this.hideExpired(q, 'i.');
    if (ids) q.whereIn('i.id', ids);
    for (const { name, values } of filters) this.applyFilter(q, name, values, query.accountId);
    const after = decodeToken(query.nextToken);
    if (after) q.where('i.id', '>', after);
    q.orderBy('i.id');
    if (query.maxResults) q.limit(query.maxResults + 1);
    const rows: InstanceRow[] = await q;
    // an id missing from the answer is either filtered out or not the caller's: only then look further
    if (ids && rows.length < ids.length) {
      const found = new Set(rows.map((r) => r.id));
      const missing = ids.filter((id) => !found.has(id));
      await this.getOwned(query.accountId, missing);
    }
    let nextToken: string | undefined;
    if (query.maxResults && rows.length > query.maxResults) {
      rows.length = query.maxResults;
      nextToken = encodeToken(rows[rows.length - 1].id);
    }
    return { rows, nextToken };
  }

  /** A page of the caller's instances as the Describe* actions take it (InstanceIds, Filters, MaxResults 5-1000, NextToken). */
  async describeRequest(
    accountId: string,
    input: { InstanceIds?: string[]; Filters?: Filter[]; MaxResults?: number; NextToken?: string },
    extraFilters: Filter[] = [],
  ): Promise<{ rows: InstanceRow[]; nextToken?: string }> {
    return this.describe({
      accountId,
      instanceIds: input.InstanceIds,
      filters: [...(input.Filters ?? []), ...extraFilters],
      maxResults: checkMaxResults(input.MaxResults, 5, 1000),
      nextToken: input.NextToken,
    });
  }

  private applyFilter(q: Knex.QueryBuilder, name: string, values: string[], accountId: string): void {
    const likes = values.map(wildcardToLike);
    if (likes.length === 0) {
      q.whereRaw('false');
      return;
    }
    if (FILTER_COLUMNS[name]) {
      q.whereRaw(`coalesce(${FILTER_COLUMNS[name]}, '') like any(?::text[])`, [likes]);
    } else if (name === 'instance-state-code') {
      q.whereIn('i.state', values.map((v) => STATE_BY_CODE[v] ?? '-'));
    } else if (name.startsWith('tag:')) {
      q.whereExists((s) => s.select(this.db.raw('1')).from('tags as t').whereRaw('t.resource_id = i.id and t.key = ? and t.value like any(?::text[])', [name.slice(4), likes]));
    } else if (name === 'tag-key' || name === 'tag-value') {
      const col = name === 'tag-key' ? 't.key' : 't.value';
      q.whereExists((s) => s.select(this.db.raw('1')).from('tags as t').whereRaw(`t.resource_id = i.id and ${col} like any(?::text[])`, [likes]));
    } else {
      // per-account constants (the default VPC, subnet and security group)
      const constant: Record<string, string> = {
        'vpc-id': this.network.defaultVpcId(accountId),
        'subnet-id': this.network.defaultSubnetId(accountId),
        'group-id': this.network.defaultSecurityGroupId(accountId),
        'instance.group-id': this.network.defaultSecurityGroupId(accountId),
        'group-name': 'default',
        'instance.group-name': 'default',
      };
      q.whereRaw('?::text like any(?::text[])', [constant[name], likes]);
    }
  }

  /** EC2's Instance structure for rows of one account, tags included (one query for all of them). */
  async views(rows: (InstanceRow & { tag_list?: { Key: string; Value: string }[] })[]): Promise<Record<string, unknown>[]> {
    const needTags = rows.filter((r) => !r.tag_list).map((r) => r.id);
    const tags = needTags.length ? await loadTags(this.db, needTags) : new Map();
    return rows.map((r) => this.view(r, r.tag_list ?? tags.get(r.id) ?? []));
  }

  view(r: InstanceRow, tags: { Key: string; Value: string }[]): Record<string, unknown> {
    const n = this.network;
    const ip = r.private_ip;
    const live = r.state !== 'terminated';
    const sg = [{ GroupId: n.defaultSecurityGroupId(r.account_id), GroupName: 'default' }];
    return {
      InstanceId: r.id,
      ImageId: r.image_id,
      State: { Code: STATE_CODES[r.state], Name: r.state },
      PrivateDnsName: n.privateDnsName(ip),
      PublicDnsName: '',
      StateTransitionReason: r.transition_reason,
      KeyName: r.key_name ?? undefined,
      AmiLaunchIndex: r.ami_launch_index,
      ProductCodes: [],
      InstanceType: r.instance_type,
      LaunchTime: r.launch_time,
      Placement: { AvailabilityZone: r.availability_zone, GroupName: '', Tenancy: 'default' },
      Monitoring: { State: 'disabled' },
      SubnetId: live ? n.defaultSubnetId(r.account_id) : undefined,
      VpcId: live ? n.defaultVpcId(r.account_id) : undefined,
      PrivateIpAddress: ip ?? undefined,
      StateReason: r.state_reason_code ? { Code: r.state_reason_code, Message: r.state_reason_message ?? r.state_reason_code } : undefined,
      Architecture: 'x86_64',
      RootDeviceType: 'ebs',
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: live
        ? [{ DeviceName: '/dev/xvda', Ebs: { AttachTime: r.created_at, DeleteOnTermination: true, Status: 'attached', VolumeId: derivedIds.rootVolume(r.id) } }]
        : [],
      VirtualizationType: 'hvm',
      ClientToken: r.client_token ?? '',
      Tags: tags,
      SecurityGroups: live ? sg : [],
      SourceDestCheck: true,
      Hypervisor: 'xen',
      NetworkInterfaces: live && ip
        ? [
            {
              Attachment: { AttachTime: r.created_at, AttachmentId: derivedIds.attachment(r.id), DeleteOnTermination: true, DeviceIndex: 0, Status: 'attached', NetworkCardIndex: 0 },
              Description: 'Primary network interface',
              Groups: sg,
              Ipv6Addresses: [],
              MacAddress: r.mac ?? undefined,
              NetworkInterfaceId: derivedIds.networkInterface(r.id),
              OwnerId: r.account_id,
              PrivateDnsName: n.privateDnsName(ip),
              PrivateIpAddress: ip,
              PrivateIpAddresses: [{ Primary: true, PrivateDnsName: n.privateDnsName(ip), PrivateIpAddress: ip }],
              SourceDestCheck: true,
              Status: 'in-use',
              SubnetId: n.defaultSubnetId(r.account_id),
              VpcId: n.defaultVpcId(r.account_id),
              InterfaceType: 'interface',
            },
          ]
        : [],
      EbsOptimized: false,
      EnaSupport: false,
      CpuOptions: { CoreCount: r.vcpus, ThreadsPerCore: 1 },
      CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
      HibernationOptions: { Configured: false },
      MetadataOptions: { State: 'applied', HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'disabled', HttpProtocolIpv6: 'disabled', InstanceMetadataTags: 'disabled' },
      EnclaveOptions: { Enabled: false },
      PlatformDetails: 'Linux/UNIX',
      UsageOperation: 'RunInstances',
      UsageOperationUpdateTime: r.created_at,
      MaintenanceOptions: { AutoRecovery: 'default' },
      CurrentInstanceBootMode: 'legacy-bios',
    };
  }

  /** Groups instance views into EC2 reservations, keeping the order in which reservations first appear. */
  async reservations(rows: InstanceRow[]): Promise<Record<string, unknown>[]> {
    const views = await this.views(rows);
    const byReservation = new Map<string, { ReservationId: string; OwnerId: string; Groups: []; Instances: Record<string, unknown>[] }>();
    rows.forEach((r, i) => {
      if (!byReservation.has(r.reservation_id)) byReservation.set(r.reservation_id, { ReservationId: r.reservation_id, OwnerId: r.account_id, Groups: [], Instances: [] });
      byReservation.get(r.reservation_id)!.Instances.push(views[i]);
    });
    return [...byReservation.values()];
  }
}
