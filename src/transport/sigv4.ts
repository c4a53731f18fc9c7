/**
 * Verification of AWS Signature Version 4, from the Authorization header or a presigned query string.
 * The canonical request and signature are computed by aws4, fed with exactly the headers the client signed
 * and the date it signed with; this module only parses, checks scope and time, and compares in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import aws4 from 'aws4';
import { errors } from '../domain/errors';

export interface SignedRequest {
  method: string;
  /** Path and raw query string as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
export interface VerifyOptions<C> {
  service: string;
  regions: string[];
  skewSeconds: number;
  now?: Date;
  lookup: (accessKeyId: string) => Promise<{ secret: string; caller: C } | undefined>;
}

interface Parsed {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  expires?: number;
  presigned: boolean;
}

const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

function parseCredential(credential: string): Pick<Parsed, 'accessKeyId' | 'date' | 'region' | 'service'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1])) {
    throw errors.incompleteSignature(`Credential should be scoped to a valid date, region and service: '${credential.slice(0, 200)}'.`);
  }
  return { accessKeyId: parts[0], date: parts[1], region: parts[2], service: parts[3] };
}

function parse(req: SignedRequest): Parsed {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(auth);
    if (!m) throw errors.incompleteSignature('Unsupported authorization type: only AWS4-HMAC-SHA256 is accepted.');
    const fields: Record<string, string> = {};
    for (const part of m[1].split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    for (const f of ['Credential', 'SignedHeaders', 'Signature']) {
      if (!fields[f]) throw errors.incompleteSignature(`Authorization header requires '${f}' parameter.`);
    }
    const amzDate = req.headers['x-amz-date'];
    if (typeof amzDate !== 'string') throw errors.incompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    return {
      ...parseCredential(fields.Credential),
      signedHeaders: fields.SignedHeaders.split(';'),
      signature: fields.Signature,
      amzDate,
      presigned: false,
    };
  }
  const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
  if (!query.has('X-Amz-Signature')) throw errors.missingAuthenticationToken();
  if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw errors.incompleteSignature('X-Amz-Algorithm must be AWS4-HMAC-SHA256.');
  for (const f of ['X-Amz-Credential', 'X-Amz-SignedHeaders', 'X-Amz-Date', 'X-Amz-Expires']) {
    if (!query.get(f)) throw errors.incompleteSignature(`A presigned request requires the ${f} parameter.`);
  }
  const expires = Number(query.get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
    throw errors.authFailure('X-Amz-Expires must be between 1 and 604800 seconds.');
  }
  return {
    ...parseCredential(query.get('X-Amz-Credential')!),
    signedHeaders: query.get('X-Amz-SignedHeaders')!.split(';'),
    signature: query.get('X-Amz-Signature')!,
    amzDate: query.get('X-Amz-Date')!,
    expires,
    presigned: true,
  };
}

function amzDateToMillis(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw errors.incompleteSignature(`Invalid X-Amz-Date '${amzDate.slice(0, 40)}': expected YYYYMMDDTHHMMSSZ.`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/** The signature aws4 computes for this request with the given secret (hex). */
export function computeSignature(req: SignedRequest, p: Parsed, secret: string): string {
  const headers: Record<string, string> = {};
  for (const name of p.signedHeaders) {
    const v = req.headers[name];
    headers[name] = Array.isArray(v) ? v.join(',') : (v ?? '');
  }
  let url = req.url;
  if (p.presigned) {
    // the signature itself is not part of what was signed
    const [path, query = ''] = url.split('?', 2);
    const kept = query.split('&').filter((kv) => !kv.startsWith('X-Amz-Signature='));
    url = kept.length ? `${path}?${kept.join('&')}` : path;
  }
  const signer = new aws4.RequestSigner(
    {
      method: req.method,
      path: url,
      headers,
      body: req.body as unknown as string,
      service: p.service,
      region: p.region,
      signQuery: p.presigned,
      doNotModifyHeaders: true,
      extraHeadersToInclude: Object.fromEntries(p.signedHeaders.map((h) => [h, true])),
    } as aws4.Request,
    { accessKeyId: p.accessKeyId, secretAccessKey: secret },
  ) as aws4.RequestSigner & { datetime: string };
  signer.datetime = p.amzDate;
  return signer.signature();
}

export async function verifySigV4<C>(req: SignedRequest, opts: VerifyOptions<C>): Promise<C> {
  const p = parse(req);
  if (!p.signedHeaders.includes('host')) throw errors.incompleteSignature("The 'host' header must be signed.");
  if (p.signedHeaders.some((h) => h !== h.toLowerCase() || h === '')) throw errors.incompleteSignature('SignedHeaders must be lowercase header names.');
  // headers that carry what was signed must be signed themselves, or a replay could change the date
  for (const h of ['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) {
    if (req.headers[h] !== undefined && !p.presigned && !p.signedHeaders.includes(h)) {
      throw errors.signatureDoesNotMatch();
    }
  }
  const signedAt = amzDateToMillis(p.amzDate);
  if (p.amzDate.slice(0, 8) !== p.date) {
    throw errors.signatureDoesNotMatch();
  }
  if (p.service !== opts.service) {
    throw errors.authFailure(`Credential should be scoped to correct service: '${opts.service}'.`);
  }
  if (!opts.regions.includes(p.region)) {
    throw errors.authFailure(`Credential should be scoped to a valid region: one of ${opts.regions.join(', ')}.`);
  }
  const now = (opts.now ?? new Date()).getTime();
  if (p.presigned) {
    if (signedAt - now > opts.skewSeconds * 1000) throw errors.requestExpired('Request is not yet valid.');
    if (now > signedAt + p.expires! * 1000) throw errors.requestExpired('Request has expired.');
  } else if (Math.abs(now - signedAt) > opts.skewSeconds * 1000) {
    throw errors.requestExpired(`Request has expired: the signing date ${p.amzDate} is more than ${opts.skewSeconds / 60} minutes from the server time.`);
  }
  const found = await opts.lookup(p.accessKeyId);
  if (!found) throw errors.authFailure();
  const expected = Buffer.from(computeSignature(req, p, found.secret), 'utf8');
  const given = Buffer.from(p.signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw errors.signatureDoesNotMatch();
  return found.caller;
}
