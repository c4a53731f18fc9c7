/** Subscribe, ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic), Get/SetSubscriptionAttributes. */
import { defineSnsAction } from '../action';

export const subscribe = defineSnsAction('Subscribe', async (input, { caller, services }) => {
  const { arn, pending } = await services.topics.subscribe(caller.accountId, input.TopicArn, input.Protocol, input.Endpoint, input.Attributes ?? {});
  // AWS answers a placeholder for an unconfirmed subscription unless the ARN is asked for
  return { SubscriptionArn: pending && !input.ReturnSubscriptionArn ? 'pending confirmation' : arn };
});

export const confirmSubscription = defineSnsAction('ConfirmSubscription', async (input, { caller, services }) => {
  return { SubscriptionArn: await services.topics.confirm(caller.accountId, input.TopicArn, input.Token) };
});

export const unsubscribe = defineSnsAction('Unsubscribe', async (input, { caller, services }) => {
  await services.topics.unsubscribe(caller.accountId, input.SubscriptionArn);
});

export const listSubscriptions = defineSnsAction('ListSubscriptions', async (input, { caller, services }) => {
  const { subscriptions, nextToken } = await services.topics.listSubscriptions(caller.accountId, undefined, input.NextToken);
  return { Subscriptions: subscriptions, NextToken: nextToken };
});

export const listSubscriptionsByTopic = defineSnsAction('ListSubscriptionsByTopic', async (input, { caller, services }) => {
  const { subscriptions, nextToken } = await services.topics.listSubscriptions(caller.accountId, input.TopicArn, input.NextToken);
  return { Subscriptions: subscriptions, NextToken: nextToken };
});

export const getSubscriptionAttributes = defineSnsAction('GetSubscriptionAttributes', async (input, { caller, services }) => {
  return { Attributes: await services.topics.subscriptionAttributes(caller.accountId, input.SubscriptionArn) };
});

export const setSubscriptionAttributes = defineSnsAction('SetSubscriptionAttributes', async (input, { caller, services }) => {
  await services.topics.setSubscriptionAttribute(caller.accountId, input.SubscriptionArn, input.AttributeName, input.AttributeValue);
});
