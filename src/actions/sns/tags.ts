/** TagResource, UntagResource, ListTagsForResource on topics. */
import { defineSnsAction } from '../action';
import { validateTags } from '../../domain/tags';

export const listTagsForResource = defineSnsAction('ListTagsForResource', async (input, { caller, services }) => {
  const tags = await services.topics.tags(caller.accountId, input.ResourceArn);
  return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
});

export const tagResource = defineSnsAction('TagResource', async (input, { caller, services }) => {
  const tags = validateTags(input.Tags, 'Tags');
  await services.topics.tag(caller.accountId, input.ResourceArn, Object.fromEntries(tags.map((t) => [t.key, t.value])));
  return {};
});

export const untagResource = defineSnsAction('UntagResource', async (input, { caller, services }) => {
  await services.topics.untag(caller.accountId, input.ResourceArn, input.TagKeys);
  return {};
});
