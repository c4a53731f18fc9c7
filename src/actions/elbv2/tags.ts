/** AddTags, RemoveTags, DescribeTags by ARN (load balancers, target groups, listeners, rules); DescribeAccountLimits. */
import { defineElbAction } from '../action';
import { validateTags } from '../../domain/tags';
import { tagRows } from './views';

export const addTags = defineElbAction('AddTags', async (input, { caller, services }) => {
  validateTags(input.Tags, 'Tags');
  await services.loadBalancers.addTags(caller.accountId, input.ResourceArns, tagRows(input.Tags));
  return {};
});

export const removeTags = defineElbAction('RemoveTags', async (input, { caller, services }) => {
  await services.loadBalancers.removeTags(caller.accountId, input.ResourceArns, input.TagKeys);
  return {};
});

export const describeTags = defineElbAction('DescribeTags', async (input, { caller, services }) => {
  const described = await services.loadBalancers.tagsOf(caller.accountId, input.ResourceArns);
  return { TagDescriptions: described.map((d) => ({ ResourceArn: d.arn, Tags: d.tags })) };
});

export const describeAccountLimits = defineElbAction('DescribeAccountLimits', async (_input, { services }) => {
  return { Limits: services.loadBalancers.limitsView().map((l) => ({ Name: l.name, Max: String(l.max) })) };
});
