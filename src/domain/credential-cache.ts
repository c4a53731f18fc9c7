/**
 * Verified credentials kept in the server's memory, so that signature checks need no database round trip.
 * Safe because every change of a key (revocation, account deletion) is announced on a PostgreSQL channel the
 * server listens to, and dropped from the cache at once. While the listener is not connected nothing is cached,
 * so a revocation can never be missed.
 */
import { Client } from 'pg';
import type { Knex } from 'knex';
import type { Logger } from '../log';
import type { Accounts, Caller } from './accounts';

export const KEY_CHANNEL = 'oarcloud_access_keys';
const TTL_MS = 5 * 60_000;

/** Tells every server that an access key changed ('*': all of them). */
export async function announceKeyChange(db: Knex, accessKeyId: string): Promise<void> {
  await db.raw('select pg_notify(?, ?)', [KEY_CHANNEL, accessKeyId]);
}

export class CredentialCache {
  private readonly entries = new Map<string, { secret: string; caller: Caller; at: number }>();
  private listener?: Client;
  private listening = false;
  private stopped = false;

  constructor(
    private readonly accounts: Accounts,
    private readonly databaseUrl: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connect().catch((err) => this.log.warn({ err: String(err?.message ?? err) }, 'key listener not connected yet'));
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.databaseUrl });
    const lost = () => {
      if (this.listener !== client) return;
      this.listening = false;
      this.entries.clear();
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (!this.stopped) setTimeout(() => void this.connect().catch(() => lost()), 1000);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.payload === '*') this.entries.clear();
      else if (n.payload) this.entries.delete(n.payload);
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_CHANNEL}`);
      this.entries.clear(); // anything may have changed while we were not listening
      this.listening = true;
    } catch (err) {
      lost();
      throw err;
    }
  }

  async resolve(accessKeyId: string): Promise<{ secret: string; caller: Caller } | undefined> {
    const hit = this.entries.get(accessKeyId);
    if (hit && this.listening && Date.now() - hit.at < TTL_MS) return hit;
    const found = await this.accounts.resolveKey(accessKeyId);
    if (found && this.listening) this.entries.set(accessKeyId, { ...found, at: Date.now() });
    return found;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listening = false;
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
  }
}
