import type { Middleware } from 'koa';
import { DomainError, errors } from '../../domain/errors';
import { toWire } from '../../protocol/errors';
import { encodeError } from '../../protocol/xml-encoder';
import { CONTENT_TYPE, encodeDocumentError } from '../../protocol/document-codec';
import { encodeRestJsonError, REST_JSON_CONTENT_TYPE } from '../../protocol/rest-json';
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
 * Query protocol's for ELBv2, SNS and CloudWatch), JSON 1.0's or RPC v2 CBOR's document (CloudWatch), REST-JSON's
 * (EventBridge Scheduler), or for the
 * admin API (`ctx.state.errorFormat` 'json') the same code and message as JSON; never a stack trace.
 */
export const errorHandler =
  (log: Logger): Middleware =>
  async (ctx, next) => {
    try {
      await next();
    } catch (err: any) {
      const model = ctx.state.api?.model ?? ec2Model;
      const format = ctx.state.errorFormat === 'json' ? 'json' : model.protocol === 'ec2' ? 'ec2-xml' : 'modelled';
      const wire = toWire(asDomainError(err, ctx, log), format, model.errorStatus);
      ctx.state.errorCode = wire.code;
      ctx.status = wire.status;
      if (format === 'json') {
        ctx.body = { error: { code: wire.code, message: wire.message }, requestId: ctx.state.requestId };
      } else if (ctx.state.wire === 'rest-json') {
        const { body, headers } = encodeRestJsonError(wire.code, wire.message);
        ctx.set(headers);
        ctx.set('x-amzn-requestid', ctx.state.requestId);
        ctx.type = REST_JSON_CONTENT_TYPE;
        ctx.body = body;
      } else if (ctx.state.wire === 'json' || ctx.state.wire === 'cbor') {
        const { body, headers } = encodeDocumentError(ctx.state.wire, wire.code, wire.message, wire.status < 500);
        ctx.set(headers);
        if (ctx.state.wire === 'cbor') ctx.set('smithy-protocol', 'rpc-v2-cbor');
        ctx.type = CONTENT_TYPE[ctx.state.wire as 'json' | 'cbor'];
        ctx.body = body;
      } else {
        ctx.type = 'text/xml';
        ctx.body = encodeError(model, wire.code, wire.message, ctx.state.requestId, wire.status < 500);
      }
    }
  };
