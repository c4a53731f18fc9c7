/** TagResource, UntagResource, ListTagsForResource on alarms (`arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`). */
import { defineCloudWatchAction } from '../action';
import { errors } from '../../domain/errors';
import { validateTags } from '../../domain/tags';

/** The caller's alarm an ARN names; any other ARN names nothing the caller has. */
function alarmName(accountId: string, arn: string): string {
  const m = /^arn:aws:cloudwatch:[a-z0-9-]+:(\d{12}):alarm:(.+)$/.exec(arn);
  if (!m || m[1] !== accountId) throw errors.cloudwatchResourceNotFound(`The resource ${arn.slice(0, 300)} does not exist.`);
  return m[2];
}

export const listTagsForResource = defineCloudWatchAction('ListTagsForResource', async (input, { caller, services }) => {
  const tags = await services.alarms.tags(caller.accountId, alarmName(caller.accountId, input.ResourceARN));
  return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
});

export const tagResource = defineCloudWatchAction('TagResource', async (input, { caller, services }) => {
  const tags = validateTags(input.Tags, 'Tags');
  await services.alarms.tag(caller.accountId, alarmName(caller.accountId, input.ResourceARN), Object.fromEntries(tags.map((t) => [t.key, t.value])));
  return {};
});

export const untagResource = defineCloudWatchAction('UntagResource', async (input, { caller, services }) => {
  await services.alarms.untag(caller.accountId, alarmName(caller.accountId, input.ResourceARN), input.TagKeys);
  return {};
});
