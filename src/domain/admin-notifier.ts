/**
 * Tells admins about the cloud's own alarms (alarms.ts: services down, nodes failing, instances pending too long,
 * recent errors) through an SNS topic of the system account, `oarcloud-admin`: each alarm is published when it
 * appears and when it clears, once (admin_alarm_notices remembers what was sent, whichever server leads). Admins
 * subscribe e-mail addresses and webhooks to it with `oarcloud notify` or from the dashboard; those subscriptions
 * are confirmed at once (an admin chose them).
 */
import type { Knex } from 'knex';
import type { Logger } from '../log';
import type { Alarm } from './alarms';
import type { Topics } from './topics';
import type { Settings } from './settings';
import { errors } from './errors';
import type { SmtpRelay } from '../adapters/mailer';
import { deliverySummary } from './deliveries';
import { Periodic } from './periodic';

export const ADMIN_TOPIC = 'oarcloud-admin';
const CHECK_INTERVAL_MS = 15_000;

/** An alarm's identity across checks: its level and subject (its message changes while it lasts). */
export function noticeKey(a: Pick<Alarm, 'level' | 'subject'>): string {
  return `${a.level}|${a.subject}`;
}

/** A message without its counts, to tell a new message (another latest error) from a recount. */
const gist = (message: string) => message.replace(/\d+/g, '#');

export interface NotifySetup {
  topicArn: string;
  subscriptions: { protocol: string; endpoint: string; confirmed: boolean }[];
  smtp?: Omit<SmtpRelay, 'password'> & { password?: string };
  deliveries: Awaited<ReturnType<typeof deliverySummary>>;
}

export class AdminNotifier {
  private readonly loop: Periodic;

  constructor(
    private readonly db: Knex,
    private readonly services: { topics: Topics; settings: Settings; admin: { alarms(): Promise<Alarm[]> } },
    private readonly log: Logger,
  ) {
    this.loop = new Periodic(() => this.check(), CHECK_INTERVAL_MS, log, 'admin alarm check failed');
  }

  private async systemAccount(): Promise<string> {
    const row = await this.db('accounts').where({ is_system: true }).orderBy('created_at').first('id');
    if (!row) throw errors.conflict('There is no system account yet: run bin/oarcloud up first.');
    return row.id;
  }

  /** The admin topic, made when first needed. */
  async topic(): Promise<{ accountId: string; arn: string }> {
    const accountId = await this.systemAccount();
    const arn = await this.services.topics.createTopic(accountId, ADMIN_TOPIC, { DisplayName: 'OAR Cloud' }, {});
    return { accountId, arn };
  }

  async subscribe(protocol: 'email' | 'email-json' | 'http' | 'https', endpoint: string): Promise<string> {
    const { accountId, arn } = await this.topic();
    const sub = await this.services.topics.subscribe(accountId, arn, protocol, endpoint, {}, { confirmed: true });
    return sub.arn;
  }

  async unsubscribe(endpoint: string): Promise<boolean> {
    const { accountId, arn } = await this.topic();
    return this.services.topics.removeEndpoint(accountId, arn, endpoint);
  }

  async setup(): Promise<NotifySetup> {
    const { accountId, arn } = await this.topic();
    const subscriptions = await this.services.topics.endpoints(accountId, arn);
    const smtp = await this.services.settings.get<SmtpRelay>('smtp');
    return {
      topicArn: arn,
      subscriptions,
      smtp: smtp ? { ...smtp, password: smtp.password ? '********' : undefined } : undefined,
      deliveries: await deliverySummary(this.db),
    };
  }

  async setSmtp(relay: SmtpRelay | undefined): Promise<void> {
    if (relay) await this.services.settings.set('smtp', relay);
    else await this.services.settings.remove('smtp');
  }

  /** Publishes a test message to the admin topic; its message id. */
  async test(): Promise<string> {
    const { accountId, arn } = await this.topic();
    return this.services.topics.publish(
      accountId,
      arn,
      'This is a test notification from OAR Cloud: admin notifications reach you.',
      'OAR Cloud: test notification',
    );
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * Publishes the alarms that appeared, those whose message changed beyond their counts (another latest error), and
   * those that cleared since the last check; how many were published.
   */
  async check(current?: Alarm[]): Promise<number> {
    const alarms = current ?? (await this.services.admin.alarms());
    const now = new Map(alarms.map((a) => [noticeKey(a), a]));
    const sent: { key: string; level: string; message: string }[] = await this.db('admin_alarm_notices').select('key', 'level', 'message');
    const known = new Map(sent.map((s) => [s.key, s]));
    const changed = [...now.entries()].filter(([key, a]) => !known.has(key) || gist(known.get(key)!.message) !== gist(a.message));
    const cleared = sent.filter((s) => !now.has(s.key));
    if (changed.length === 0 && cleared.length === 0) return 0;
    const { accountId, arn } = await this.topic();
    for (const [key, a] of changed) {
      await this.services.topics.publish(
        accountId,
        arn,
        `${a.level.toUpperCase()}: ${a.subject}\n\n${a.message}`,
        `OAR Cloud ${a.level}: ${a.subject}`.slice(0, 100),
      );
      await this.db('admin_alarm_notices').insert({ key, level: a.level, message: a.message }).onConflict('key').merge();
    }
    for (const s of cleared) {
      await this.services.topics.publish(accountId, arn, `CLEARED: ${s.key.split('|')[1]}\n\n${s.message}`, 'OAR Cloud: cleared');
      await this.db('admin_alarm_notices').where({ key: s.key }).delete();
    }
    this.log.info({ raised: changed.length, cleared: cleared.length }, 'admin alarms notified');
    return changed.length + cleared.length;
  }
}
