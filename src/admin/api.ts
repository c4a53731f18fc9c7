/**
 * The admin JSON API under /_oarcloud/admin/api, for admins only: the dashboard signs in and holds a session
 * cookie; scripts sign each request with SigV4 for the service "oarcloud" instead. A plain user's key gets 403
 * UnauthorizedOperation on every route. Errors use the EC2 catalogue's codes, as JSON.
 */
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { errors } from '../domain/errors';
import { verifySigV4 } from '../transport/sigv4';
import { readRawBody } from '../transport/middleware/body';
import type { Services } from '../services';
import type { Caller } from '../domain/accounts';
import { SESSION_COOKIE, SESSION_HOURS } from '../domain/admin-sessions';
import { SnapshotFeed } from './feed';

export const ADMIN_API = '/_oarcloud/admin/api';
const SESSION_RECHECK_MS = 10_000;
const HEARTBEAT_MS = 15_000;

const who = (caller: Caller) => `${caller.userName}@${caller.accountName}`;

function jsonBody(ctx: Context): Record<string, unknown> {
  const raw: Buffer = ctx.state.rawBody;
  if (!raw || raw.length === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw errors.invalidParameterValue('body', raw.toString('utf8', 0, 40), 'The body must be a JSON object.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.invalidParameterValue('body', '', 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

function wholeNumber(body: Record<string, unknown>, name: string, opts: { nullable?: boolean } = {}): number | null | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (v === null && opts.nullable) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw errors.invalidParameterValue(name, String(v), 'It must be a whole number.');
  return v;
}

export function adminApi(services: Services): Router {
  const { admin, config, credentials, log, adminSessions: sessions } = services;
  const feed = new SnapshotFeed(admin, log.child({ component: 'dashboard' }));
  const router = new Router({ prefix: ADMIN_API });

  const jsonErrors: Middleware = async (ctx, next) => {
    ctx.state.errorFormat = 'json';
    ctx.set('Cache-Control', 'no-store');
    await next();
  };

  /** Who calls: SigV4 (scripts) or the session cookie (dashboard). Only admins go further. */
  const adminOnly: Middleware = async (ctx, next) => {
    let caller: Caller | undefined;
    if (ctx.get('authorization') || ctx.query['X-Amz-Signature']) {
      caller = await verifySigV4(
        { method: ctx.method, url: ctx.url, headers: ctx.headers, body: ctx.state.rawBody },
        { service: 'oarcloud', regions: config.regions, skewSeconds: config.clockSkewSeconds, lookup: (id) => credentials.resolve(id) },
      );
    } else {
      caller = await sessions.resolve(ctx.cookies.get(SESSION_COOKIE));
      if (!caller) throw errors.adminSignInRequired();
      // a browser sends the cookie on its own: a change must carry a header only our page's scripts can set
      // (another site's form cannot, and its scripts would need a CORS preflight we never grant)
      if (ctx.method !== 'GET' && ctx.get('x-oarcloud-admin') !== '1') throw errors.adminOnly();
    }
    if (caller.role !== 'admin') throw errors.adminOnly();
    ctx.state.caller = caller;
    await next();
  };

  router.use(jsonErrors, readRawBody(config.maxBodyBytes));

  // ------------------------------------------------------------------------------------------ session
  router.post('/session', async (ctx) => {
    const body = jsonBody(ctx);
    const accessKeyId = typeof body.accessKeyId === 'string' ? body.accessKeyId.trim() : '';
    const secret = typeof body.secretAccessKey === 'string' ? body.secretAccessKey.trim() : '';
    if (!accessKeyId || !secret) throw errors.missingParameter(accessKeyId ? 'secretAccessKey' : 'accessKeyId');
    const result = await sessions.signIn(accessKeyId, secret);
    if ('error' in result) {
      log.warn({ accessKeyId: accessKeyId.slice(0, 32), ip: ctx.ip, why: result.error }, 'admin sign-in refused');
      throw result.error === 'not-admin' ? errors.adminOnly() : errors.authFailure('The access key or secret is wrong.');
    }
    ctx.cookies.set(SESSION_COOKIE, result.token, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/_oarcloud/admin',
      maxAge: SESSION_HOURS * 3600_000,
      overwrite: true,
    });
    ctx.body = { user: result.caller.userName, account: result.caller.accountName, accessKeyId: result.caller.accessKeyId };
  });
  router.get('/session', adminOnly, (ctx) => {
    const caller: Caller = ctx.state.caller;
    ctx.body = { user: caller.userName, account: caller.accountName, accessKeyId: caller.accessKeyId };
  });
  router.delete('/session', async (ctx) => {
    await sessions.signOut(ctx.cookies.get(SESSION_COOKIE));
    ctx.cookies.set(SESSION_COOKIE, '', { path: '/_oarcloud/admin', maxAge: 0 });
    ctx.status = 204;
  });

  // ------------------------------------------------------------------------------------------ reads
  router.get('/snapshot', adminOnly, async (ctx) => {
    ctx.body = await admin.snapshot();
  });
  router.get('/nodes', adminOnly, async (ctx) => {
    ctx.body = { nodes: await admin.nodes() };
  });
  router.get('/instances', adminOnly, async (ctx) => {
    const q = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined);
    ctx.body = { instances: await admin.instances({ account: q('account'), state: q('state') }) };
  });
  router.get('/accounts', adminOnly, async (ctx) => {
    ctx.body = { accounts: await admin.accounts() };
  });
  router.get('/images', adminOnly, async (ctx) => {
    ctx.body = { images: await admin.images() };
  });
  router.get('/events', adminOnly, async (ctx) => {
    const limit = Number(ctx.query.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw errors.invalidParameterValue('limit', String(ctx.query.limit), 'It must be from 1 to 500.');
    ctx.body = { events: await admin.events({ limit, errorsOnly: ctx.query.errors === '1' || ctx.query.errors === 'true' }) };
  });

  /** Server-sent events: a `snapshot` event whenever the cluster changes (checked every second). */
  router.get('/stream', adminOnly, (ctx) => {
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    ctx.status = 200;
    ctx.body = stream;
    const token = ctx.cookies.get(SESSION_COOKIE);
    const unsubscribe = feed.subscribe((json) => stream.write(`event: snapshot\ndata: ${json}\n\n`));
    const heartbeat = setInterval(() => stream.write(': still here\n\n'), HEARTBEAT_MS);
    // a session that ends (sign-out, revoked key) ends its stream too
    const recheck = token
      ? setInterval(
          () =>
            void sessions.resolve(token).then(
              (c) => {
                if (!c) {
                  stream.write('event: signed-out\ndata: {}\n\n');
                  stream.end();
                }
              },
              () => undefined,
            ),
          SESSION_RECHECK_MS,
        )
      : undefined;
    const stop = () => {
      unsubscribe();
      clearInterval(heartbeat);
      if (recheck) clearInterval(recheck);
    };
    ctx.req.on('close', stop);
    stream.on('close', stop);
  });

  // ------------------------------------------------------------------------------------------ nodes
  router.post('/nodes', adminOnly, async (ctx) => {
    const body = jsonBody(ctx);
    if (typeof body.host !== 'string' || !body.host) throw errors.missingParameter('host');
    const cores = wholeNumber(body, 'cores');
    const memoryMib = wholeNumber(body, 'memoryMib');
    if (cores == null) throw errors.missingParameter('cores');
    if (memoryMib == null) throw errors.missingParameter('memoryMib');
    ctx.status = 201;
    ctx.body = { node: await admin.addNode(who(ctx.state.caller), body.host, cores, memoryMib) };
  });
  router.post('/nodes/:host/drain', adminOnly, async (ctx) => {
    const body = jsonBody(ctx);
    if (typeof body.drain !== 'boolean') throw errors.invalidParameterValue('drain', String(body.drain), 'It must be true or false.');
    ctx.body = { node: await admin.drainNode(who(ctx.state.caller), ctx.params.host, body.drain) };
  });
  router.post('/nodes/:host/state', adminOnly, async (ctx) => {
    const body = jsonBody(ctx);
    if (body.state !== 'Alive' && body.state !== 'Absent') throw errors.invalidParameterValue('state', String(body.state), 'It must be Alive or Absent.');
    ctx.body = { node: await admin.setNodeState(who(ctx.state.caller), ctx.params.host, body.state, body.force === true) };
  });
  router.delete('/nodes/:host', adminOnly, async (ctx) => {
    await admin.removeNode(who(ctx.state.caller), ctx.params.host, ctx.query.force === '1' || ctx.query.force === 'true');
    ctx.status = 204;
  });

  // ------------------------------------------------------------------------------------------ instances
  for (const [action, to] of [
    ['terminate', 'terminated'],
    ['stop', 'stopped'],
  ] as const) {
    router.post(`/instances/:id/${action}`, adminOnly, async (ctx) => {
      ctx.body = { instance: await admin.changeInstance(who(ctx.state.caller), ctx.params.id, to) };
    });
  }

  // ------------------------------------------------------------------------------------------ access rights
  router.get('/keys', adminOnly, async (ctx) => {
    ctx.body = { keys: await admin.keys() };
  });
  router.post('/accounts', adminOnly, async (ctx) => {
    const body = jsonBody(ctx);
    if (typeof body.name !== 'string' || !body.name) throw errors.missingParameter('name');
    ctx.status = 201;
    ctx.body = { account: await admin.createAccount(who(ctx.state.caller), body.name) };
  });
  router.delete('/accounts/:account', adminOnly, async (ctx) => {
    await admin.deleteAccount(who(ctx.state.caller), ctx.params.account);
    ctx.status = 204;
  });
  /** The secret is in this answer only, as with `oarcloud key create`. */
  router.post('/accounts/:account/keys', adminOnly, async (ctx) => {
    const body = jsonBody(ctx);
    const user = body.user ?? 'default';
    const role = body.role ?? 'user';
    if (typeof user !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(user))
      throw errors.invalidParameterValue('user', String(user), 'Letters, digits, ".", "_", "@", "-"; at most 64.');
    if (role !== 'user' && role !== 'admin') throw errors.invalidParameterValue('role', String(role), 'It must be user or admin.');
    ctx.status = 201;
    ctx.body = { key: await admin.createKey(who(ctx.state.caller), ctx.params.account, user, role) };
  });
  router.post('/keys/:accessKeyId/revoke', adminOnly, async (ctx) => {
    await admin.revokeKey(who(ctx.state.caller), ctx.params.accessKeyId);
    ctx.status = 204;
  });

  // ------------------------------------------------------------------------------------------ monitoring
  /** CPU and network of instances (by id) or of a node's instances, the last `minutes` in `step`-second points. */
  router.get('/metrics', adminOnly, async (ctx) => {
    const minutes = Math.min(Math.max(Number(ctx.query.minutes ?? 30) || 30, 1), 180);
    const step = Math.min(Math.max(Number(ctx.query.step ?? 10) || 10, 10), 3600);
    const ids = String(ctx.query.instances ?? '')
      .split(',')
      .filter((id) => /^i-[0-9a-f]{8,17}$/.test(id))
      .slice(0, 200);
    ctx.body = {
      step,
      series: await services.metrics.instanceSeries(ids, ['CPUUtilization', 'NetworkIn', 'NetworkOut'], minutes, step),
    };
  });

  // ------------------------------------------------------------------------------------------ notifications
  router.get('/notify', adminOnly, async (ctx) => {
    ctx.body = await services.notifier.setup();
  });
  router.post('/notify/subscriptions', adminOnly, async (ctx) => {
    const body = jsonBody(ctx);
    const protocol = body.protocol;
    if (protocol !== 'email' && protocol !== 'email-json' && protocol !== 'http' && protocol !== 'https')
      throw errors.invalidParameterValue('protocol', String(protocol), 'It must be email, email-json, http or https.');
    if (typeof body.endpoint !== 'string' || !body.endpoint) throw errors.missingParameter('endpoint');
    ctx.status = 201;
    ctx.body = { subscriptionArn: await services.notifier.subscribe(protocol, body.endpoint) };
  });
  router.delete('/notify/subscriptions', adminOnly, async (ctx) => {
    const endpoint = String(ctx.query.endpoint ?? '');
    if (!(await services.notifier.unsubscribe(endpoint))) throw errors.notFound(`Nothing is subscribed at '${endpoint.slice(0, 200)}'.`);
    ctx.status = 204;
  });
  router.post('/notify/test', adminOnly, async (ctx) => {
    ctx.body = { messageId: await services.notifier.test() };
  });

  // ------------------------------------------------------------------------------------------ quotas
  router.put('/accounts/:account/quota', adminOnly, async (ctx) => {
    const body = jsonBody(ctx);
    const account = await services.accounts.find(ctx.params.account);
    if (!account) throw errors.notFound(`There is no account '${ctx.params.account}'.`);
    const setting = { maxInstances: wholeNumber(body, 'maxInstances', { nullable: true }), maxCores: wholeNumber(body, 'maxCores', { nullable: true }) };
    const limits = await admin.setQuota(who(ctx.state.caller), account.id, setting);
    ctx.body = { accountId: account.id, limits };
  });

  router.all('{/*rest}', async () => {
    throw errors.notFound('There is no such admin API route.');
  });
  return router;
}
