/**
 * Per-account limits enforced by RunInstances: how many instances an account may hold and how many OAR cores
 * they may take. An admin sets them per account; unset limits fall back to the server's defaults. Instances count
 * until they are terminated (a stopped instance keeps its place, so StartInstances never fails on a quota).
 */
import type { Db } from '../adapters/db';
import { errors } from './errors';

export interface Limits {
  maxInstances: number;
  maxCores: number;
}
export interface Usage {
  instances: number;
  cores: number;
}
/** What an admin sets: a number, or null for the server's default. */
export interface QuotaSetting {
  maxInstances?: number | null;
  maxCores?: number | null;
}

/** A limit an admin sets in the server's environment (`name`), or its default. */
export function envLimit(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  return Number(env[name] ?? fallback);
}

export function defaultLimits(env = process.env): Limits {
  return { maxInstances: Number(env.OARCLOUD_MAX_INSTANCES ?? 64), maxCores: Number(env.OARCLOUD_MAX_CORES ?? 256) };
}

export class Quotas {
  constructor(
    private readonly db: Db,
    readonly defaults: Limits = defaultLimits(),
  ) {}

  async limitsFor(accountId: string, db: Db = this.db): Promise<Limits> {
    const row = await db('account_quotas').where('account_id', accountId).first();
    return { maxInstances: row?.max_instances ?? this.defaults.maxInstances, maxCores: row?.max_cores ?? this.defaults.maxCores };
  }

  async usageOf(accountId: string, db: Db = this.db): Promise<Usage> {
    const [row] = await db('instances')
      .where('account_id', accountId)
      .whereNot('state', 'terminated')
      .select(db.raw('count(*)::int as instances'), db.raw('coalesce(sum(oar_cores), 0)::int as cores'));
    return row;
  }

  /**
   * How many of `wanted` instances of `coresEach` cores fit in the account's limits. Run inside the transaction
   * that inserts them: the advisory lock makes concurrent launches of one account count one after the other.
   */
  async room(trx: Db, accountId: string, coresEach: number): Promise<{ count: number; limits: Limits; usage: Usage }> {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`quota:${accountId}`]);
    const [limits, usage] = await Promise.all([this.limitsFor(accountId, trx), this.usageOf(accountId, trx)]);
    const byInstances = limits.maxInstances - usage.instances;
    const byCores = Math.floor((limits.maxCores - usage.cores) / Math.max(1, coresEach));
    return { count: Math.max(0, Math.min(byInstances, byCores)), limits, usage };
  }

  async set(accountId: string, setting: QuotaSetting): Promise<Limits> {
    for (const [name, value] of Object.entries(setting)) {
      if (value !== null && value !== undefined && (!Number.isInteger(value) || value < 0 || value > 1_000_000)) {
        throw errors.invalidParameterValue('quota', '', `${name} must be a whole number from 0 to 1000000, or null for the default`);
      }
    }
    const row: Record<string, unknown> = { account_id: accountId, updated_at: new Date() };
    if (setting.maxInstances !== undefined) row.max_instances = setting.maxInstances;
    if (setting.maxCores !== undefined) row.max_cores = setting.maxCores;
    await this.db('account_quotas').insert(row).onConflict('account_id').merge();
    return this.limitsFor(accountId);
  }
}
