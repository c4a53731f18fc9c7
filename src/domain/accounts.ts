/** Accounts, their users (admin or user) and access keys. Admin operations, used by the CLI. */
import type { Db } from '../adapters/db';
import { newAccessKeyId, newAccountId, newSecretAccessKey } from './ids';
import type { SecretBox } from './secrets';
import { announceKeyChange } from './credential-cache';
import { errors } from './errors';

export type Role = 'admin' | 'user';
export const SYSTEM_ACCOUNT_NAME = 'system';

export interface Account {
  id: string;
  name: string;
  is_system: boolean;
  created_at: Date;
}
export interface Caller {
  accountId: string;
  accountName: string;
  userName: string;
  role: Role;
  accessKeyId: string;
}
/** The caller of the one request allowed unsigned (an SNS confirmation link, whose token is its credential). */
export const ANONYMOUS: Caller = Object.freeze({ accountId: '', accountName: '', userName: 'anonymous', role: 'user', accessKeyId: '' });

export interface NewAccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  userName: string;
}

export class Accounts {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
  ) {}

  async create(name: string, opts: { system?: boolean } = {}): Promise<Account> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
      throw errors.invalidParameterValue('account', '', `invalid account name '${name}' (letters, digits, '.', '_', '-'; at most 64)`);
    if (await this.find(name)) throw errors.conflict(`an account named '${name}' exists already`);
    for (;;) {
      const id = newAccountId();
      const [row] = await this.db('accounts')
        .insert({ id, name, is_system: opts.system ?? false })
        .onConflict('id')
        .ignore()
        .returning('*');
      if (row) return row;
    }
  }

  async ensure(name: string, opts: { system?: boolean } = {}): Promise<Account> {
    return (await this.find(name)) ?? (await this.create(name, opts));
  }

  async find(nameOrId: string): Promise<Account | undefined> {
    return this.db('accounts').where('name', nameOrId).orWhere('id', nameOrId).first();
  }

  async get(nameOrId: string): Promise<Account> {
    const a = await this.find(nameOrId);
    if (!a) throw errors.notFound(`no account '${nameOrId}'`);
    return a;
  }

  async list(): Promise<(Account & { users: number; keys: number })[]> {
    return this.db('accounts as a')
      .select('a.*')
      .select(this.db.raw('(select count(*)::int from users u where u.account_id = a.id) as users'))
      .select(
        this.db.raw("(select count(*)::int from access_keys k join users u on u.id = k.user_id where u.account_id = a.id and k.status = 'Active') as keys"),
      )
      .orderBy('a.created_at');
  }

  /** Deletes an account, its users, keys and records. Refused while it still has instances that are not terminated. */
  async delete(nameOrId: string): Promise<void> {
    const account = await this.get(nameOrId);
    if (account.is_system) throw errors.conflict('the system account cannot be deleted');
    const live = await this.db('instances').where('account_id', account.id).whereNot('state', 'terminated').count<{ n: string }[]>('* as n');
    if (Number(live[0].n) > 0) throw errors.conflict(`account ${account.name} still has ${live[0].n} instance(s) that are not terminated`);
    await this.db('accounts').where('id', account.id).delete();
    await announceKeyChange(this.db, '*');
  }

  async ensureUser(accountId: string, name: string, role: Role): Promise<{ id: number }> {
    const existing = await this.db('users').where({ account_id: accountId, name }).first();
    if (existing) {
      if (existing.role !== role) await this.db('users').where('id', existing.id).update({ role });
      return existing;
    }
    const [row] = await this.db('users').insert({ account_id: accountId, name, role }).returning('id');
    return row;
  }

  async createKey(accountNameOrId: string, userName = 'default', role: Role = 'user'): Promise<NewAccessKey> {
    const account = await this.get(accountNameOrId);
    const user = await this.ensureUser(account.id, userName, role);
    const accessKeyId = newAccessKeyId();
    const secretAccessKey = newSecretAccessKey();
    await this.db('access_keys').insert({ access_key_id: accessKeyId, user_id: user.id, secret_ciphertext: this.secrets.seal(secretAccessKey) });
    return { accessKeyId, secretAccessKey, accountId: account.id, userName };
  }

  async listKeys(accountNameOrId?: string) {
    const q = this.db('access_keys as k')
      .join('users as u', 'u.id', 'k.user_id')
      .join('accounts as a', 'a.id', 'u.account_id')
      .select('k.access_key_id', 'k.status', 'k.created_at', 'k.revoked_at', 'u.name as user', 'u.role', 'a.id as account_id', 'a.name as account')
      .orderBy('k.created_at');
    if (accountNameOrId) q.where((w) => w.where('a.name', accountNameOrId).orWhere('a.id', accountNameOrId));
    return q;
  }

  async revokeKey(accessKeyId: string): Promise<void> {
    const n = await this.db('access_keys').where({ access_key_id: accessKeyId, status: 'Active' }).update({ status: 'Revoked', revoked_at: this.db.fn.now() });
    if (n === 0) throw errors.notFound(`no active access key ${accessKeyId}`);
    await announceKeyChange(this.db, accessKeyId);
  }

  /** The caller behind an active access key and its secret, or undefined (unknown or revoked key). */
  async resolveKey(accessKeyId: string): Promise<{ caller: Caller; secret: string } | undefined> {
    const row = await this.db('access_keys as k')
      .join('users as u', 'u.id', 'k.user_id')
      .join('accounts as a', 'a.id', 'u.account_id')
      .where({ 'k.access_key_id': accessKeyId, 'k.status': 'Active' })
      .first('k.secret_ciphertext', 'u.name as user_name', 'u.role', 'a.id as account_id', 'a.name as account_name');
    if (!row) return undefined;
    return {
      secret: this.secrets.open(row.secret_ciphertext),
      caller: { accountId: row.account_id, accountName: row.account_name, userName: row.user_name, role: row.role, accessKeyId },
    };
  }
}
