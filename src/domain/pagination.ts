/** MaxResults/NextToken: keyset pagination on the resource id, so a token stays valid while rows change. */
import { errors } from './errors';

export function encodeToken(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId })).toString('base64url');
}

export function decodeToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed.after === 'string' && parsed.after.length > 0 && parsed.after.length <= 512) return parsed.after;
  } catch {
    // fall through
  }
  throw errors.invalidNextToken();
}

export function checkMaxResults(value: number | undefined, min: number, max: number, name = 'MaxResults'): number | undefined {
  if (value === undefined) return undefined;
  if (value < min || value > max) throw errors.invalidParameterValue(name, String(value), `It must be between ${min} and ${max}.`);
  return value;
}

/**
 * The page in `rows` (in key order, holding at most max + 1 rows past the token, or all of them) and the token of
 * the next page when there is one.
 */
export function takePage<T>(rows: T[], max: number | undefined, keyOf: (row: T) => string): { page: T[]; nextToken?: string } {
  if (max === undefined || rows.length <= max) return { page: rows };
  const page = rows.slice(0, max);
  return { page, nextToken: encodeToken(keyOf(page[page.length - 1])) };
}
