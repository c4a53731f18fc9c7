/**
 * Key pairs: an OpenSSH public key per name and account. CreateKeyPair generates the pair with ssh-keygen and
 * returns the private key once (it is never stored); ImportKeyPair takes the user's public key.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey } from 'node:crypto';
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

export type KeyType = 'rsa' | 'ed25519';

/** An SSH wire-format string or mpint: a 4-byte length, then the bytes. */
function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}
function sshMpint(unsigned: Buffer): Buffer {
  let bytes = unsigned;
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1] < 0x80) bytes = bytes.subarray(1);
  return sshString(bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** The SSH wire blob of a public key given as PEM or DER (SubjectPublicKeyInfo, or PKCS#1 for RSA). */
function blobFromPublicKeyObject(material: string | Buffer, format: 'pem' | 'der'): Buffer {
  let key;
  try {
    key =
      format === 'pem'
        ? createPublicKey(material)
        : (() => {
            try {
              return createPublicKey({ key: material as Buffer, format: 'der', type: 'spki' });
            } catch {
              return createPublicKey({ key: material as Buffer, format: 'der', type: 'pkcs1' });
            }
          })();
  } catch {
    throw errors.keyFormat('Key is not in valid OpenSSH public key format');
  }
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType === 'rsa') {
    return Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshMpint(Buffer.from(jwk.e!, 'base64url')), sshMpint(Buffer.from(jwk.n!, 'base64url'))]);
  }
  if (key.asymmetricKeyType === 'ed25519') return Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x!, 'base64url'))]);
  throw errors.keyFormat(`The key type ${key.asymmetricKeyType} is not supported: only rsa and ed25519 keys are.`);
}

/**
 * The public key's SSH wire blob, from any format ImportKeyPair takes: an OpenSSH line (`ssh-rsa AAAA… comment`),
 * an SSH2 public key file (RFC 4716: `---- BEGIN SSH2 PUBLIC KEY ----`, headers, base64), a PEM public key, or
 * base64 DER.
 */
function publicKeyBlob(material: string): { blob: Buffer; comment: string } {
  const text = material.replace(/\r\n?/g, '\n').trim();
  const openssh = /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-dss) ([A-Za-z0-9+/=]+)( .*)?$/.exec(text.split('\n')[0].trim());
  if (openssh) return { blob: Buffer.from(openssh[2], 'base64'), comment: (openssh[3] ?? '').trim() };
  if (text.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) {
    const lines = text.split('\n').slice(1);
    const endAt = lines.findIndex((l) => l.trim() === '---- END SSH2 PUBLIC KEY ----');
    if (endAt < 0) throw errors.keyFormat('Key is not in valid OpenSSH public key format');
    let comment = '';
    const body: string[] = [];
    for (let i = 0; i < endAt; i++) {
      const line = lines[i].trim();
      // RFC 4716 §3.3: "Tag: value" headers, continued by a trailing backslash
      if (body.length === 0 && /^[\x21-\x39\x3b-\x7e]{1,64}:/.test(line)) {
        let header = line;
        while (header.endsWith('\\') && i + 1 < endAt) header = header.slice(0, -1) + lines[++i].trim();
        const [tag, ...value] = header.split(':');
        if (tag.toLowerCase() === 'comment')
          comment = value
            .join(':')
            .trim()
            .replace(/^"(.*)"$/, '$1');
        continue;
      }
      body.push(line);
    }
    if (!/^[A-Za-z0-9+/=]+$/.test(body.join(''))) throw errors.keyFormat('Key is not in valid OpenSSH public key format');
    return { blob: Buffer.from(body.join(''), 'base64'), comment };
  }
  if (text.startsWith('-----BEGIN ')) return { blob: blobFromPublicKeyObject(text, 'pem'), comment: '' };
  if (/^[A-Za-z0-9+/=\s]+$/.test(text)) return { blob: blobFromPublicKeyObject(Buffer.from(text.replace(/\s+/g, ''), 'base64'), 'der'), comment: '' };
  throw errors.keyFormat('Key is not in valid OpenSSH public key format');
}

export function validateKeyName(name: string): void {
  if (!name || name.length > 255 || !/^[\x20-\x7e]+$/.test(name))
    throw errors.invalidParameterValue('KeyName', name, 'Key names are 1 to 255 ASCII characters.');
}

/** AWS's fingerprint of an imported key: RSA, the MD5 of the wire blob (RFC 4716 §4); ED25519, base64 SHA-256. */
export function importedFingerprint(type: KeyType, blob: Buffer): string {
  return type === 'rsa' ? createHash('md5').update(blob).digest('hex').match(/../g)!.join(':') : createHash('sha256').update(blob).digest('base64');
}

/** AWS's fingerprint of a key it made: RSA, the SHA-1 of the private key's DER (PKCS#8); ED25519, base64 SHA-256. */
export function createdFingerprint(type: KeyType, privateKeyPem: string, blob: Buffer): string {
  if (type === 'ed25519') return importedFingerprint(type, blob);
  const der = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  return createHash('sha1').update(der).digest('hex').match(/../g)!.join(':');
}

