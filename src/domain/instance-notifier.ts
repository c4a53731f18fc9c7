/**
 * Notifications of an instance's resizes to its owner: an instance tagged `oarcloud:notify` with the ARN of one of
 * its account's SNS topics has every resize (by hand, by an alarm's rule, by a schedule, live or while stopped)
 * published there, as JSON, to whatever the topic's subscriptions reach (e-mail, HTTP). EC2 would route such events
 * through EventBridge rules; a tag is what the aws CLI, boto3 and Terraform can already set.
 */
import type { Logger } from '../log';
import type { RecordedEvent } from './events';
import type { Tags } from './tags';
import type { Topics } from './topics';

export const NOTIFY_TAG = 'oarcloud:notify';

export class InstanceNotifier {
  constructor(
    private readonly tags: Tags,
    private readonly topics: Topics,
    private readonly log: Logger,
  ) {}

  async heard(event: RecordedEvent): Promise<void> {
    const instanceId = event.resourceId;
    if (event.kind !== 'resize' || !event.accountId || !instanceId?.startsWith('i-')) return;
    const topicArn = (await this.tags.load([instanceId])).get(instanceId)?.find((t) => t.Key === NOTIFY_TAG)?.Value;
    if (!topicArn) return;
    const message = JSON.stringify({ event: 'resize', instanceId, at: event.at.toISOString(), message: event.message });
    try {
      await this.topics.publish(event.accountId, topicArn, message, `OAR Cloud: ${instanceId} resized`);
    } catch (err) {
      this.log.warn({ instance: instanceId, topic: topicArn, err: String(err) }, 'resize not notified: the oarcloud:notify tag names no topic of the account');
    }
  }
}
