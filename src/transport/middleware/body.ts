import type { Middleware, ParameterizedContext } from 'koa';
import compose from 'koa-compose';
import { errors } from '../../domain/errors';

/** Reads the raw body (needed byte for byte by SigV4) under a size limit into ctx.state.rawBody. */
export const readRawBody =
  (maxBytes: number): Middleware =>
  async (ctx, next) => {
    const declared = Number(ctx.get('content-length') || 0);
    if (declared > maxBytes) throw errors.requestTooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw errors.requestTooLarge();
      chunks.push(chunk as Buffer);
    }
    ctx.state.rawBody = Buffer.concat(chunks);
    await next();
  };

/**
 * Reads the raw body, then merges the form body (on the Query wires; JSON, CBOR and REST-JSON bodies are the decoder's) and the
 * query string into the request's parameters (the first occurrence of a name wins).
 */
export const readBody = (maxBytes: number): Middleware =>
  compose<ParameterizedContext>([
    readRawBody(maxBytes),
    async (ctx, next) => {
      const raw: Buffer = ctx.state.rawBody;
      const params: Record<string, string> = {};
      const add = (search: URLSearchParams) => {
        for (const [k, v] of search) if (!(k in params)) params[k] = v;
      };
      add(new URLSearchParams(ctx.querystring));
      const documentWire = ctx.state.wire === 'json' || ctx.state.wire === 'cbor' || ctx.state.wire === 'rest-json';
      if (raw.length > 0 && !documentWire) {
        const type = ctx.get('content-type');
        if (ctx.method === 'POST' && type && !type.startsWith('application/x-www-form-urlencoded')) {
          throw errors.invalidHttpRequest(`Unsupported Content-Type '${type.slice(0, 100)}': the Query protocol takes application/x-www-form-urlencoded.`);
        }
        add(new URLSearchParams(raw.toString('utf8')));
      }
      ctx.state.params = params;
      await next();
    },
  ]);
