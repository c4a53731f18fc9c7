/**
 * `oarcloud notify`: where the cloud's own alarms go (the admin topic: e-mail addresses, webhooks) and the SMTP relay
 * mail leaves through, for admin notifications and users' e-mail subscriptions alike.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { endpointUrl, type Config } from '../config';
import { AdminNotifier } from '../domain/admin-notifier';
import { Topics } from '../domain/topics';
import { Settings } from '../domain/settings';
import { printTable, withAdministration } from './admin';
import { withDatabase } from '../adapters/db';
import { createLogger } from '../log';

function withNotifier<T>(config: Config, fn: (n: AdminNotifier) => Promise<T>): Promise<T> {
  return withAdministration(config, (admin) =>
    withDatabase(config.databaseUrl, (db) =>
      fn(new AdminNotifier(db, { topics: new Topics(db, config.regions[0], endpointUrl(config)), settings: new Settings(db), admin }, createLogger('warn'))),
    ),
  );
}

/** `host:port` (port 25 when left out). */
function relayAddress(value: string): { host: string; port: number } {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/.exec(value);
  if (!m) throw new Error(`'${value}' is not HOST[:PORT]`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 25 };
}

export function registerNotifyCommands(program: Command, config: Config): void {
  const notify = program.command('notify').description("admin notifications: the cloud's alarms by e-mail and webhook, and the SMTP relay");
  notify
    .command('show')
    .description('the admin topic, its subscriptions, the SMTP relay, and how deliveries went')
    .action(() =>
      withNotifier(config, async (n) => {
        const s = await n.setup();
        console.log(`admin topic: ${s.topicArn}`);
        console.log(
          s.smtp
            ? `SMTP relay: ${s.smtp.host}:${s.smtp.port}${s.smtp.secure ? ' (TLS)' : ''}${s.smtp.user ? ` as ${s.smtp.user}` : ''}, from ${s.smtp.from}`
            : 'SMTP relay: none (e-mail cannot be sent: oarcloud notify smtp HOST:PORT)',
        );
        console.log(
          `deliveries: ${
            Object.entries(s.deliveries.counts)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ') || 'none yet'
          }`,
        );
        if (s.subscriptions.length)
          printTable(
            ['PROTOCOL', 'ENDPOINT'],
            s.subscriptions.map((x) => [x.protocol, x.endpoint]),
          );
        else console.log('nobody is subscribed: oarcloud notify email ADDRESS, or oarcloud notify webhook URL');
        if (s.deliveries.failures.length) {
          console.log('latest failures:');
          printTable(
            ['AT', 'ENDPOINT', 'ERROR'],
            s.deliveries.failures.map((f) => [f.at.toISOString(), f.endpoint, f.error]),
          );
        }
      }),
    );
  notify
    .command('email <address>')
    .option('--json', 'send the alarm as JSON (email-json)')
    .description("send the cloud's alarms to an e-mail address")
    .action((address, opts) => withNotifier(config, async (n) => console.log(await n.subscribe(opts.json ? 'email-json' : 'email', address))));
  notify
    .command('webhook <url>')
    .description("POST the cloud's alarms to a URL, as signed SNS notifications")
    .action((url: string) => withNotifier(config, async (n) => console.log(await n.subscribe(url.startsWith('https:') ? 'https' : 'http', url))));
  notify
    .command('remove <endpoint>')
    .description('stop sending to an e-mail address or URL')
    .action((endpoint) =>
      withNotifier(config, async (n) => {
        if (!(await n.unsubscribe(endpoint))) throw new Error(`nothing is subscribed at ${endpoint}`);
        console.log(`removed ${endpoint}`);
      }),
    );
  notify
    .command('test')
    .description('publish a test message to the admin topic')
    .action(() => withNotifier(config, async (n) => console.log(`queued message ${await n.test()}`)));
  notify
    .command('smtp [address]')
    .description('the SMTP relay mail goes through, as HOST[:PORT]; --off removes it')
    .option('--tls', 'TLS from the first byte (port 465); otherwise STARTTLS when offered')
    .option('--user <name>', 'authenticate as this user')
    .option('--password-file <file>', "the user's password, read from this file")
    .option('--from <address>', 'the sender address', 'OAR Cloud <no-reply@localhost>')
    .option('--allow-self-signed', "accept the relay's self-signed certificate")
    .option('--off', 'remove the relay')
    .action((address: string | undefined, opts) =>
      withNotifier(config, async (n) => {
        if (opts.off) {
          await n.setSmtp(undefined);
          console.log('SMTP relay removed');
          return;
        }
        if (!address) throw new Error('give the relay as HOST[:PORT], or --off');
        const password = opts.passwordFile ? readFileSync(opts.passwordFile, 'utf8').trim() : undefined;
        await n.setSmtp({
          ...relayAddress(address),
          secure: Boolean(opts.tls),
          user: opts.user,
          password,
          from: opts.from,
          allowSelfSigned: Boolean(opts.allowSelfSigned),
        });
        console.log(`SMTP relay set: ${address}`);
      }),
    );
}
