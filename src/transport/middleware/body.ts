import type { Middleware } from 'koa';
import { errors } from '../../protocol/errors';

/**
 * Reads the raw body (needed byte for byte by SigV4) under a size limit, then merges the form body and the
 * query string into the request's parameters (the first occurrence of a name wins).
 */
export const readBody = (maxBytes: number): Middleware => async (ctx, next) => {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > maxBytes) throw errors.requestTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw errors.requestTooLarge();
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  ctx.state.rawBody = raw;
  const params: Record<string, string> = {};
  const add = (search: URLSearchParams) => {
    for (const [k, v] of search) if (!(k in params)) params[k] = v;
  };
  add(new URLSearchParams(ctx.querystring));
  if (raw.length > 0) {
    const type = ctx.get('content-type');
    if (ctx.method === 'POST' && type && !type.startsWith('application/x-www-form-urlencoded')) {
      throw errors.invalidHttpRequest(`Unsupported Content-Type '${type.slice(0, 100)}': the EC2 Query protocol takes application/x-www-form-urlencoded.`);
    }
    add(new URLSearchParams(raw.toString('utf8')));
  }
  ctx.state.params = params;
  await next();
};
