import type { Middleware } from 'koa';
import { errors } from '../../domain/errors';
import { decodeQuery } from '../../protocol/query-decoder';
import { decodeDocument, parseBody } from '../../protocol/document-codec';
import { decodeRestJson } from '../../protocol/rest-json';
import type { Api, Wire } from './pick-api';

/**
 * The action a request names: `Action=` on the Query wires, X-Amz-Target on JSON, the path on RPC v2 CBOR, the
 * method and path on REST-JSON (the route it came by, see app.ts).
 */
function actionOf(api: Api, wire: Wire, ctx: { params: Record<string, string>; target: string; path: string; route?: string }): string {
  const prefix = api.model.targetPrefix;
  if (wire === 'rest-json') {
    if (!ctx.route) throw errors.invalidAction(ctx.path.slice(0, 100));
    return ctx.route;
  }
  if (wire === 'json') {
    const [service, action] = ctx.target.split('.');
    if (!ctx.target) throw errors.missingAction();
    if (service !== prefix || !action) throw errors.invalidAction(ctx.target.slice(0, 100));
    return action;
  }
  if (wire === 'cbor') {
    const match = /^\/service\/([^/]+)\/operation\/([^/]+)$/.exec(ctx.path);
    if (!match || match[1] !== prefix) throw errors.invalidAction(ctx.path.slice(0, 100));
    return match[2];
  }
  const action = ctx.params.Action;
  if (!action) throw errors.missingAction();
  return action;
}

/** Picks the action module and decodes its input, per the service's model and the request's wire. */
export const decode = (): Middleware => async (ctx, next) => {
  const api = ctx.state.api as Api;
  const wire = ctx.state.wire as Wire;
  const params: Record<string, string> = ctx.state.params;
  const action = actionOf(api, wire, { params, target: ctx.get('x-amz-target'), path: ctx.path, route: ctx.state.restOperation });
  ctx.state.action = action.slice(0, 100);
  const handler = api.actions.get(action);
  const op = api.model.operation(action);
  if (!handler || !op) throw errors.invalidAction(ctx.state.action);
  ctx.state.handler = handler;
  if (wire === 'rest-json') {
    const request = { labels: ctx.params ?? {}, query: new URLSearchParams(ctx.querystring), headers: ctx.headers, body: ctx.state.rawBody };
    ctx.state.input = decodeRestJson(api.model, action, request);
  } else if (wire === 'json' || wire === 'cbor') {
    ctx.state.input = decodeDocument(api.model, op.input, parseBody(wire, ctx.state.rawBody));
  } else {
    if (!params.Version) throw errors.missingParameter('Version');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(params.Version)) throw errors.invalidParameterValue('Version', params.Version);
    ctx.state.input = decodeQuery(api.model, op.input, params, handler.checksItself);
  }
  await next();
};
