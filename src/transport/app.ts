/**
 * The HTTP surface: one Koa chain for the AWS services (GET and POST on /: EC2, and ELBv2, SNS and CloudWatch on
 * the Query protocol, told apart by the credential scope; CloudWatch also on JSON 1.0 and, on
 * /service/../operation/.., RPC v2 CBOR; EventBridge Scheduler on REST-JSON, on the paths its model gives), each step its own middleware: request id → access log → errors → service →
 * body → SigV4 → decode → dispatch → encode (the access log sits outside the error handler so that it logs the
 * status the handler chose). Beside it, under /_oarcloud: the health check, the admin JSON API and the admin
 * dashboard, the account API (each user's own events), and the SNS messages' certificate and unsubscribe links.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import type { Services } from '../services';
import { DATABASE_SECRETS_FILE } from '../config';
import { requestId } from './middleware/request-id';
import { errorHandler } from './middleware/errors';
import { accessLog } from './middleware/access-log';
import { readBody } from './middleware/body';
import { authenticate } from './middleware/authenticate';
import { decode } from './middleware/decode';
import { dispatch } from './middleware/dispatch';
import { encode } from './middleware/encode';
import { pickApi, type Api } from './middleware/pick-api';
import { restRoutes } from '../protocol/rest-json';
import { adminApi } from '../admin/api';
import { snsLinks } from './sns-links';
import { ACCOUNT_API, accountApi } from './account-api';
import { dashboard, DASHBOARD } from '../admin/dashboard';
import compose from 'koa-compose';

/**
 * Identifies the build a server runs and the database passwords it was started with, so that `oarcloud up`/`test`
 * replace a server started from older code or with passwords provisioning has since changed.
 */
export function buildStamp(): string {
  const mtime = (file: string) => {
    try {
      return String(statSync(file).mtimeMs);
    } catch {
      return 'none';
    }
  };
  return `${mtime(path.join(__dirname, '..', '..', '.built'))}/${mtime(DATABASE_SECRETS_FILE)}`;
}

/**
 * `apis`: the services on the endpoint, the default (EC2) first; `status` adds to the health answer what the server
 * knows of itself (whether it leads the loops).
 */
export function createApp(services: Services, apis: Api[], status: () => Record<string, unknown> = () => ({})): Koa {
  const build = buildStamp();
  const { config, log, credentials } = services;
  const app = new Koa();
  app.proxy = false;
  app.silent = true;
  const router = new Router();
  const aws = [
    pickApi(apis),
    readBody(config.maxBodyBytes),
    authenticate((id) => credentials.resolve(id), { regions: config.regions, skewSeconds: config.clockSkewSeconds }),
    decode(),
    dispatch(services),
    encode(),
  ];
  router.get('/_oarcloud/health', (ctx) => {
    ctx.body = { ok: true, build, pid: process.pid, ...status() };
  });
  router.post('/', ...aws);
  router.get('/', ...aws);
  // Smithy RPC v2 (CloudWatch over CBOR) names the service and the operation in the path
  router.post('/service/:service/operation/:operation', ...aws);
  // REST-JSON services: each operation on its own method and path; the route names the operation
  for (const api of apis.filter((a) => a.model.protocol === 'rest-json')) {
    for (const { method, path: routePath, operation } of restRoutes(api.model)) {
      const named: Koa.Middleware = (ctx, next) => {
        ctx.state.restOperation = operation;
        return next();
      };
      router.register(routePath, [method], [named, ...aws]);
    }
  }
  app.use(requestId());
  app.use(accessLog(log));
  app.use(errorHandler(log));
  // the admin routes are looked at only under their prefix: EC2 requests (the hot path) skip their matching
  const adminRoutes = compose<Koa.ParameterizedContext>([adminApi(services).routes() as Koa.Middleware, dashboard().routes() as Koa.Middleware]);
  app.use((ctx, next) => (ctx.path.startsWith(DASHBOARD) ? adminRoutes(ctx, next) : next()));
  const accountRoutes = accountApi(services).routes() as Koa.Middleware;
  app.use((ctx, next) => (ctx.path.startsWith(ACCOUNT_API) ? accountRoutes(ctx, next) : next()));
  app.use(snsLinks(services).routes());
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
