/**
 * Sends what SNS queued (sns_deliveries), from the leader: each due delivery is leased (so another server's worker
 * skips it), signed as AWS signs (SignatureVersion 2: SHA256withRSA over the canonical fields, SigningCertURL
 * pointing at the certificate we serve), and sent over HTTP(S) or SMTP. Failures are retried with exponential
 * back-off; after the last attempt the delivery is `failed`, logged and recorded as an error event for admins.
 * Deliveries run concurrently: one slow endpoint holds up only its own.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../log';
import type { EventLog } from './events';
import type { QueuedMessage, SnsProtocol, Topics } from './topics';
import type { Settings } from './settings';
import type { Mail, SmtpRelay } from '../adapters/mailer';
import { makeSigningPair, signSha256, type SigningPair } from '../adapters/signing-certificate';
import { Periodic } from './periodic';

export const MAX_ATTEMPTS = 12;
const LEASE_SECONDS = 120;
const BATCH = 50;
export const CERTIFICATE_PATH = '/_oarcloud/sns/';

/** The delay before attempt `attempts + 1`: 1 s, 2 s, 4 s … up to 5 minutes (about 17 minutes in all). */
export function backoffSeconds(attempts: number): number {
  return Math.min(2 ** Math.max(attempts - 1, 0), 300);
}

