/** Settings admins change at run time (table `settings`): the SMTP relay, the SNS signing key. JSON values by key. */
import type { Knex } from 'knex';

export class Settings {
  constructor(private readonly db: Knex) {}

  async get<T>(key: string): Promise<T | undefined> {
    const row = await this.db('settings').where({ key }).first('value');
    return row?.value as T | undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.db('settings')
      .insert({ key, value: JSON.stringify(value) })
      .onConflict('key')
      .merge();
  }

  /** Stores the value unless one is there already (two servers making a key at once keep the first). */
  async setIfAbsent(key: string, value: unknown): Promise<void> {
    await this.db('settings')
      .insert({ key, value: JSON.stringify(value) })
      .onConflict('key')
      .ignore();
  }

  async remove(key: string): Promise<void> {
    await this.db('settings').where({ key }).delete();
  }
}
