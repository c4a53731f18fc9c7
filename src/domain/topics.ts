/**
 * SNS: each account's topics, their subscriptions (email, email-json, http, https) and what is published to them.
 * Publishing only queues deliveries (sns_deliveries): the leader's DeliveryWorker (deliveries.ts) sends them, so a
 * slow or failing endpoint never holds up the API. A subscription is confirmed by the token sent to its endpoint
 * (the SubscribeURL link), as on AWS; until then it gets nothing but the confirmation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { errors } from './errors';
import { envLimit } from './quotas';
import { decodeToken, encodeToken } from './pagination';

export const PROTOCOLS = ['email', 'email-json', 'http', 'https'] as const;
export type SnsProtocol = (typeof PROTOCOLS)[number];
export const MAX_TOPICS = envLimit(process.env, 'OARCLOUD_MAX_TOPICS', 1000);
export const MAX_SUBSCRIPTIONS = envLimit(process.env, 'OARCLOUD_MAX_SUBSCRIPTIONS', 10_000);
/** A confirmation link is good for three days, as AWS's. */
const TOKEN_LIFETIME_MS = 3 * 86400_000;
const MAX_MESSAGE_BYTES = 256 * 1024;

/** Topic attributes a client may set: what Terraform's aws_sns_topic writes (feedback settings are kept, not acted on). */
const SETTABLE_TOPIC_ATTRIBUTES = new Set([
  'DisplayName',
  'Policy',
  'DeliveryPolicy',
  'SignatureVersion',
  'TracingConfig',
  'KmsMasterKeyId',
  'ArchivePolicy',
  ...['Application', 'Firehose', 'HTTP', 'Lambda', 'SQS'].flatMap((p) => [
    `${p}SuccessFeedbackRoleArn`,
    `${p}SuccessFeedbackSampleRate`,
    `${p}FailureFeedbackRoleArn`,
  ]),
]);
const SETTABLE_SUBSCRIPTION_ATTRIBUTES = new Set(['RawMessageDelivery', 'DeliveryPolicy']);

export interface TopicRef {
  accountId: string;
  name: string;
}
export interface SubscriptionRow {
  id: string;
  account_id: string;
  topic_name: string;
  owner_id: string;
  protocol: SnsProtocol;
  endpoint: string;
  token: string | null;
  confirmed: boolean;
  attributes: Record<string, string>;
  created_at: Date;
}
export interface QueuedMessage {
  Type: 'Notification' | 'SubscriptionConfirmation';
  MessageId: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  Token?: string;
  SubscribeURL?: string;
}

export class Topics {
  /** Told when deliveries were queued (the delivery worker of this process sends them at once). */
  private onQueued: () => void = () => undefined;

  constructor(
    private readonly db: Knex,
    private readonly region: string,
    /** The API's address as clients reach it: confirmation links point there. */
    private readonly endpoint: string,
  ) {}

  whenQueued(listener: () => void): void {
    this.onQueued = listener;
  }

  topicArn(t: TopicRef): string {
    return `arn:aws:sns:${this.region}:${t.accountId}:${t.name}`;
  }
  subscriptionArn(s: Pick<SubscriptionRow, 'account_id' | 'topic_name' | 'id'>): string {
    return `${this.topicArn({ accountId: s.account_id, name: s.topic_name })}:${s.id}`;
  }

  /** The topic an ARN names, which must be the caller's (another account's topics do not exist for it). */
  parseTopicArn(accountId: string, arn: string, parameter = 'TopicArn'): TopicRef {
    const m = /^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$/.exec(arn);
    if (!m) throw errors.invalidParameter(`Invalid parameter: ${parameter}`);
    if (m[1] !== this.region || (accountId !== '' && m[2] !== accountId)) throw errors.snsNotFound('Topic does not exist');
    return { accountId: m[2], name: m[3] };
  }

