import type { Middleware } from 'koa';
import { encodeResponse } from '../../protocol/xml-encoder';
import { CONTENT_TYPE, encodeDocument } from '../../protocol/document-codec';
import { encodeRestJson, REST_JSON_CONTENT_TYPE } from '../../protocol/rest-json';
import type { Api, Wire } from './pick-api';

/** Writes the action's output on the request's wire: its service's XML, a JSON / CBOR document, or REST-JSON's body and status. */
export const encode = (): Middleware => async (ctx) => {
  const { action, result, requestId, api } = ctx.state;
  const wire = ctx.state.wire as Wire;
  const model = (api as Api).model;
  if (wire === 'rest-json') {
    const { status, body } = encodeRestJson(model, action, result ?? {});
    ctx.status = status;
    ctx.type = REST_JSON_CONTENT_TYPE;
    ctx.set('x-amzn-requestid', requestId);
    ctx.body = body;
    return;
  }
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
