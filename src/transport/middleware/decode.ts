import type { Middleware } from 'koa';
import { errors } from '../../domain/errors';
import { operation } from '../../protocol/model';
import { decodeQuery } from '../../protocol/query-decoder';
import type { Action } from '../../actions/action';

/** Picks the action module and decodes its input from the Query parameters, per the EC2 model. */
export const decode =
  (actions: Map<string, Action>): Middleware =>
  async (ctx, next) => {
    const params: Record<string, string> = ctx.state.params;
    const action = params.Action;
    if (!action) throw errors.missingAction();
    ctx.state.action = action.slice(0, 100);
    const handler = actions.get(action);
    const op = operation(action);
    if (!handler || !op) throw errors.invalidAction(ctx.state.action);
    if (!params.Version) throw errors.missingParameter('Version');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(params.Version)) throw errors.invalidParameterValue('Version', params.Version);
    ctx.state.handler = handler;
    ctx.state.input = decodeQuery(op.input, params);
    await next();
  };
