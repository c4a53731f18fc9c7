/** CreateTags, DeleteTags and DescribeTags over every resource the caller owns. */
import { defineAction } from './action';
import { errors } from '../protocol/errors';
import { checkFilters, wildcardToLike, type Filter } from '../domain/filters';
import { checkMaxResults, decodeToken, encodeToken } from '../domain/pagination';
import { MAX_TAGS_PER_RESOURCE, resolveTaggable, validateTags, type Tag } from '../domain/tags';
import type { ActionContext } from './action';

function defaultsOf({ services, caller }: ActionContext) {
  const n = services.network;
  return { vpc: n.defaultVpcId(caller.accountId), subnet: n.defaultSubnetId(caller.accountId), group: n.defaultSecurityGroupId(caller.accountId) };
}

export const createTags = defineAction<{ Resources?: string[]; Tags?: Tag[] }>('CreateTags', async (input, ctx) => {
  if (!input.Resources?.length) throw errors.missingParameter('ResourceId.1');
  if (!input.Tags?.length) throw errors.missingParameter('Tag.1.Key');
  const tags = validateTags(input.Tags);
  const types = await resolveTaggable(ctx.services.db, ctx.caller.accountId, input.Resources, defaultsOf(ctx));
  await ctx.services.db.transaction(async (trx) => {
    for (const [id, type] of types) {
      await trx('tags').insert(tags.map((t) => ({ resource_id: id, account_id: ctx.caller.accountId, resource_type: type, key: t.key, value: t.value })))
        .onConflict(['resource_id', 'key']).merge(['value']);
      const [{ n }] = await trx('tags').where('resource_id', id).count<{ n: string }[]>('* as n');
      if (Number(n) > MAX_TAGS_PER_RESOURCE) throw errors.tagLimitExceeded(`The maximum number of tags per resource is ${MAX_TAGS_PER_RESOURCE}.`);
    }
  });
  return { Return: true };
});

export const deleteTags = defineAction<{ Resources?: string[]; Tags?: Tag[] }>('DeleteTags', async (input, ctx) => {
  if (!input.Resources?.length) throw errors.missingParameter('ResourceId.1');
  const types = await resolveTaggable(ctx.services.db, ctx.caller.accountId, input.Resources, defaultsOf(ctx));
  const q = ctx.services.db('tags').where('account_id', ctx.caller.accountId).whereIn('resource_id', [...types.keys()]);
  if (input.Tags?.length) {
    // a tag given with a value is removed only when the value matches; without one, whatever its value
    q.where((w) => {
      for (const t of input.Tags!) {
        if (t.Value === undefined) w.orWhere('key', t.Key ?? '');
        else w.orWhere({ key: t.Key ?? '', value: t.Value });
      }
    });
  }
  await q.delete();
  return { Return: true };
});

const COLUMNS: Record<string, string> = { key: 'key', value: 'value', 'resource-id': 'resource_id', 'resource-type': 'resource_type' };

export const describeTags = defineAction<{ Filters?: Filter[]; MaxResults?: number; NextToken?: string }>('DescribeTags', async (input, { caller, services }) => {
  const filters = checkFilters(input.Filters, Object.keys(COLUMNS), true);
  const q = services.db('tags').where('account_id', caller.accountId).orderBy(['resource_id', 'key']);
  for (const { name, values } of filters) {
    const likes = values.map(wildcardToLike);
    if (name.startsWith('tag:')) q.where('key', name.slice(4)).whereRaw('value like any(?::text[])', [likes]);
    else q.whereRaw(`${COLUMNS[name]} like any(?::text[])`, [likes]);
  }
  const after = decodeToken(input.NextToken);
  if (after) {
    const [rid, key] = after.split('\u0000');
    q.whereRaw('(resource_id, key) > (?, ?)', [rid, key ?? '']);
  }
  const max = checkMaxResults(input.MaxResults, 5, 1000);
  if (max) q.limit(max + 1);
  const rows: { resource_id: string; resource_type: string; key: string; value: string }[] = await q;
  const more = max !== undefined && rows.length > max;
  if (more) rows.length = max!;
  return {
    Tags: rows.map((r) => ({ ResourceId: r.resource_id, ResourceType: r.resource_type, Key: r.key, Value: r.value })),
    NextToken: more ? encodeToken(`${rows[rows.length - 1].resource_id}\u0000${rows[rows.length - 1].key}`) : undefined,
  };
});
