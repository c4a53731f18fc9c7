/** The registry of SNS actions, keyed by name (one module per family). */
import type { Action } from '../action';
import { createTopic, deleteTopic, getTopicAttributes, listTopics, setTopicAttributes } from './topics';
import {
  confirmSubscription,
  getSubscriptionAttributes,
  listSubscriptions,
  listSubscriptionsByTopic,
  setSubscriptionAttributes,
  subscribe,
  unsubscribe,
} from './subscriptions';
import { publish } from './publish';
import { listTagsForResource, tagResource, untagResource } from './tags';

const ALL: Action[] = [
  createTopic,
  deleteTopic,
  listTopics,
  getTopicAttributes,
  setTopicAttributes,
  subscribe,
  confirmSubscription,
  unsubscribe,
  listSubscriptions,
  listSubscriptionsByTopic,
  getSubscriptionAttributes,
  setSubscriptionAttributes,
  publish,
  listTagsForResource,
  tagResource,
  untagResource,
];

export function snsActionRegistry(): Map<string, Action> {
  return new Map(ALL.map((a) => [a.name, a]));
}
