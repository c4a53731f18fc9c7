import type { Middleware } from 'koa';
import { errors } from '../../domain/errors';
import { decodeQuery } from '../../protocol/query-decoder';
import type { Api } from './pick-api';

/** Picks the action module and decodes its input from the Query parameters, per the service's model. */
export const decode = (): Middleware => async (ctx, next) => {
  const { model, actions } = ctx.state.api as Api;
  const params: Record<string, string> = ctx.state.params;
  const action = params.Action;
  if (!action) throw errors.missingAction();
  ctx.state.action = action.slice(0, 100);
  const handler = actions.get(action);
  const op = model.operation(action);
  if (!handler || !op) throw errors.invalidAction(ctx.state.action);
  if (!params.Version) throw errors.missingParameter('Version');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(params.Version)) throw errors.invalidParameterValue('Version', params.Version);
  ctx.state.handler = handler;
  ctx.state.input = decodeQuery(model, op.input, params);
  await next();
};
