/** Tags on resources: validation as EC2 does it, storage, and loading many resources' tags in one query. */
import type { Knex } from 'knex';
import { errors } from './errors';
import { wildcardToLike } from './filters';

export interface Tag {
  Key?: string;
  Value?: string;
}
export interface TagSpecification {
  ResourceType?: string;
  Tags?: Tag[];
}
export const MAX_TAGS_PER_RESOURCE = 50;

export function validateTags(tags: Tag[], where = 'Tag'): { key: string; value: string }[] {
  if (tags.length > MAX_TAGS_PER_RESOURCE) throw errors.tagLimitExceeded(`The maximum number of tags per resource is ${MAX_TAGS_PER_RESOURCE}.`);
  const seen = new Set<string>();
  return tags.map((t) => {
    const key = t.Key ?? '';
    const value = t.Value ?? '';
    if (key.length < 1) throw errors.invalidParameterValue(`${where}.Key`, key, 'Tag keys must not be empty.');
    if (key.length > 128) throw errors.invalidParameterValue(`${where}.Key`, key, 'Tag key exceeds the maximum length of 128 characters');
    if (value.length > 256) throw errors.invalidParameterValue(`${where}.Value`, value, 'Tag value exceeds the maximum length of 256 characters');
    if (key.toLowerCase().startsWith('aws:'))
      throw errors.invalidParameterValue(`${where}.Key`, key, "Tag keys starting with 'aws:' are reserved for internal use");
    if (seen.has(key)) throw errors.invalidParameter(`Duplicate tag key '${key.slice(0, 128)}'.`);
    seen.add(key);
    return { key, value };
  });
}

/**
 * A creating action's TagSpecifications, by resource type, checked as EC2 checks them (its texts): each names a
 * type this action can tag, at most once, with at least one tag.
 */
export function tagsByType(specs: TagSpecification[] | undefined, allowed: string[]): Map<string, { key: string; value: string }[]> {
  const out = new Map<string, { key: string; value: string }[]>();
  for (const [i, spec] of (specs ?? []).entries()) {
    if (!spec.ResourceType)
      throw errors.invalidParameterValue(`TagSpecification.${i + 1}.ResourceType`, '', 'Tag specification resource type must have a value');
    if (!allowed.includes(spec.ResourceType))
      throw errors.invalidParameterValue(
        `TagSpecification.${i + 1}.ResourceType`,
        spec.ResourceType,
        `'${spec.ResourceType.slice(0, 64)}' is not a valid taggable resource type for this operation.`,
      );
    if (out.has(spec.ResourceType))
      throw errors.invalidParameterValue(
        `TagSpecification.${i + 1}.ResourceType`,
        spec.ResourceType,
        'The same resource type may not be specified more than once in tag specifications',
      );
    if (!spec.Tags?.length) throw errors.invalidParameterValue(`TagSpecification.${i + 1}.Tag`, '', 'Tag specification must have at least one tag');
    out.set(spec.ResourceType, validateTags(spec.Tags, `TagSpecification.${i + 1}.Tag`));
  }
  return out;
}

/** The tags a creating action applies to its one resource type (TagSpecifications checked as tagsByType does). */
export function tagsFor(specs: TagSpecification[] | undefined, resourceType: string, allowed: string[] = [resourceType]): { key: string; value: string }[] {
  return tagsByType(specs, allowed).get(resourceType) ?? [];
}

const RESOURCE_COLUMNS: Record<string, string> = { key: 'key', value: 'value', 'resource-id': 'resource_id', 'resource-type': 'resource_type' };
export const TAG_FILTERS = Object.keys(RESOURCE_COLUMNS);

export interface TagRow {
  resource_id: string;
  resource_type: string;
  key: string;
  value: string;
}

/** The network resources' tables and the resource type their tags carry. */
const NETWORK_RESOURCES: [string, string][] = [
  ['vpcs', 'vpc'],
  ['subnets', 'subnet'],
  ['security_groups', 'security-group'],
  ['security_group_rules', 'security-group-rule'],
  ['internet_gateways', 'internet-gateway'],
  ['route_tables', 'route-table'],
  ['network_acls', 'network-acl'],
  ['elastic_ips', 'elastic-ip'],
];

export class Tags {
  constructor(private readonly db: Knex) {}

  /** Adds (or overwrites) tags on resources of one type; inside the caller's transaction when given one. */
  async insert(accountId: string, resourceType: string, resourceIds: string[], tags: { key: string; value: string }[], trx: Knex = this.db): Promise<void> {
    if (!tags.length || !resourceIds.length) return;
    const rows = resourceIds.flatMap((id) =>
      tags.map((t) => ({ resource_id: id, account_id: accountId, resource_type: resourceType, key: t.key, value: t.value })),
    );
    await trx('tags').insert(rows).onConflict(['resource_id', 'key']).merge(['value']);
  }

  /** CreateTags: on every resource named (all the caller's), at most MAX_TAGS_PER_RESOURCE each, all or nothing. */
  async tag(accountId: string, types: Map<string, string>, tags: { key: string; value: string }[]): Promise<void> {
    await this.db.transaction(async (trx) => {
      for (const [id, type] of types) {
        await this.insert(accountId, type, [id], tags, trx);
        const [{ n }] = await trx('tags').where('resource_id', id).count<{ n: string }[]>('* as n');
        if (Number(n) > MAX_TAGS_PER_RESOURCE) throw errors.tagLimitExceeded(`The maximum number of tags per resource is ${MAX_TAGS_PER_RESOURCE}.`);
      }
    });
  }

