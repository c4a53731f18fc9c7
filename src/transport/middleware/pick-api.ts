import type { Middleware } from 'koa';
import type { ServiceModel } from '../../protocol/model';
import type { Action } from '../../actions/action';

/** One AWS service on the endpoint: its model (wire protocol, signing name) and its actions. */
export interface Api {
  model: ServiceModel;
  actions: Map<string, Action>;
}

/**
 * Picks the service a request is for from its SigV4 credential scope (`AKID/date/region/<service>/aws4_request`,
 * in the Authorization header or a presigned URL), before anything can fail: errors then come in that service's
 * envelope. Unsigned or unknown scopes go to the first API (EC2), whose signature check answers them.
 */
export const pickApi =
  (apis: Api[]): Middleware =>
  async (ctx, next) => {
    const presigned = ctx.query['X-Amz-Credential'];
    const credential = /Credential=([^,\s]+)/.exec(ctx.get('authorization'))?.[1] ?? (typeof presigned === 'string' ? presigned : undefined);
    const service = credential?.split('/')[3];
    ctx.state.api = apis.find((a) => a.model.signingName === service) ?? apis[0];
    await next();
  };
