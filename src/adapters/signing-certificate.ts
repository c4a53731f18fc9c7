/**
 * The key SNS messages are signed with and its self-signed X.509 certificate (which receivers fetch from the
 * message's SigningCertURL), made once with openssl (Node's crypto cannot issue certificates).
 */
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runOk } from './exec';

export interface SigningPair {
  keyPem: string;
  certPem: string;
}

export async function makeSigningPair(commonName: string): Promise<SigningPair> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-sns-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    await runOk('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '3650',
      '-subj',
      `/CN=${commonName}`,
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    return { keyPem: readFileSync(key, 'utf8'), certPem: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SHA256withRSA, base64: SNS's SignatureVersion 2. */
export function signSha256(keyPem: string, text: string): string {
  return createSign('RSA-SHA256').update(text, 'utf8').sign(keyPem, 'base64');
}
