/**
 * Dashboard sign-in: an admin gives an access key and its secret once; the browser then holds a random token in an
 * HttpOnly, SameSite=Strict cookie. The database keeps only the token's hash, and a session ends with its key
 * (revoked or deleted) or its admin role, whichever comes first.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../adapters/db';
import type { Caller } from './accounts';
import type { CredentialCache } from './credential-cache';

export const SESSION_COOKIE = 'oarcloud_admin';
export const SESSION_HOURS = 12;

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export class AdminSessions {
  constructor(
    private readonly db: Db,
    private readonly credentials: CredentialCache,
  ) {}

  /** A new session token for an admin's key, or why not: a wrong key or secret, or a key that is not an admin's. */
  async signIn(accessKeyId: string, secretAccessKey: string): Promise<{ token: string; caller: Caller } | { error: 'invalid' | 'not-admin' }> {
    const found = /^[A-Z0-9]{16,128}$/.test(accessKeyId) ? await this.credentials.resolve(accessKeyId) : undefined;
    const given = Buffer.from(secretAccessKey);
    const expected = Buffer.from(found?.secret ?? '');
    if (!found || given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'invalid' };
    if (found.caller.role !== 'admin') return { error: 'not-admin' };
    const token = randomBytes(32).toString('base64url');
    await this.db('admin_sessions').insert({
      token_hash: hash(token),
      access_key_id: accessKeyId,
      expires_at: new Date(Date.now() + SESSION_HOURS * 3600_000),
    });
    // expired sessions of anyone go at each sign-in: nothing else needs to clean them
    await this.db('admin_sessions').where('expires_at', '<', new Date()).delete();
    return { token, caller: found.caller };
  }

  /** The admin behind a session token, while the session, its key and the admin role all hold. */
  async resolve(token: string | undefined): Promise<Caller | undefined> {
    if (!token || token.length > 100) return undefined;
    const row = await this.db('admin_sessions').where('token_hash', hash(token)).where('expires_at', '>', new Date()).first('access_key_id');
    if (!row) return undefined;
    const found = await this.credentials.resolve(row.access_key_id);
    return found?.caller.role === 'admin' ? found.caller : undefined;
  }

  async signOut(token: string | undefined): Promise<void> {
    if (token) await this.db('admin_sessions').where('token_hash', hash(token)).delete();
  }
}