  private parseSubscriptionArn(arn: string): { topic: TopicRef; id: string } {
    const m = /^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}):([0-9a-f-]{36})$/.exec(arn);
    if (!m) throw errors.invalidParameter('Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1');
    return { topic: { accountId: m[2], name: m[3] }, id: m[4] };
  }

  async createTopic(accountId: string, name: string, attributes: Record<string, string>, tags: Record<string, string>): Promise<string> {
    if (name.endsWith('.fifo') || attributes.FifoTopic === 'true') throw errors.invalidParameter('Invalid parameter: FIFO topics are not supported.');
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(name))
      throw errors.invalidParameter('Invalid parameter: Topic Name: it must be 1 to 256 ASCII letters, digits, hyphens or underscores.');
    for (const key of Object.keys(attributes)) this.checkTopicAttribute(key);
    await this.db.transaction(async (trx) => {
      const existing = await trx('sns_topics').where({ account_id: accountId, name }).forUpdate().first('tags');
      if (existing) {
        const same = Object.entries(tags).every(([k, v]) => existing.tags[k] === v);
        if (!same) throw errors.invalidParameter('Invalid parameter: Tags Reason: Topic already exists with different tags');
        return;
      }
      const [{ n }] = await trx('sns_topics').where({ account_id: accountId }).count({ n: '*' });
      if (Number(n) >= MAX_TOPICS) throw errors.topicLimitExceeded('Topic limit exceeded');
      await trx('sns_topics').insert({ account_id: accountId, name, attributes: JSON.stringify(attributes), tags: JSON.stringify(tags) });
    });
    return this.topicArn({ accountId, name });
  }

  private checkTopicAttribute(name: string): void {
    if (name === 'FifoTopic' || name === 'ContentBasedDeduplication')
      throw errors.invalidParameter(`Invalid parameter: ${name}: FIFO topics are not supported.`);
    if (!SETTABLE_TOPIC_ATTRIBUTES.has(name)) throw errors.invalidParameter(`Invalid parameter: AttributeName: ${name.slice(0, 100)}`);
  }

  /** Deleting a topic that does not exist succeeds, as on AWS; its subscriptions and queued deliveries go with it. */
  async deleteTopic(accountId: string, arn: string): Promise<void> {
    const t = this.parseTopicArn(accountId, arn);
    await this.db('sns_topics').where({ account_id: t.accountId, name: t.name }).delete();
  }

  async listTopics(accountId: string, nextToken?: string): Promise<{ arns: string[]; nextToken?: string }> {
    const q = this.db('sns_topics').where('account_id', accountId).orderBy('name').limit(101);
    const after = decodeToken(nextToken);
    if (after !== undefined) q.where('name', '>', after);
    const names: string[] = await q.pluck('name');
    const page = names.slice(0, 100);
    return { arns: page.map((name) => this.topicArn({ accountId, name })), nextToken: names.length > 100 ? encodeToken(page[99]) : undefined };
  }

  private async topic(t: TopicRef, trx: Knex | Knex.Transaction = this.db): Promise<{ attributes: Record<string, string>; tags: Record<string, string> }> {
    const row = await trx('sns_topics').where({ account_id: t.accountId, name: t.name }).first('attributes', 'tags');
    if (!row) throw errors.snsNotFound('Topic does not exist');
    return row;
  }

  async topicAttributes(accountId: string, arn: string): Promise<Record<string, string>> {
    const t = this.parseTopicArn(accountId, arn);
    const { attributes } = await this.topic(t);
    const counts = await this.db('sns_subscriptions')
      .where({ account_id: t.accountId, topic_name: t.name })
      .select(this.db.raw('count(*) filter (where confirmed) as confirmed'), this.db.raw('count(*) filter (where not confirmed) as pending'))
      .first();
    const topicArn = this.topicArn(t);
    return {
      Policy: JSON.stringify(defaultPolicy(topicArn, t.accountId)),
      DisplayName: '',
      EffectiveDeliveryPolicy: JSON.stringify(DEFAULT_DELIVERY_POLICY),
      SignatureVersion: '2',
      ...attributes,
      TopicArn: topicArn,
      Owner: t.accountId,
      SubscriptionsConfirmed: String(counts.confirmed),
      SubscriptionsPending: String(counts.pending),
      SubscriptionsDeleted: '0',
    };
  }

  async setTopicAttribute(accountId: string, arn: string, name: string, value: string | undefined): Promise<void> {
    const t = this.parseTopicArn(accountId, arn);
    this.checkTopicAttribute(name);
    if (name === 'SignatureVersion' && value !== undefined && value !== '2')
      throw errors.invalidParameter('Invalid parameter: SignatureVersion: only 2 (SHA256withRSA) is supported.');
    if ((name === 'Policy' || name === 'DeliveryPolicy') && value) {
      try {
        JSON.parse(value);
      } catch {
        throw errors.invalidParameter(`Invalid parameter: ${name}: it must be a JSON document.`);
      }
    }
    const n = await this.db('sns_topics')
      .where({ account_id: t.accountId, name: t.name })
      .update({
        attributes:
          value === undefined || value === ''
            ? this.db.raw('attributes - ?::text', [name])
            : this.db.raw('attributes || ?::jsonb', [JSON.stringify({ [name]: value })]),
      });
    if (!n) throw errors.snsNotFound('Topic does not exist');
  }

  /**
   * Subscribes an endpoint; it is pending until confirmed through the token sent to it. The same endpoint subscribed
   * twice is the same subscription. Returns the subscription, and whether it is still pending.
   */
  async subscribe(
    callerId: string,
    topicArn: string,
    protocol: string,
    endpoint: string | undefined,
    attributes: Record<string, string>,
    opts: { confirmed?: boolean } = {},
  ): Promise<{ arn: string; pending: boolean }> {
    const t = this.parseTopicArn(callerId, topicArn);
    if (!(PROTOCOLS as readonly string[]).includes(protocol))
      throw errors.invalidParameter(`Invalid parameter: Protocol: ${protocol.slice(0, 50)} is not supported here; use ${PROTOCOLS.join(', ')}.`);
    if (!endpoint) throw errors.invalidParameter('Invalid parameter: Endpoint');
    checkEndpoint(protocol as SnsProtocol, endpoint);
    for (const key of Object.keys(attributes)) this.checkSubscriptionAttribute(key);
    const created = await this.db.transaction(async (trx) => {
      await this.topic(t, trx);
      const same = await trx('sns_subscriptions').where({ account_id: t.accountId, topic_name: t.name, protocol, endpoint }).first('*');
      if (same) return { row: same as SubscriptionRow, fresh: false };
      const [{ n }] = await trx('sns_subscriptions').where({ account_id: t.accountId, topic_name: t.name }).count({ n: '*' });
      if (Number(n) >= MAX_SUBSCRIPTIONS) throw errors.subscriptionLimitExceeded('Subscription limit exceeded');
      const row = {
        id: randomUUID(),
        account_id: t.accountId,
        topic_name: t.name,
        owner_id: callerId,
        protocol,
        endpoint,
        token: randomBytes(64).toString('hex'),
        confirmed: opts.confirmed ?? false,
        attributes: JSON.stringify(attributes),
      };
      await trx('sns_subscriptions').insert(row);
      if (!row.confirmed) await trx('sns_deliveries').insert(this.confirmationDelivery(row.id, t, row.token));
      return { row: { ...row, attributes } as unknown as SubscriptionRow, fresh: true };
    });
    if (created.fresh && !created.row.confirmed) this.onQueued();
    return { arn: this.subscriptionArn(created.row), pending: !created.row.confirmed };
  }

  private confirmationDelivery(subscriptionId: string, t: TopicRef, token: string) {
    const topicArn = this.topicArn(t);
    const messageId = randomUUID();
    const message: QueuedMessage = {
      Type: 'SubscriptionConfirmation',
      MessageId: messageId,
      Token: token,
      TopicArn: topicArn,
      Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: `${this.endpoint}/?Action=ConfirmSubscription&Version=2010-03-31&TopicArn=${encodeURIComponent(topicArn)}&Token=${token}`,
      Timestamp: new Date().toISOString(),
    };
    return { subscription_id: subscriptionId, kind: 'SubscriptionConfirmation', message_id: messageId, message: JSON.stringify(message) };
  }

  /** ConfirmSubscription, signed or not (the token is the proof); confirming twice is fine. */
  async confirm(callerId: string, topicArn: string, token: string): Promise<string> {
    const t = this.parseTopicArn(callerId, topicArn);
    const row: SubscriptionRow | undefined = await this.db('sns_subscriptions').where({ account_id: t.accountId, topic_name: t.name, token }).first('*');
    if (!row) throw errors.invalidParameter('Invalid token');
    if (Date.now() - row.created_at.getTime() > TOKEN_LIFETIME_MS) throw errors.invalidParameter('Invalid token: it has expired');
    await this.db('sns_subscriptions').where({ id: row.id }).update({ confirmed: true });
    return this.subscriptionArn(row);
  }

  /** Removes a subscription (its owner's or its topic owner's call); an unknown one is already gone. */
  async unsubscribe(callerId: string, arn: string): Promise<void> {
    const { topic, id } = this.parseSubscriptionArn(arn);
    await this.db('sns_subscriptions')
      .where({ id, account_id: topic.accountId, topic_name: topic.name })
      .andWhere((q) => q.where('account_id', callerId).orWhere('owner_id', callerId))
      .delete();
  }

  /** The topic's subscriptions, for its owner's overview (the admin topic). */
  async endpoints(accountId: string, topicArn: string): Promise<{ protocol: string; endpoint: string; confirmed: boolean }[]> {
    const t = this.parseTopicArn(accountId, topicArn);
    return this.db('sns_subscriptions')
      .where({ account_id: t.accountId, topic_name: t.name })
      .orderBy('created_at')
      .select('protocol', 'endpoint', 'confirmed');
  }

  /** Removes every subscription of the topic to that endpoint; whether there was one. */
  async removeEndpoint(accountId: string, topicArn: string, endpoint: string): Promise<boolean> {
    const t = this.parseTopicArn(accountId, topicArn);
    return (await this.db('sns_subscriptions').where({ account_id: t.accountId, topic_name: t.name, endpoint }).delete()) > 0;
  }

  /** Unsubscribes by the link in an e-mail (its signature checked by the caller). */
  async unsubscribeById(id: string): Promise<boolean> {
    return (await this.db('sns_subscriptions').where({ id }).delete()) > 0;
  }

  private async ownedSubscription(callerId: string, arn: string): Promise<SubscriptionRow> {
    const { topic, id } = this.parseSubscriptionArn(arn);
    const row = await this.db('sns_subscriptions')
      .where({ id, account_id: topic.accountId, topic_name: topic.name })
      .andWhere((q) => q.where('account_id', callerId).orWhere('owner_id', callerId))
      .first('*');
    if (!row) throw errors.snsNotFound('Subscription does not exist');
    return row;
  }

  async subscriptionAttributes(callerId: string, arn: string): Promise<Record<string, string>> {
    const s = await this.ownedSubscription(callerId, arn);
    return {
      RawMessageDelivery: 'false',
      ...s.attributes,
      SubscriptionArn: this.subscriptionArn(s),
      TopicArn: this.topicArn({ accountId: s.account_id, name: s.topic_name }),
      Owner: s.owner_id,
      Protocol: s.protocol,
      Endpoint: s.endpoint,
      PendingConfirmation: String(!s.confirmed),
      ConfirmationWasAuthenticated: String(s.confirmed),
      SubscriptionPrincipal: `arn:aws:iam::${s.owner_id}:root`,
      EffectiveDeliveryPolicy: JSON.stringify(DEFAULT_DELIVERY_POLICY),
    };
  }

  private checkSubscriptionAttribute(name: string): void {
    if (!SETTABLE_SUBSCRIPTION_ATTRIBUTES.has(name))
      throw errors.invalidParameter(
        `Invalid parameter: AttributeName: ${name.slice(0, 100)} is not supported here (${[...SETTABLE_SUBSCRIPTION_ATTRIBUTES].join(', ')} are).`,
      );
  }

  async setSubscriptionAttribute(callerId: string, arn: string, name: string, value: string | undefined): Promise<void> {
    const s = await this.ownedSubscription(callerId, arn);
    this.checkSubscriptionAttribute(name);
    if (name === 'RawMessageDelivery' && value !== undefined && !['true', 'false'].includes(value))
      throw errors.invalidParameter('Invalid parameter: RawMessageDelivery: it must be true or false.');
    await this.db('sns_subscriptions')
      .where({ id: s.id })
      .update({ attributes: this.db.raw('attributes || ?::jsonb', [JSON.stringify({ [name]: value ?? '' })]) });
  }

  async listSubscriptions(callerId: string, topicArn: string | undefined, nextToken?: string) {
    const q = this.db('sns_subscriptions').orderBy('id').limit(101);
    if (topicArn) {
      const t = this.parseTopicArn(callerId, topicArn);
      await this.topic(t);
      q.where({ account_id: t.accountId, topic_name: t.name });
    } else q.where((w) => w.where('account_id', callerId).orWhere('owner_id', callerId));
    const after = decodeToken(nextToken);
    if (after !== undefined) q.where('id', '>', after);
    const rows: SubscriptionRow[] = await q.select('*');
    const page = rows.slice(0, 100);
    return {
      subscriptions: page.map((s) => ({
        SubscriptionArn: s.confirmed ? this.subscriptionArn(s) : 'PendingConfirmation',
        Owner: s.owner_id,
        Protocol: s.protocol,
        Endpoint: s.endpoint,
        TopicArn: this.topicArn({ accountId: s.account_id, name: s.topic_name }),
      })),
      nextToken: rows.length > 100 ? encodeToken(page[99].id) : undefined,
    };
  }

  /**
   * Queues a message for every confirmed subscription of the topic. `perProtocol`: MessageStructure=json's message
   * per protocol, with its `default`.
   */
  async publish(accountId: string, topicArn: string, message: string, subject?: string, perProtocol?: Record<string, string>): Promise<string> {
    const t = this.parseTopicArn(accountId, topicArn, 'TopicArn or TargetArn');
    if (!message) throw errors.invalidParameter('Invalid parameter: Empty message');
    if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) throw errors.invalidParameter('Invalid parameter: Message too long');
    if (subject !== undefined && (subject.length === 0 || subject.length > 100 || !/^[\x20-\x7e]*$/.test(subject)))
      throw errors.invalidParameter('Invalid parameter: Subject: it must be 1 to 100 printable ASCII characters, without line breaks.');
    const messageId = randomUUID();
    await this.db.transaction(async (trx) => {
      await this.topic(t, trx);
      const subscriptions: SubscriptionRow[] = await trx('sns_subscriptions')
        .where({ account_id: t.accountId, topic_name: t.name, confirmed: true })
        .select('*');
      const timestamp = new Date().toISOString();
      const rows = subscriptions.map((s) => {
        const queued: QueuedMessage = {
          Type: 'Notification',
          MessageId: messageId,
          TopicArn: this.topicArn(t),
          ...(subject !== undefined ? { Subject: subject } : {}),
          Message: perProtocol ? (perProtocol[s.protocol] ?? perProtocol.default) : message,
          Timestamp: timestamp,
        };
        return { subscription_id: s.id, kind: 'Notification', message_id: messageId, message: JSON.stringify(queued) };
      });
      for (let i = 0; i < rows.length; i += 1000) await trx('sns_deliveries').insert(rows.slice(i, i + 1000));
    });
    this.onQueued();
    return messageId;
  }

  async tags(accountId: string, arn: string): Promise<Record<string, string>> {
    const t = this.parseTopicArnAsResource(accountId, arn);
    const row = await this.db('sns_topics').where({ account_id: t.accountId, name: t.name }).first('tags');
    if (!row) throw errors.snsResourceNotFound('Resource does not exist');
    return row.tags;
  }

  async tag(accountId: string, arn: string, tags: Record<string, string>): Promise<void> {
    const t = this.parseTopicArnAsResource(accountId, arn);
    await this.db.transaction(async (trx) => {
      const row = await trx('sns_topics').where({ account_id: t.accountId, name: t.name }).forUpdate().first('tags');
      if (!row) throw errors.snsResourceNotFound('Resource does not exist');
      if (Object.keys({ ...row.tags, ...tags }).length > 50) throw errors.tagLimitExceeded('Could not complete request: tag quota of per resource exceeded');
      await trx('sns_topics')
        .where({ account_id: t.accountId, name: t.name })
        .update({ tags: JSON.stringify({ ...row.tags, ...tags }) });
    });
  }

  async untag(accountId: string, arn: string, keys: string[]): Promise<void> {
    const t = this.parseTopicArnAsResource(accountId, arn);
    const n = await this.db('sns_topics')
      .where({ account_id: t.accountId, name: t.name })
      .update({ tags: this.db.raw('tags - ?::text[]', [keys]) });
    if (!n) throw errors.snsResourceNotFound('Resource does not exist');
  }

  private parseTopicArnAsResource(accountId: string, arn: string): TopicRef {
    try {
      return this.parseTopicArn(accountId, arn, 'ResourceArn');
    } catch {
      throw errors.snsResourceNotFound('Resource does not exist');
    }
  }
}

export const DEFAULT_DELIVERY_POLICY = {
  http: {
    defaultHealthyRetryPolicy: {
      minDelayTarget: 1,
      maxDelayTarget: 60,
      numRetries: 10,
      numMaxDelayRetries: 0,
      numNoDelayRetries: 0,
      numMinDelayRetries: 0,
      backoffFunction: 'exponential',
    },
    disableSubscriptionOverrides: false,
  },
};

function defaultPolicy(topicArn: string, accountId: string) {
  return {
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: topicArn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  };
}

function checkEndpoint(protocol: SnsProtocol, endpoint: string): void {
  if (protocol === 'email' || protocol === 'email-json') {
    if (!/^[^\s@<>(),;:"]+@[A-Za-z0-9.-]+$/.test(endpoint) || endpoint.length > 254) throw errors.invalidParameter('Invalid parameter: Email address');
    return;
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw errors.invalidParameter('Invalid parameter: Endpoint must be a URL');
  }
  if (url.protocol !== `${protocol}:`) throw errors.invalidParameter(`Invalid parameter: Endpoint must match the specified protocol (${protocol})`);
}
