import type { Middleware } from 'koa';
import { DomainError, errors } from '../../domain/errors';
import { toWire } from '../../protocol/errors';
import { encodeError } from '../../protocol/xml-encoder';
import { ec2Model } from '../../protocol/model';
import { databaseFailure } from '../../adapters/db';
import type { Logger } from '../../log';

/** Anything thrown, as a DomainError: database failures by what they mean, the rest as an internal error. */
function asDomainError(err: any, ctx: { state: Record<string, any> }, log: Logger): DomainError {
  if (err instanceof DomainError) return err;
  const failure = databaseFailure(err);
  if (failure === 'data') {
    // the input could not be represented (an action should have refused it first)
    log.warn({ requestId: ctx.state.requestId, action: ctx.state.action, err: String(err?.message) }, 'data exception from input');
    return errors.invalidParameterValue('(request)', '', 'A value in the request cannot be stored.');
  }
  if (failure === 'unavailable') {
    log.warn({ requestId: ctx.state.requestId, err: String(err?.message ?? err) }, 'backing service unavailable');
    return errors.unavailable();
  }
  log.error({ requestId: ctx.state.requestId, action: ctx.state.action, err }, 'internal error');
  return errors.internalError();
}

/**
 * Turns every failure into the wire's error: the XML envelope of the service the request is for (EC2's, or the
 * Query protocol's for ELBv2), or for the admin API (`ctx.state.errorFormat` 'json') the same code and message as
 * JSON; never a stack trace.
 */
export const errorHandler =
  (log: Logger): Middleware =>
  async (ctx, next) => {
    try {
      await next();
    } catch (err: any) {
      const format = ctx.state.errorFormat === 'json' ? 'json' : 'ec2-xml';
      const wire = toWire(asDomainError(err, ctx, log), format);
      ctx.state.errorCode = wire.code;
      ctx.status = wire.status;
      if (format === 'json') {
        ctx.body = { error: { code: wire.code, message: wire.message }, requestId: ctx.state.requestId };
      } else {
        ctx.type = 'text/xml';
        const model = ctx.state.api?.model ?? ec2Model;
        ctx.body = encodeError(model, wire.code, wire.message, ctx.state.requestId, wire.status < 500);
      }
    }
  };
