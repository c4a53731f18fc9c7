import type { Middleware } from 'koa';
import { encodeResponse } from '../../protocol/xml-encoder';
import { CONTENT_TYPE, encodeDocument } from '../../protocol/document-codec';
import type { Api, Wire } from './pick-api';

/** Writes the action's output on the request's wire: its service's XML, or a JSON / CBOR document. */
export const encode = (): Middleware => async (ctx) => {
  const { action, result, requestId, api } = ctx.state;
  const wire = ctx.state.wire as Wire;
  const model = (api as Api).model;
  if (wire === 'json' || wire === 'cbor') {
    ctx.type = CONTENT_TYPE[wire];
    if (wire === 'cbor') ctx.set('smithy-protocol', 'rpc-v2-cbor');
    ctx.set('x-amzn-requestid', requestId);
    ctx.body = encodeDocument(model, action, result ?? {}, wire);
    return;
  }
  ctx.type = 'text/xml';
  ctx.body = encodeResponse(model, action, requestId, result ?? {});
};
