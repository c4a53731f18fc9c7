/** CreateTopic, DeleteTopic, ListTopics, GetTopicAttributes, SetTopicAttributes. */
import { defineSnsAction } from '../action';
import { errors } from '../../domain/errors';
import { validateTags } from '../../domain/tags';

export const createTopic = defineSnsAction('CreateTopic', async (input, { caller, services }) => {
  if (input.DataProtectionPolicy) throw errors.invalidParameter('Invalid parameter: DataProtectionPolicy is not supported here.');
  const tags = validateTags(input.Tags ?? [], 'Tags');
  const arn = await services.topics.createTopic(caller.accountId, input.Name, input.Attributes ?? {}, Object.fromEntries(tags.map((t) => [t.key, t.value])));
  return { TopicArn: arn };
});

export const deleteTopic = defineSnsAction('DeleteTopic', async (input, { caller, services }) => {
  await services.topics.deleteTopic(caller.accountId, input.TopicArn);
});

export const listTopics = defineSnsAction('ListTopics', async (input, { caller, services }) => {
  const { arns, nextToken } = await services.topics.listTopics(caller.accountId, input.NextToken);
  return { Topics: arns.map((TopicArn) => ({ TopicArn })), NextToken: nextToken };
});

export const getTopicAttributes = defineSnsAction('GetTopicAttributes', async (input, { caller, services }) => {
  return { Attributes: await services.topics.topicAttributes(caller.accountId, input.TopicArn) };
});

export const setTopicAttributes = defineSnsAction('SetTopicAttributes', async (input, { caller, services }) => {
  await services.topics.setTopicAttribute(caller.accountId, input.TopicArn, input.AttributeName, input.AttributeValue);
});
