/**
 * The instance metadata service's data (169.254.169.254, as EC2 serves it): which instance is asking, its IMDSv2
 * session tokens, and the tree of `meta-data/`, `user-data` and `dynamic/` it reads. An instance is known by its
 * address: in the shared network (a default VPC) the address alone, in a VPC the VPC's VXLAN number with it (told
 * by the relay in the VPC's router). Tokens are HMACs of the instance id and expiry time under a key derived from
 * the master key, so any API server can check them and none stores them.
 */
import { changeSignal } from './change-signal';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { NetworkView } from './network';
import type { InstanceRow } from './instances';
import { errors } from './errors';

export interface MetadataOptions {
  endpoint: 'enabled' | 'disabled';
  tokens: 'optional' | 'required';
  hopLimit: number;
  tags: 'enabled' | 'disabled';
}

/** A metadata path's answer: text, or a directory listing (entries, subdirectories with a trailing slash). */
export type MetadataNode = { text: string; json?: boolean } | { list: string[] };

type Tree = { [name: string]: Tree | string | { json: string } };

export const MAX_TOKEN_TTL_SECONDS = 21600;

export class InstanceMetadata {
  constructor(
    private readonly db: Knex,
    private readonly network: NetworkView,
    private readonly tokenKey: Buffer,
    private readonly region: string,
  ) {}

  /** The live instance with this address in the shared network, or in the VPC with this VXLAN number. */
  async find(ip: string, vni: number | null): Promise<InstanceRow | undefined> {
    const q = this.db('instances as i')
      .leftJoin('subnets as s', 's.id', 'i.subnet_id')
      .leftJoin('vpcs as v', 'v.id', 's.vpc_id')
      .whereNot('i.state', 'terminated')
      .whereRaw('i.private_ip = ?::inet', [ip])
      .select('i.*');
    if (vni === null) q.whereNull('v.vni');
    else q.where('v.vni', vni);
    return q.first();
  }

  issueToken(instanceId: string, ttlSeconds: number): string {
    const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
    return `${expires}.${this.sign(instanceId, expires)}`;
  }

