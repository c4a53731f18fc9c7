/** Publish to a topic (queued for delivery; the answer never waits for an endpoint). */
import { defineSnsAction } from '../action';
import { errors } from '../../domain/errors';

export const publish = defineSnsAction('Publish', async (input, { caller, services }) => {
  if (input.PhoneNumber) throw errors.invalidParameter('Invalid parameter: PhoneNumber: SMS is not supported here.');
  if (input.MessageGroupId || input.MessageDeduplicationId) throw errors.invalidParameter('Invalid parameter: FIFO topics are not supported here.');
  if (input.TopicArn && input.TargetArn && input.TopicArn !== input.TargetArn)
    throw errors.invalidParameter('Invalid parameter: TopicArn or TargetArn Reason: Only one of them may be given.');
  const topicArn = input.TopicArn ?? input.TargetArn;
  if (!topicArn) throw errors.invalidParameter('Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
  let perProtocol: Record<string, string> | undefined;
  if (input.MessageStructure !== undefined) {
    if (input.MessageStructure !== 'json') throw errors.invalidParameter('Invalid parameter: MessageStructure: the only value is json.');
    try {
      perProtocol = JSON.parse(input.Message);
    } catch {
      throw errors.invalidParameter('Invalid parameter: Message Structure - JSON message body failed to parse');
    }
    if (typeof perProtocol !== 'object' || perProtocol === null || typeof perProtocol.default !== 'string')
      throw errors.invalidParameter('Invalid parameter: Message Structure - No default entry in JSON message body');
  }
  const messageId = await services.topics.publish(caller.accountId, topicArn, perProtocol?.default ?? input.Message, input.Subject, perProtocol);
  return { MessageId: messageId };
});
