import type { Middleware } from 'koa';
import type { Logger } from '../../log';

/** One JSON line per request: id, action, account, status, error code and latency. */
export const accessLog =
  (log: Logger): Middleware =>
  async (ctx, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      log.info(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          action: ctx.state.action,
          account: ctx.state.caller?.accountId,
          status: ctx.status,
          error: ctx.state.errorCode,
          ms: Number(process.hrtime.bigint() - start) / 1e6,
        },
        'request',
      );
    }
  };
