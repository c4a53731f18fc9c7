/**
 * A PostgreSQL session-level advisory lock, held on a connection of its own: it is held exactly as long as that
 * session lives, so a process that dies (or loses the database) lets it go without anyone cleaning up.
 */
import { Client } from 'pg';

export class AdvisoryLock {
  private client?: Client;
  private held = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly name: string,
  ) {}

  /** Takes the lock if it is free; true while this process holds it (checking that its session is still alive). */
  async tryHold(): Promise<boolean> {
    try {
      if (!this.client) {
        const client = new Client({ connectionString: this.databaseUrl });
        client.on('error', () => this.drop(client));
        this.client = client;
        await client.connect();
      }
      if (this.held) {
        await this.client.query('select 1');
        return true;
      }
      const { rows } = await this.client.query('select pg_try_advisory_lock(hashtext($1)) as held', [this.name]);
      this.held = rows[0].held === true;
      return this.held;
    } catch {
      this.drop(this.client);
      return false;
    }
  }

  /** Lets the lock go (ends the session that holds it). */
  async release(): Promise<void> {
    const client = this.client;
    this.drop(client);
    await client?.end().catch(() => undefined);
  }

  private drop(client: Client | undefined): void {
    if (!client || client !== this.client) return;
    this.client = undefined;
    this.held = false;
    client.end().catch(() => undefined);
  }
}
