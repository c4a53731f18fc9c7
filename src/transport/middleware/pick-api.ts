import type { Middleware } from 'koa';
import type { ServiceModel } from '../../protocol/model';
import type { Action } from '../../actions/action';

/** One AWS service on the endpoint: its model (wire protocols, signing name) and its actions. */
export interface Api {
  model: ServiceModel;
  actions: Map<string, Action>;
}

/** How one request is encoded: EC2's Query dialect, the Query protocol, JSON 1.0, Smithy RPC v2 CBOR or REST-JSON. */
export type Wire = 'ec2' | 'query' | 'json' | 'cbor' | 'rest-json';

/** The wire a request for this service uses, from its path and headers (CloudWatch alone takes three). */
function wireOf(model: ServiceModel, path: string, headers: { target: string; contentType: string; smithy: string }): Wire {
  if (model.protocol === 'rest-json') return 'rest-json';
  if (model.protocols.includes('smithy-rpc-v2-cbor') && (path.startsWith('/service/') || headers.smithy === 'rpc-v2-cbor')) return 'cbor';
  if (model.protocols.includes('json') && (headers.target !== '' || headers.contentType.startsWith('application/x-amz-json-'))) return 'json';
  return model.protocol;
}

/**
 * Picks the service a request is for from its SigV4 credential scope (`AKID/date/region/<service>/aws4_request`,
 * in the Authorization header or a presigned URL), and its wire, before anything can fail: errors then come in that
 * service's and wire's envelope. Unsigned or unknown scopes go to the first API (EC2), whose signature check answers
 * them, but for SNS's ConfirmSubscription: its token is its credential (the link in a confirmation message).
 */
export const pickApi =
  (apis: Api[]): Middleware =>
  async (ctx, next) => {
    const presigned = ctx.query['X-Amz-Credential'];
    const credential = /Credential=([^,\s]+)/.exec(ctx.get('authorization'))?.[1] ?? (typeof presigned === 'string' ? presigned : undefined);
    const service = credential?.split('/')[3] ?? (ctx.query.Action === 'ConfirmSubscription' && ctx.query.Token ? 'sns' : undefined);
    const api = apis.find((a) => a.model.signingName === service) ?? apis[0];
    ctx.state.api = api;
    ctx.state.wire = wireOf(api.model, ctx.path, { target: ctx.get('x-amz-target'), contentType: ctx.get('content-type'), smithy: ctx.get('smithy-protocol') });
    await next();
  };
