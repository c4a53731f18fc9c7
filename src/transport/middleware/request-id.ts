import type { Middleware } from 'koa';
import { newRequestId } from '../../domain/ids';

/** Gives every request an id: in the response body, the x-amzn-RequestId header and the access log. */
export const requestId = (): Middleware => async (ctx, next) => {
  ctx.state.requestId = newRequestId();
  ctx.set('x-amzn-RequestId', ctx.state.requestId);
  await next();
};
