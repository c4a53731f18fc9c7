/**
 * PostgreSQL through knex. Migrations are plain SQL files in sql/ (NNN_name.sql), applied in order by knex's
 * migrator (which records them and takes its lock), through a migration source that reads those files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';

export type Db = Knex;
export const SQL_DIR = path.join(__dirname, '..', '..', '..', 'sql');

class SqlFileMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return readdirSync(SQL_DIR)
      .filter((f) => /^\d{3}_.+\.sql$/.test(f))
      .sort();
  }
  getMigrationName(file: string): string {
    return file;
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    const sql = readFileSync(path.join(SQL_DIR, file), 'utf8');
    return {
      up: (db: Knex) => db.raw(sql),
      down: () => {
        throw new Error(`${file}: migrations are forward-only`);
      },
    };
  }
}

/**
 * What a database failure means for the caller; the one place that reads PostgreSQL's error codes.
 * - `unique`: a unique constraint refused the row (a duplicate name, a ClientToken race);
 * - `data`: the input could not be represented (class 22: out of range, bad text);
 * - `unavailable`: the database (or the connection to it) is down or restarting: retry later.
 */
export function databaseFailure(err: any): 'unique' | 'data' | 'unavailable' | undefined {
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code === '23505') return 'unique';
  if (code.startsWith('22')) return 'data';
  const unavailable = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08006', '08001', '08003'];
  if (unavailable.includes(code) || /Knex: Timeout acquiring a connection|Connection terminated/.test(String(err?.message))) return 'unavailable';
  return undefined;
}

export function connect(url: string, pool = { min: 0, max: 20 }): Db {
  return knex({ client: 'pg', connection: url, pool, acquireConnectionTimeout: 5000 });
}

/** Runs `fn` with a short-lived connection pool (CLI commands, bench, tests), then closes it. */
export async function withDatabase<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = connect(url, { min: 0, max: 2 });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/** Fails unless the database answers a query. */
export async function ping(db: Db): Promise<void> {
  await db.raw('select 1');
}

export async function migrate(db: Db): Promise<string[]> {
  const [, applied] = await db.migrate.latest({ migrationSource: new SqlFileMigrationSource(), tableName: 'schema_migrations' });
  return applied as string[];
}