  tokenValid(instanceId: string, token: string | undefined): boolean {
    const [expires, mac] = (token ?? '').split('.');
    if (!expires || !mac || Number(expires) < Date.now() / 1000) return false;
    const want = Buffer.from(this.sign(instanceId, Number(expires)));
    const got = Buffer.from(mac);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  private sign(instanceId: string, expires: number): string {
    return createHmac('sha256', this.tokenKey).update(`${instanceId}:${expires}`).digest('base64url');
  }

  options(row: InstanceRow): MetadataOptions {
    const r = row as InstanceRow & { metadata_endpoint: string; metadata_tokens: string; metadata_hop_limit: number; metadata_tags: string };
    return {
      endpoint: r.metadata_endpoint === 'disabled' ? 'disabled' : 'enabled',
      tokens: r.metadata_tokens === 'required' ? 'required' : 'optional',
      hopLimit: r.metadata_hop_limit ?? 1,
      tags: r.metadata_tags === 'enabled' ? 'enabled' : 'disabled',
    };
  }

  /** Refuses options EC2 would refuse. */
  validate(change: Partial<MetadataOptions>): void {
    if (change.endpoint && !['enabled', 'disabled'].includes(change.endpoint))
      throw errors.invalidParameterValue('HttpEndpoint', change.endpoint, 'It must be enabled or disabled.');
    if (change.tokens && !['optional', 'required'].includes(change.tokens))
      throw errors.invalidParameterValue('HttpTokens', change.tokens, 'It must be optional or required.');
    if (change.tags && !['enabled', 'disabled'].includes(change.tags))
      throw errors.invalidParameterValue('InstanceMetadataTags', change.tags, 'It must be enabled or disabled.');
    if (change.hopLimit !== undefined && (!Number.isInteger(change.hopLimit) || change.hopLimit < 1 || change.hopLimit > 64))
      throw errors.invalidParameterValue('HttpPutResponseHopLimit', String(change.hopLimit), 'It must be from 1 to 64.');
  }

  /** ModifyInstanceMetadataOptions / RunInstances MetadataOptions: checked, then stored. */
  async setOptions(instanceId: string, change: Partial<MetadataOptions>): Promise<void> {
    this.validate(change);
    const update: Record<string, unknown> = {};
    if (change.endpoint) update.metadata_endpoint = change.endpoint;
    if (change.tokens) update.metadata_tokens = change.tokens;
    if (change.hopLimit !== undefined) update.metadata_hop_limit = change.hopLimit;
    if (change.tags) update.metadata_tags = change.tags;
    if (Object.keys(update).length) await this.db('instances').where('id', instanceId).update(update);
    // the hop limit is the TTL the data plane gives the service's answers
    if (change.hopLimit !== undefined) changeSignal.raise();
  }

  /** The answer for a path under /latest/ (without it), or undefined (404). */
  async read(row: InstanceRow, path: string): Promise<MetadataNode | undefined> {
    const tree = await this.tree(row);
    let node: Tree | string | { json: string } = tree;
    for (const part of path.split('/').filter(Boolean)) {
      if (typeof node === 'string' || 'json' in node) return undefined;
      const next: Tree | string | { json: string } | undefined = node[part];
      if (next === undefined) return undefined;
      node = next;
    }
    if (typeof node === 'string') return { text: node };
    // public-keys/ lists each key as "<index>=<name>", read back as public-keys/<index>/
    if (path.replace(/\/+$/, '') === 'meta-data/public-keys') return { list: [`0=${row.key_name}`] };
    if ('json' in node && typeof node.json === 'string') return { text: node.json, json: true };
    return { list: Object.entries(node as Tree).map(([name, v]) => (typeof v === 'string' || 'json' in v ? name : `${name}/`)) };
  }

  private async tree(row: InstanceRow): Promise<Tree> {
    const db = this.db;
    const [place, groups, eip, tags] = await Promise.all([
      db('subnets as s')
        .join('vpcs as v', 'v.id', 's.vpc_id')
        .where('s.id', row.subnet_id ?? this.network.defaultSubnetId(row.account_id))
        .first('s.id as subnet_id', db.raw('s.cidr::text as subnet_cidr'), 'v.id as vpc_id', db.raw('v.cidr::text as vpc_cidr'), 'v.enable_dns_hostnames'),
      db('instance_security_groups as m')
        .join('security_groups as g', 'g.id', 'm.group_id')
        .where('m.instance_id', row.id)
        .orderBy('g.name')
        .select('g.id', 'g.name'),
      db('elastic_ips').where('instance_id', row.id).first(db.raw('host(public_ip) as ip')),
      db('tags').where('resource_id', row.id).orderBy('key').select('key', 'value'),
    ]);
    const ip = row.private_ip ?? '';
    const mac = row.mac ?? '';
    const hostname = this.network.privateDnsName(ip);
    const networkInterface: Tree = {
      'device-number': '0',
      'interface-id': `eni-${row.id.slice(2)}`,
      'local-hostname': hostname,
      'local-ipv4s': ip,
      mac,
      'owner-id': row.account_id,
      'security-group-ids': groups.map((g) => g.id).join('\n'),
      'security-groups': groups.map((g) => g.name).join('\n'),
      'subnet-id': place?.subnet_id ?? '',
      'subnet-ipv4-cidr-block': place?.subnet_cidr ?? '',
      'vpc-id': place?.vpc_id ?? '',
      'vpc-ipv4-cidr-block': place?.vpc_cidr ?? '',
      'vpc-ipv4-cidr-blocks': place?.vpc_cidr ?? '',
      ...(eip ? { 'public-ipv4s': eip.ip } : {}),
    };
    const metaData: Tree = {
      'ami-id': row.image_id,
      'ami-launch-index': String(row.ami_launch_index),
      'ami-manifest-path': '(unknown)',
      'block-device-mapping': { ami: '/dev/xvda', root: '/dev/xvda' },
      hostname,
      'instance-action': 'none',
      'instance-id': row.id,
      'instance-life-cycle': 'on-demand',
      'instance-type': row.instance_type,
      'local-hostname': hostname,
      'local-ipv4': ip,
      mac,
      network: { interfaces: { macs: { [mac]: networkInterface } } },
      placement: {
        'availability-zone': row.availability_zone,
        'availability-zone-id': `${this.region
          .split('-')
          .map((p) => p[0])
          .join('')}-az1`,
        region: this.region,
      },
      profile: 'default-hvm',
      'reservation-id': row.reservation_id,
      'security-groups': groups.map((g) => g.name).join('\n'),
      services: { domain: 'amazonaws.com', partition: 'aws' },
      ...(eip ? { 'public-ipv4': eip.ip } : {}),
      ...(row.key_name && row.public_key ? { 'public-keys': { '0': { 'openssh-key': `${row.public_key}\n` } } } : {}),
      ...(this.options(row).tags === 'enabled' ? { tags: { instance: Object.fromEntries(tags.map((t) => [t.key, t.value])) } } : {}),
    };
    const identity = {
      accountId: row.account_id,
      architecture: 'x86_64',
      availabilityZone: row.availability_zone,
      billingProducts: null,
      devpayProductCodes: null,
      marketplaceProductCodes: null,
      imageId: row.image_id,
      instanceId: row.id,
      instanceType: row.instance_type,
      kernelId: null,
      pendingTime: (row.launch_time ?? row.created_at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      privateIp: ip,
      ramdiskId: null,
      region: this.region,
      version: '2017-09-30',
    };
    return {
      'meta-data': metaData,
      ...(row.user_data ? { 'user-data': row.user_data.toString('utf8') } : {}),
      dynamic: { 'instance-identity': { document: { json: JSON.stringify(identity, null, 2) } } },
    };
  }
}
