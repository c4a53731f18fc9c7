import type { Middleware } from 'koa';
import { errors } from '../../domain/errors';
import type { Services } from '../../services';

/** Runs the action; DryRun answers as EC2 does once the caller is known to be allowed. */
export const dispatch =
  (services: Services): Middleware =>
  async (ctx, next) => {
    const { handler, input, caller, requestId } = ctx.state;
    if (input.DryRun === true) throw errors.dryRunOperation();
    ctx.state.result = await handler.handle(input, { caller, requestId, services, log: services.log.child({ requestId }) });
    await next();
  };
