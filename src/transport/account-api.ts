/**
 * The account API under /_oarcloud/api, for every user (the admin API is for admins): requests signed with SigV4 for
 * the service "oarcloud" by any access key, answered in JSON about the caller's own account only. Today: the events
 * of the account's resources (state changes, resizes and who asked for them, schedule runs), which EC2 itself has no
 * call for; `oarcloud my-events` reads it with the aws CLI's credentials.
 */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { errors } from '../domain/errors';
import type { Services } from '../services';
import { verifySigV4 } from './sigv4';
import { readRawBody } from './middleware/body';

export const ACCOUNT_API = '/_oarcloud/api';

export function accountApi(services: Services): Router {
  const { config, credentials } = services;
  const router = new Router({ prefix: ACCOUNT_API });
  const signed: Middleware = async (ctx, next) => {
    ctx.state.errorFormat = 'json';
    ctx.set('Cache-Control', 'no-store');
    if (!ctx.get('authorization') && !ctx.query['X-Amz-Signature']) throw errors.missingAuthenticationToken();
    ctx.state.caller = await verifySigV4(
      { method: ctx.method, url: ctx.url, headers: ctx.headers, body: ctx.state.rawBody },
      { service: 'oarcloud', regions: config.regions, skewSeconds: config.clockSkewSeconds, lookup: (id) => credentials.resolve(id) },
    );
    await next();
  };
  router.use(readRawBody(config.maxBodyBytes), signed);
  router.get('/events', async (ctx) => {
    const limit = Number(ctx.query.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw errors.invalidParameterValue('limit', String(ctx.query.limit), 'It must be from 1 to 500.');
    const text = (name: string) => (typeof ctx.query[name] === 'string' && ctx.query[name] !== '' ? (ctx.query[name] as string) : undefined);
    const events = await services.events.ofAccount(ctx.state.caller.accountId, { resourceId: text('resource'), kind: text('kind'), limit });
    ctx.body = { events: events.map((e) => ({ id: e.id, at: e.at, kind: e.kind, resourceId: e.resourceId, message: e.message })) };
  });
  return router;
}
