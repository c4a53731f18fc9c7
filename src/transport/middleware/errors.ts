import type { Middleware } from 'koa';
import { Ec2Error, errors } from '../../protocol/errors';
import { encodeError } from '../../protocol/xml-encoder';
import type { Logger } from '../../log';

/** Errors a backing service raises while it is down or restarting: the client should retry. */
function isUnavailable(err: any): boolean {
  const codes = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08006', '08001', '08003'];
  return codes.includes(err?.code) || /Knex: Timeout acquiring a connection|Connection terminated/.test(String(err?.message));
}

/**
 * Turns every failure into EC2's error envelope (or, for the admin API, the same code and message as JSON);
 * never a stack trace on the wire.
 */
export const errorHandler = (log: Logger): Middleware => async (ctx, next) => {
  try {
    await next();
  } catch (err: any) {
    let e: Ec2Error;
    if (err instanceof Ec2Error) e = err;
    else if (typeof err?.code === 'string' && err.code.startsWith('22')) {
      // a PostgreSQL data exception: the input could not be represented (an action should have refused it first)
      e = errors.invalidParameterValue('(request)', '', 'A value in the request cannot be stored.');
      log.warn({ requestId: ctx.state.requestId, action: ctx.state.action, err: String(err?.message) }, 'data exception from input');
    } else if (isUnavailable(err)) {
      e = errors.unavailable();
      log.warn({ requestId: ctx.state.requestId, err: String(err?.message ?? err) }, 'backing service unavailable');
    } else {
      e = errors.internalError();
      log.error({ requestId: ctx.state.requestId, action: ctx.state.action, err }, 'internal error');
    }
    ctx.state.errorCode = e.code;
    ctx.status = e.status;
    if (ctx.state.errorFormat === 'json') {
      ctx.body = { error: { code: e.code, message: e.message }, requestId: ctx.state.requestId };
    } else {
      ctx.type = 'text/xml';
      ctx.body = encodeError(e.code, e.message, ctx.state.requestId);
    }
  }
};
