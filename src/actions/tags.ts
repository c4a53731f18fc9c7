/** CreateTags, DeleteTags and DescribeTags over every resource the caller owns. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { checkFilters } from '../domain/filters';
import { checkMaxResults, decodeToken, takePage } from '../domain/pagination';
import { TAG_FILTERS, validateTags } from '../domain/tags';

export const createTags = defineAction('CreateTags', async (input, { caller, services }) => {
  if (!input.Resources?.length) throw errors.missingParameter('ResourceId.1');
  if (!input.Tags?.length) throw errors.missingParameter('Tag.1.Key');
  const tags = validateTags(input.Tags);
  await services.vpcs.ensureDefaults(caller.accountId);
  const types = await services.tags.resolveTaggable(caller.accountId, input.Resources);
  await services.tags.tag(caller.accountId, types, tags);
});

export const deleteTags = defineAction('DeleteTags', async (input, { caller, services }) => {
  if (!input.Resources?.length) throw errors.missingParameter('ResourceId.1');
  await services.vpcs.ensureDefaults(caller.accountId);
  const types = await services.tags.resolveTaggable(caller.accountId, input.Resources);
  await services.tags.untag(caller.accountId, [...types.keys()], input.Tags);
});

export const describeTags = defineAction('DescribeTags', async (input, { caller, services }) => {
  const filters = checkFilters(input.Filters, TAG_FILTERS, true);
  const max = checkMaxResults(input.MaxResults, 5, 1000);
  const { rows } = await services.tags.describe(caller.accountId, filters, { after: decodeToken(input.NextToken), max });
  const { page, nextToken } = takePage(rows, max, (r) => `${r.resource_id}\u0000${r.key}`);
  return {
    Tags: page.map((r) => ({ ResourceId: r.resource_id, ResourceType: r.resource_type, Key: r.key, Value: r.value })),
    NextToken: nextToken,
  };
});
