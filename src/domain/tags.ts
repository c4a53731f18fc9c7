/** Tags on resources: validation as EC2 does it, storage, and loading many resources' tags in one query. */
import type { Knex } from 'knex';
import { errors } from '../protocol/errors';

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
    if (key.length < 1 || key.length > 128) throw errors.invalidParameterValue(`${where}.Key`, key, 'Tag keys must be 1 to 128 characters.');
    if (value.length > 256) throw errors.invalidParameterValue(`${where}.Value`, value, 'Tag values must be at most 256 characters.');
    if (key.toLowerCase().startsWith('aws:')) throw errors.invalidParameterValue(`${where}.Key`, key, "Tag keys starting with 'aws:' are reserved.");
    if (seen.has(key)) throw errors.invalidParameter(`Duplicate tag key '${key.slice(0, 128)}'.`);
    seen.add(key);
    return { key, value };
  });
}

/** Tags a creating action applies to `resourceType`; other resource types it may name are accepted and ignored. */
export function tagsFor(specs: TagSpecification[] | undefined, resourceType: string, allowed: string[]): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const [i, spec] of (specs ?? []).entries()) {
    if (!spec.ResourceType) throw errors.missingParameter(`TagSpecification.${i + 1}.ResourceType`);
    if (!allowed.includes(spec.ResourceType)) {
      throw errors.invalidParameterValue(`TagSpecification.${i + 1}.ResourceType`, spec.ResourceType, `It must be one of: ${allowed.join(', ')}.`);
    }
    if (spec.ResourceType === resourceType) out.push(...validateTags(spec.Tags ?? [], `TagSpecification.${i + 1}.Tag`));
  }
  return validateTags(out.map((t) => ({ Key: t.key, Value: t.value })));
}

export async function insertTags(db: Knex, accountId: string, resourceType: string, resourceIds: string[], tags: { key: string; value: string }[]) {
  if (!tags.length || !resourceIds.length) return;
  const rows = resourceIds.flatMap((id) => tags.map((t) => ({ resource_id: id, account_id: accountId, resource_type: resourceType, key: t.key, value: t.value })));
  await db('tags').insert(rows).onConflict(['resource_id', 'key']).merge(['value']);
}

export async function loadTags(db: Knex, resourceIds: string[]): Promise<Map<string, { Key: string; Value: string }[]>> {
  const out = new Map<string, { Key: string; Value: string }[]>();
  if (!resourceIds.length) return out;
  const rows = await db('tags').whereIn('resource_id', resourceIds).orderBy(['resource_id', 'key']);
  for (const r of rows) {
    if (!out.has(r.resource_id)) out.set(r.resource_id, []);
    out.get(r.resource_id)!.push({ Key: r.key, Value: r.value });
  }
  return out;
}