  /** DeleteTags: a tag given with a value is removed only when the value matches; without one, whatever its value. */
  async untag(accountId: string, resourceIds: string[], tags: Tag[] | undefined): Promise<void> {
    const q = this.db('tags').where('account_id', accountId).whereIn('resource_id', resourceIds);
    if (tags?.length) {
      q.where((w) => {
        for (const t of tags) {
          if (t.Value === undefined) w.orWhere('key', t.Key ?? '');
          else w.orWhere({ key: t.Key ?? '', value: t.Value });
        }
      });
    }
    await q.delete();
  }

  /** DescribeTags: the caller's tags matching the filters, by resource and key, after `after`, at most max + 1. */
  async describe(accountId: string, filters: { name: string; values: string[] }[], page: { after?: string; max?: number }): Promise<{ rows: TagRow[] }> {
    const q = this.db('tags').where('account_id', accountId).orderBy(['resource_id', 'key']);
    for (const { name, values } of filters) {
      const likes = values.map(wildcardToLike);
      if (name.startsWith('tag:')) q.where('key', name.slice(4)).whereRaw('value like any(?::text[])', [likes]);
      else q.whereRaw(`${RESOURCE_COLUMNS[name]} like any(?::text[])`, [likes]);
    }
    if (page.after) {
      const [rid, key] = page.after.split('\u0000');
      q.whereRaw('(resource_id, key) > (?, ?)', [rid, key ?? '']);
    }
    if (page.max) q.limit(page.max + 1);
    return { rows: await q };
  }

  /** The tags of many resources, in one query. */
  async load(resourceIds: string[]): Promise<Map<string, { Key: string; Value: string }[]>> {
    const out = new Map<string, { Key: string; Value: string }[]>();
    if (!resourceIds.length) return out;
    const rows = await this.db('tags').whereIn('resource_id', resourceIds).orderBy(['resource_id', 'key']);
    for (const r of rows) {
      if (!out.has(r.resource_id)) out.set(r.resource_id, []);
      out.get(r.resource_id)!.push({ Key: r.key, Value: r.value });
    }
    return out;
  }

  async deleteAll(resourceIds: string[]): Promise<void> {
    if (resourceIds.length) await this.db('tags').whereIn('resource_id', resourceIds).delete();
  }

  /**
   * The resource type of each id the caller may tag, checking that it owns the resource (instances, their root
   * volumes, images and their snapshots, key pairs, and its network resources).
   * Another account's or an unknown id is NotFound, as for any other action.
   */
  async resolveTaggable(accountId: string, ids: string[]): Promise<Map<string, string>> {
    const db = this.db;
    const out = new Map<string, string>();
    const hex = (id: string) => id.slice(id.indexOf('-') + 1);
    const instanceIds = ids.filter((id) => /^(i|vol)-[0-9a-f]{8,17}$/.test(id)).map((id) => `i-${hex(id)}`);
    const imageIds = ids.filter((id) => /^(ami|snap)-[0-9a-f]{8,17}$/.test(id)).map((id) => `ami-${hex(id)}`);
    const instances = new Set(instanceIds.length ? await db('instances').where('account_id', accountId).whereIn('id', instanceIds).pluck('id') : []);
    const images = new Set(
      imageIds.length ? await db('images').where('account_id', accountId).whereNot('state', 'deregistered').whereIn('id', imageIds).pluck('id') : [],
    );
    const keys = new Set(await db('key_pairs').where('account_id', accountId).whereIn('id', ids).pluck('id'));
    const network = new Map<string, string>();
    for (const [table, type] of NETWORK_RESOURCES) {
      for (const id of await db(table).where('account_id', accountId).whereIn('id', ids).pluck('id')) network.set(id, type);
    }
    for (const id of ids) {
      const prefix = id.slice(0, id.indexOf('-'));
      let type: string | undefined;
      if (prefix === 'i' && instances.has(id)) type = 'instance';
      else if (prefix === 'vol' && instances.has(`i-${hex(id)}`)) type = 'volume';
      else if (prefix === 'ami' && images.has(id)) type = 'image';
      else if (prefix === 'snap' && images.has(`ami-${hex(id)}`)) type = 'snapshot';
      else if (prefix === 'key' && keys.has(id)) type = 'key-pair';
      else if (network.has(id)) type = network.get(id);
      if (!type) {
        if (!/^[a-z]+-[0-9a-f]{8,17}$/.test(id)) throw errors.invalidId(id);
        if (prefix === 'i') throw errors.instanceNotFound([id]);
        if (prefix === 'ami') throw errors.amiNotFound(id);
        if (prefix === 'key') throw errors.keyPairNotFound(id);
        if (prefix === 'vol') throw errors.volumeNotFound(id);
        if (prefix === 'snap') throw errors.snapshotNotFound(id);
        if (prefix === 'vpc') throw errors.vpcNotFound(id);
        if (prefix === 'subnet') throw errors.subnetNotFound(id);
        if (prefix === 'sg') throw errors.groupNotFound(id);
        throw errors.invalidId(id);
      }
      out.set(id, type);
    }
    return out;
  }
}
