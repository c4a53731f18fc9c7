/**
 * Key pairs: an OpenSSH public key per name and account. CreateKeyPair generates the pair with ssh-keygen and
 * returns the private key once (it is never stored); ImportKeyPair takes the user's public key.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { runOk } from '../adapters/exec';
import { errors } from './errors';
import { newId } from './ids';

export interface KeyPairRow {
  id: string;
  account_id: string;
  name: string;
  key_type: string;
  fingerprint: string;
  public_key: string;
  created_at: Date;
}

const SSH_KEY = /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) ([A-Za-z0-9+/=]+)( .*)?$/;

export function validateKeyName(name: string): void {
  if (!name || name.length > 255 || !/^[\x20-\x7e]+$/.test(name))
    throw errors.invalidParameterValue('KeyName', name, 'Key names are 1 to 255 ASCII characters.');
}

/** Parses an OpenSSH public key line; returns its type and the MD5 fingerprint of its wire form. */
export function parsePublicKey(material: string): { type: 'rsa' | 'ed25519' | 'ecdsa'; line: string; fingerprint: string } {
  const line = material.trim().split('\n')[0].trim();
  const m = SSH_KEY.exec(line);
  if (!m) throw errors.keyFormat('Key is not in valid OpenSSH public key format');
  const blob = Buffer.from(m[2], 'base64');
  const declared = blob.length > 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() : '';
  if (declared !== m[1]) throw errors.keyFormat('Key is not in valid OpenSSH public key format');
  const md5 = createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
  return { type: m[1] === 'ssh-rsa' ? 'rsa' : m[1] === 'ssh-ed25519' ? 'ed25519' : 'ecdsa', line, fingerprint: md5 };
}

export class KeyPairs {
  constructor(private readonly db: Knex) {}

  async find(accountId: string, name: string): Promise<KeyPairRow | undefined> {
    return this.db('key_pairs').where({ account_id: accountId, name }).first();
  }

  async get(accountId: string, name: string): Promise<KeyPairRow> {
    const k = await this.find(accountId, name);
    if (!k) throw errors.keyPairNotFound(name);
    return k;
  }

  async import(accountId: string, name: string, material: string): Promise<KeyPairRow> {
    validateKeyName(name);
    const key = parsePublicKey(material);
    const [row] = await this.db('key_pairs')
      .insert({ id: newId('key'), account_id: accountId, name, key_type: key.type, fingerprint: key.fingerprint, public_key: key.line })
      .onConflict(['account_id', 'name'])
      .ignore()
      .returning('*');
    if (!row) throw errors.keyPairDuplicate(name);
    return row;
  }

  async create(accountId: string, name: string, type: 'rsa' | 'ed25519'): Promise<{ row: KeyPairRow; privateKey: string }> {
    validateKeyName(name);
    if (await this.find(accountId, name)) throw errors.keyPairDuplicate(name);
    const dir = await mkdtemp(path.join(tmpdir(), 'oarcloud-key-'));
    try {
      const file = path.join(dir, 'key');
      await runOk('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048', '-m', 'PEM'] : []), '-N', '', '-C', name, '-f', file]);
      const privateKey = await readFile(file, 'utf8');
      const row = await this.import(accountId, name, await readFile(`${file}.pub`, 'utf8'));
      return { row, privateKey };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async delete(accountId: string, name?: string, id?: string): Promise<void> {
    const q = this.db('key_pairs').where('account_id', accountId);
    if (id) q.where('id', id);
    else q.where('name', name ?? '');
    const keys = await q.clone().select('id');
    await q.delete();
    if (keys.length)
      await this.db('tags')
        .whereIn(
          'resource_id',
          keys.map((k: { id: string }) => k.id),
        )
        .delete();
  }

  async list(accountId: string): Promise<KeyPairRow[]> {
    return this.db('key_pairs').where('account_id', accountId).orderBy('name');
  }
}