/** Parses a public key in any format ImportKeyPair takes; its type, OpenSSH line and imported-key fingerprint. */
export function parsePublicKey(material: string): { type: KeyType; line: string; fingerprint: string; blob: Buffer } {
  const { blob, comment } = publicKeyBlob(material);
  const declared = blob.length > 4 && blob.readUInt32BE(0) <= blob.length - 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() : '';
  if (declared !== 'ssh-rsa' && declared !== 'ssh-ed25519') {
    if (/^(ecdsa-sha2-|ssh-dss)/.test(declared)) throw errors.keyFormat(`The key type ${declared} is not supported: only rsa and ed25519 keys are.`);
    throw errors.keyFormat('Key is not in valid OpenSSH public key format');
  }
  const type: KeyType = declared === 'ssh-rsa' ? 'rsa' : 'ed25519';
  if (type === 'ed25519' && blob.length !== 4 + 11 + 4 + 32) throw errors.keyFormat('Key is not in valid OpenSSH public key format');
  const line = `${declared} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
  return { type, line, fingerprint: importedFingerprint(type, blob), blob };
}

/**
 * A PuTTY private key file (format 3, unencrypted, as PuTTY 0.75+ writes it) for a key pair made here, for
 * CreateKeyPair's `KeyFormat=ppk`.
 */
export function toPpk(privateKeyPem: string, comment: string): string {
  const key = createPrivateKey(privateKeyPem);
  const jwk = key.export({ format: 'jwk' });
  const b = (v: string | undefined) => Buffer.from(v!, 'base64url');
  let algorithm: string;
  let publicBlob: Buffer;
  let privateBlob: Buffer;
  if (key.asymmetricKeyType === 'rsa') {
    algorithm = 'ssh-rsa';
    publicBlob = Buffer.concat([sshString(Buffer.from(algorithm)), sshMpint(b(jwk.e)), sshMpint(b(jwk.n))]);
    privateBlob = Buffer.concat([sshMpint(b(jwk.d)), sshMpint(b(jwk.p)), sshMpint(b(jwk.q)), sshMpint(b(jwk.qi))]);
  } else {
    algorithm = 'ssh-ed25519';
    publicBlob = Buffer.concat([sshString(Buffer.from(algorithm)), sshString(b(jwk.x))]);
    privateBlob = sshString(b(jwk.d));
  }
  // format 3 without encryption: no padding, and the MAC's key is empty
  const macInput = Buffer.concat([
    sshString(Buffer.from(algorithm)),
    sshString(Buffer.from('none')),
    sshString(Buffer.from(comment)),
    sshString(publicBlob),
    sshString(privateBlob),
  ]);
  const mac = createHmac('sha256', Buffer.alloc(0)).update(macInput).digest('hex');
  const lines = (data: Buffer) => data.toString('base64').match(/.{1,64}/g)!;
  const pub = lines(publicBlob);
  const priv = lines(privateBlob);
  return [
    `PuTTY-User-Key-File-3: ${algorithm}`,
    'Encryption: none',
    `Comment: ${comment}`,
    `Public-Lines: ${pub.length}`,
    ...pub,
    `Private-Lines: ${priv.length}`,
    ...priv,
    `Private-MAC: ${mac}`,
    '',
  ].join('\n');
}

/**
 * An unencrypted OpenSSH ed25519 private key (`openssh-key-v1`, what ssh-keygen writes) as PKCS#8 PEM, which Node's
 * crypto reads: the 32-byte seed is the first half of the private key field.
 */
export function openSshEd25519ToPkcs8(pem: string): string {
  const data = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (data.subarray(0, magic.length).toString('latin1') !== magic) throw new Error('not an OpenSSH private key');
  let at = magic.length;
  const next = () => {
    const length = data.readUInt32BE(at);
    const value = data.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  const cipher = next().toString();
  next(); // kdf name
  next(); // kdf options
  at += 4; // number of keys (1)
  next(); // public key
  if (cipher !== 'none') throw new Error('an encrypted OpenSSH private key');
  const section = next();
  at = 0;
  const read = () => {
    const length = section.readUInt32BE(at);
    const value = section.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  at = 8; // two check integers
  if (read().toString() !== 'ssh-ed25519') throw new Error('not an ed25519 key');
  const pub = read();
  const priv = read();
  const key = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: priv.subarray(0, 32).toString('base64url'), x: pub.toString('base64url') },
    format: 'jwk',
  });
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
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
    return this.insert(accountId, name, key.type, key.fingerprint, key.line);
  }

  private async insert(accountId: string, name: string, type: KeyType, fingerprint: string, line: string): Promise<KeyPairRow> {
    const [row] = await this.db('key_pairs')
      .insert({ id: newId('key'), account_id: accountId, name, key_type: type, fingerprint, public_key: line })
      .onConflict(['account_id', 'name'])
      .ignore()
      .returning('*');
    if (!row) throw errors.keyPairDuplicate(name);
    return row;
  }

  /** Makes a key pair (ssh-keygen); the private key is returned once, in PEM (PKCS#1 for RSA, as EC2's) or PuTTY's format. */
  async create(accountId: string, name: string, type: KeyType, format: 'pem' | 'ppk' = 'pem'): Promise<{ row: KeyPairRow; privateKey: string }> {
    validateKeyName(name);
    if (await this.find(accountId, name)) throw errors.keyPairDuplicate(name);
    const dir = await mkdtemp(path.join(tmpdir(), 'oarcloud-key-'));
    try {
      const file = path.join(dir, 'key');
      await runOk('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048', '-m', 'PEM'] : []), '-N', '', '-C', name, '-f', file]);
      const pem = await readFile(file, 'utf8');
      const key = parsePublicKey(await readFile(`${file}.pub`, 'utf8'));
      // ssh-keygen writes ed25519 keys in OpenSSH's own format (as EC2 returns them); Node reads PKCS#8
      const pkcs8 = type === 'ed25519' ? openSshEd25519ToPkcs8(pem) : pem;
      const row = await this.insert(accountId, name, type, createdFingerprint(type, pkcs8, key.blob), key.line);
      return { row, privateKey: format === 'ppk' ? toPpk(pkcs8, name) : pem };
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