/** The text SNS signs (AWS: "Verifying the signatures of Amazon SNS messages"). */
export function stringToSign(m: Record<string, string | undefined>): string {
  const keys =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k}\n${m[k]}\n`)
    .join('');
}

export interface Senders {
  mail(relay: SmtpRelay, mail: Mail): Promise<void>;
  post(url: string, headers: Record<string, string>, body: string): Promise<void>;
}

interface Claimed {
  id: string;
  subscription_id: string;
  kind: QueuedMessage['Type'];
  message: QueuedMessage;
  attempts: number;
  account_id: string;
  topic_name: string;
  protocol: SnsProtocol;
  endpoint: string;
  attributes: Record<string, string>;
}

export class DeliveryWorker {
  private readonly loop: Periodic;
  private signing?: Promise<SigningPair>;

  constructor(
    private readonly db: Knex,
    private readonly topics: Topics,
    private readonly settings: Settings,
    private readonly senders: Senders,
    private readonly endpoint: string,
    /** Signs the unsubscribe links of e-mails. */
    private readonly linkKey: Buffer,
    private readonly events: EventLog,
    private readonly log: Logger,
  ) {
    this.loop = new Periodic(() => this.tick(), 1000, log, 'delivery pass failed');
  }

  start(): void {
    this.loop.start();
  }

  /** Sends what was just queued now rather than at the next second (only while this process leads). */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** The key and certificate, made once for the whole cloud and kept in the settings (every server signs alike). */
  signingPair(): Promise<SigningPair> {
    this.signing ??= (async () => {
      const existing = await this.settings.get<SigningPair>('sns-signing');
      if (existing) return existing;
      await this.settings.setIfAbsent('sns-signing', await makeSigningPair('sns.oarcloud.local'));
      return (await this.settings.get<SigningPair>('sns-signing'))!;
    })();
    this.signing.catch(() => (this.signing = undefined));
    return this.signing;
  }

  async certificateUrl(): Promise<string> {
    return `${this.endpoint}${CERTIFICATE_PATH}${certificateFile((await this.signingPair()).certPem)}`;
  }

  unsubscribeUrl(subscriptionArn: string): string {
    const signature = createHmac('sha256', this.linkKey).update(subscriptionArn).digest('hex');
    return `${this.endpoint}${CERTIFICATE_PATH}unsubscribe?SubscriptionArn=${encodeURIComponent(subscriptionArn)}&Signature=${signature}`;
  }

  checkUnsubscribeLink(subscriptionArn: string, signature: string): boolean {
    const expected = createHmac('sha256', this.linkKey).update(subscriptionArn).digest('hex');
    return signature.length === expected.length && expected === signature;
  }

  /** Sends every due delivery (a batch at a time); returns how many were attempted. */
  async tick(): Promise<number> {
    const claimed: Claimed[] = (
      await this.db.raw(
        `with due as (
           select id from sns_deliveries where state = 'pending' and next_attempt_at <= now()
            order by next_attempt_at limit ? for update skip locked)
         update sns_deliveries d set attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ?)
           from due, sns_subscriptions s
          where d.id = due.id and s.id = d.subscription_id
         returning d.id, d.subscription_id, d.kind, d.message, d.attempts, s.account_id, s.topic_name, s.protocol, s.endpoint, s.attributes`,
        [BATCH, LEASE_SECONDS],
      )
    ).rows;
    await Promise.all(claimed.map((d) => this.deliver(d)));
    return claimed.length;
  }

  private async deliver(d: Claimed): Promise<void> {
    const subscriptionArn = this.topics.subscriptionArn({ account_id: d.account_id, topic_name: d.topic_name, id: d.subscription_id });
    try {
      await this.send(d, subscriptionArn);
      await this.db('sns_deliveries').where({ id: d.id }).update({ state: 'delivered', delivered_at: this.db.fn.now(), last_error: null });
    } catch (err) {
      const error = String((err as Error)?.message ?? err).slice(0, 500);
      const failed = d.attempts >= MAX_ATTEMPTS;
      await this.db('sns_deliveries')
        .where({ id: d.id })
        .update({
          state: failed ? 'failed' : 'pending',
          last_error: error,
          next_attempt_at: new Date(Date.now() + backoffSeconds(d.attempts) * 1000),
        });
      if (failed) {
        this.log.warn({ subscription: subscriptionArn, attempts: d.attempts, err: error }, 'notification given up');
        await this.events.record('error', d.account_id, subscriptionArn, `SNS ${d.kind} to ${d.protocol} ${d.endpoint} failed ${d.attempts} times: ${error}`);
      }
    }
  }

  /** The message as its receiver gets it: signed, with the links it needs. */
  async signed(m: QueuedMessage, subscriptionArn: string): Promise<Record<string, string>> {
    const pair = await this.signingPair();
    const fields: Record<string, string> = { ...(m as unknown as Record<string, string>) };
    return {
      ...fields,
      SignatureVersion: '2',
      Signature: signSha256(pair.keyPem, stringToSign(fields)),
      SigningCertURL: `${this.endpoint}${CERTIFICATE_PATH}${certificateFile(pair.certPem)}`,
      ...(m.Type === 'Notification' ? { UnsubscribeURL: this.unsubscribeUrl(subscriptionArn) } : {}),
    };
  }

  private async send(d: Claimed, subscriptionArn: string): Promise<void> {
    const message = await this.signed(d.message, subscriptionArn);
    if (d.protocol === 'http' || d.protocol === 'https') {
      const raw = d.kind === 'Notification' && d.attributes.RawMessageDelivery === 'true';
      await this.senders.post(
        d.endpoint,
        {
          'content-type': 'text/plain; charset=UTF-8',
          'user-agent': 'Amazon Simple Notification Service Agent',
          'x-amz-sns-message-type': d.kind,
          'x-amz-sns-message-id': d.message.MessageId,
          'x-amz-sns-topic-arn': d.message.TopicArn,
          ...(d.kind === 'Notification' ? { 'x-amz-sns-subscription-arn': subscriptionArn } : {}),
          ...(raw ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
        },
        raw ? d.message.Message : JSON.stringify(message),
      );
      return;
    }
    const relay = await this.settings.get<SmtpRelay>('smtp');
    if (!relay) throw new Error('no SMTP relay is configured (oarcloud notify smtp HOST:PORT)');
    const json = d.protocol === 'email-json';
    if (d.kind === 'SubscriptionConfirmation') {
      await this.senders.mail(relay, {
        to: d.endpoint,
        subject: 'AWS Notification - Subscription Confirmation',
        text: json
          ? JSON.stringify(message)
          : `You have chosen to subscribe to the topic:\n${d.message.TopicArn}\n\nTo confirm this subscription, click or visit the link below (If this was in error no action is necessary):\nConfirm subscription: ${d.message.SubscribeURL}\n`,
      });
      return;
    }
    await this.senders.mail(relay, {
      to: d.endpoint,
      subject: d.message.Subject ?? 'AWS Notification Message',
      text: json
        ? JSON.stringify(message)
        : `${d.message.Message}\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n${message.UnsubscribeURL}\n`,
    });
  }
}

/** The certificate's file name, as AWS names theirs: by a hash of its content. */
export function certificateFile(certPem: string): string {
  return `SimpleNotificationService-${createHash('sha256').update(certPem).digest('hex').slice(0, 32)}.pem`;
}

/** Deliveries by state, and the latest failures (the dashboard, `oarcloud notify show`). */
export async function deliverySummary(db: Knex): Promise<{ counts: Record<string, number>; failures: { at: Date; endpoint: string; error: string | null }[] }> {
  const rows = await db('sns_deliveries').groupBy('state').select('state').count({ n: '*' });
  const failures = await db('sns_deliveries as d')
    .join('sns_subscriptions as s', 's.id', 'd.subscription_id')
    .whereNotNull('d.last_error')
    .orderBy('d.id', 'desc')
    .limit(10)
    .select({ at: 'd.created_at', endpoint: 's.endpoint', error: 'd.last_error' });
  return { counts: Object.fromEntries(rows.map((r: any) => [r.state, Number(r.n)])), failures };
}
