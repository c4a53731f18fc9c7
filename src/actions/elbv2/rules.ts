/** Listener rules of application load balancers: path-pattern and host-header conditions, by priority. */
import { defineElbAction } from '../action';
import { errors } from '../../domain/errors';
import type { LbAction, LbCondition } from '../../domain/load-balancers';
import { page, ruleView, tagRows } from './views';

export const createRule = defineElbAction('CreateRule', async (input, { caller, services }) => {
  if (input.Transforms?.length) throw errors.validationError('Rule transforms are not supported here.');
  const lbs = services.loadBalancers;
  const rule = await lbs.createRule(caller.accountId, {
    listenerArn: input.ListenerArn,
    priority: input.Priority,
    conditions: input.Conditions as LbCondition[],
    actions: input.Actions as LbAction[],
    tags: tagRows(input.Tags),
  });
  const { listener, lb } = await lbs.listener(caller.accountId, input.ListenerArn);
  return { Rules: [ruleView(rule, listener, lb, services)] };
});

export const describeRules = defineElbAction('DescribeRules', async (input, { caller, services }) => {
  if (!input.ListenerArn && !input.RuleArns?.length) throw errors.validationError('A listener ARN or rule ARNs must be specified');
  const rows = await services.loadBalancers.rules(caller.accountId, { listenerArn: input.ListenerArn, arns: input.RuleArns });
  const { items, next } = page(rows, input.Marker, input.PageSize);
  return { Rules: items.map((r) => ruleView(r.rule, r.listener, r.lb, services)), NextMarker: next };
});

export const modifyRule = defineElbAction('ModifyRule', async (input, { caller, services }) => {
  await services.loadBalancers.modifyRule(caller.accountId, input.RuleArn, {
    conditions: input.Conditions as LbCondition[] | undefined,
    actions: input.Actions as LbAction[] | undefined,
  });
  const [r] = await services.loadBalancers.rules(caller.accountId, { arns: [input.RuleArn] });
  return { Rules: [ruleView(r.rule, r.listener, r.lb, services)] };
});

export const deleteRule = defineElbAction('DeleteRule', async (input, { caller, services }) => {
  await services.loadBalancers.deleteRule(caller.accountId, input.RuleArn);
  return {};
});
