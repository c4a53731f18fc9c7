/** TagResource, UntagResource, ListTagsForResource: on schedule groups (AWS tags no schedule). */
import { defineSchedulerAction } from '../action';
import { errors } from '../../domain/errors';
import type { TagList } from '../../protocol/model/scheduler-shapes';

/** A tag list as a map; a key given twice is refused, as AWS does. */
export function tagMap(tags: TagList | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { Key, Value } of tags ?? []) {
    if (Key.startsWith('aws:')) throw errors.validationException(`The tag key ${Key} is reserved: keys starting with aws: are AWS's.`);
    if (Key in map) throw errors.validationException(`The tag key ${Key} is given twice.`);
    map[Key] = Value;
  }
  return map;
}

export const tagResource = defineSchedulerAction('TagResource', async (input, { caller, services }) => {
  await services.schedules.tag(caller.accountId, input.ResourceArn, tagMap(input.Tags));
  return {};
});

export const untagResource = defineSchedulerAction('UntagResource', async (input, { caller, services }) => {
  await services.schedules.untag(caller.accountId, input.ResourceArn, input.TagKeys);
  return {};
});

export const listTagsForResource = defineSchedulerAction('ListTagsForResource', async (input, { caller, services }) => {
  const tags = await services.schedules.tagsOf(caller.accountId, input.ResourceArn);
  return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
});
