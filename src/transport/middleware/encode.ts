import type { Middleware } from 'koa';
import { operation } from '../../protocol/model';
import { encodeResponse } from '../../protocol/xml-encoder';

/** Writes the action's output as EC2 XML, element names from the model. */
export const encode = (): Middleware => async (ctx) => {
  const { action, result, requestId } = ctx.state;
  ctx.type = 'text/xml';
  ctx.body = encodeResponse(action, operation(action)!.output, requestId, result);
};
