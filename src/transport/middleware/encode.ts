import type { Middleware } from 'koa';
import { encodeResponse } from '../../protocol/xml-encoder';
import type { Api } from './pick-api';

/** Writes the action's output as its service's XML, element names from the model. */
export const encode = (): Middleware => async (ctx) => {
  const { action, result, requestId, api } = ctx.state;
  ctx.type = 'text/xml';
  ctx.body = encodeResponse((api as Api).model, action, requestId, result ?? {});
};
