/** Resource identifiers in EC2's forms: a prefix and 17 lowercase hex digits (i-0123456789abcdef0). */
import { randomBytes, randomInt } from 'node:crypto';

export type IdPrefix =
  | 'i'
  | 'r'
  | 'ami'
  | 'key'
  | 'vol'
  | 'snap'
  | 'vpc'
  | 'subnet'
  | 'sg'
  | 'sgr'
  | 'eni'
  | 'igw'
  | 'rtb'
  | 'rtbassoc'
  | 'acl'
  | 'aclassoc'
  | 'eipalloc'
  | 'eipassoc';

export function newId(prefix: IdPrefix): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

export function isValidId(prefix: IdPrefix, id: string): boolean {
  return new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(id);
}

export function newRequestId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export function newAccessKeyId(): string {
  let s = 'AKIA';
  for (let i = 0; i < 16; i++) s += BASE32[randomInt(32)];
  return s;
}

export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'P').replace(/\//g, 's');
}

export function newAccountId(): string {
  let s = String(randomInt(1, 10));
  for (let i = 0; i < 11; i++) s += String(randomInt(10));
  return s;
}

/** Ids derived from an instance id, so that describing them needs no extra rows. */
export const derivedIds = {
  rootVolume: (instanceId: string) => `vol-${instanceId.slice(2)}`,
  networkInterface: (instanceId: string) => `eni-${instanceId.slice(2)}`,
  attachment: (instanceId: string) => `eni-attach-${instanceId.slice(2)}`,
  instanceOfVolume: (volumeId: string) => `i-${volumeId.slice(4)}`,
};

/** A name we gave an OAR job, a container or an overlay: an instance id. */
export function isInstanceId(name: string): boolean {
  return /^i-[0-9a-f]+$/.test(name);
}
