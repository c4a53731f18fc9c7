/**
 * What receives notifications in the tests, on this machine: a real SMTP server (smtp-server, parsing each message
 * with mailparser) and an HTTP server that records each POST and answers as told. Both listen on 127.0.0.1 on a free
 * port and are closed by the test that opened them.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import https from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createVerify } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { sleep } from './live';

export interface ReceivedMail {
  to: string;
  from: string;
  subject: string;
  text: string;
}

export class MailSink {
  readonly mails: ReceivedMail[] = [];
  private server?: SMTPServer;
  port = 0;

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((m) => {
            this.mails.push({
              to: session.envelope.rcptTo.map((r) => r.address).join(','),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: m.subject ?? '',
              text: m.text ?? '',
            });
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** Waits for a mail to `to` matching `test`. */
  async waitFor(to: string, test: (m: ReceivedMail) => boolean, ms = 60_000): Promise<ReceivedMail> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.mails.find((m) => m.to === to && test(m));
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no mail to ${to} matched within ${ms} ms (got: ${this.mails.map((m) => `${m.to} "${m.subject}"`).join('; ')})`);
      await sleep(250);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export interface ReceivedPost {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Records POSTs; `answer` decides each status (200 unless told otherwise). */
export class HttpSink {
  readonly posts: ReceivedPost[] = [];
  answer: (post: ReceivedPost) => number = () => 200;
  private server?: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const post = { path: req.url ?? '/', headers: req.headers, body };
        this.posts.push(post);
        res.statusCode = this.answer(post);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async waitFor(test: (p: ReceivedPost) => boolean, ms = 60_000): Promise<ReceivedPost> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.posts.find(test);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no POST matched within ${ms} ms (got ${this.posts.length}: ${this.posts.map((p) => p.path).join(', ')})`);
      await sleep(250);
    }
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Verifies an SNS message's signature as AWS documents it ("Verifying the signatures of Amazon SNS messages"): the
 * certificate from SigningCertURL, SHA256withRSA (SignatureVersion 2) over the message's fields in their order.
 */
export async function verifySnsSignature(message: Record<string, string>): Promise<boolean> {
  if (message.SignatureVersion !== '2') return false;
  const cert = await (await fetch(message.SigningCertURL)).text();
  const fields =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = fields
    .filter((f) => message[f] !== undefined)
    .map((f) => `${f}\n${message[f]}\n`)
    .join('');
  return createVerify('RSA-SHA256').update(text, 'utf8').verify(cert, message.Signature, 'base64');
}

type SnsValidator = new (hostPattern?: RegExp) => { validate(message: object, cb: (err: Error | null) => void): void };
const MessageValidator = require('sns-validator') as SnsValidator;

/**
 * The AWS Labs message validator (npm `sns-validator`) on a message. It fetches SigningCertURL itself, and only over
 * HTTPS from a host it trusts: so the certificate we serve is handed to it over HTTPS on this machine (SigningCertURL
 * is not among the signed fields, so the signature is checked unchanged).
 */
export async function validateWithSnsValidator(message: Record<string, string>): Promise<void> {
  const signingCert = await (await fetch(message.SigningCertURL)).text();
  const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      path.join(dir, 'k'),
      '-out',
      path.join(dir, 'c'),
    ],
    { stdio: 'ignore' },
  );
  const tls = { key: readFileSync(path.join(dir, 'k')), cert: readFileSync(path.join(dir, 'c')) };
  const server = https.createServer(tls, (_req, res) => res.end(signingCert));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const trusted = https.globalAgent.options.ca;
  https.globalAgent.options.ca = [tls.cert];
  try {
    await new Promise<void>((resolve, reject) =>
      new MessageValidator(/^127\.0\.0\.1:\d+$/).validate(
        { ...message, SigningCertURL: `https://127.0.0.1:${port}/SimpleNotificationService-test.pem` },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  } finally {
    https.globalAgent.options.ca = trusted;
    server.close();
  }
}
