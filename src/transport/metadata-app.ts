/**
 * The instance metadata service (IMDS) as instances see it at http://169.254.169.254/: IMDSv2 session tokens
 * (PUT /latest/api/token) and v1, `meta-data/`, `user-data` and `dynamic/instance-identity/document`.
 *
 * Who asks is told by the connection: from the shared network (a default VPC; this machine's NAT sends
 * 169.254.169.254:80 here) its source address names the instance; from a VPC, the connection comes from the relay in
 * the VPC's router (an uplink address here, or a node's address), which adds `X-Oarcloud-Source: <vni> <address>`
 * as the first header of a one-request connection. Any other source is refused.
 */
import Koa from 'koa';
import type { Services } from '../services';
import { MAX_TOKEN_TTL_SECONDS } from '../domain/instance-metadata';

export const RELAY_HEADER = 'x-oarcloud-source';

export interface MetadataSources {
  /** Whether an address is in the shared network (its instances are named by their address). */
  shared(address: string): boolean;
  /** Whether an address is a VPC router's relay (a local uplink, or a compute node). */
  relay(address: string): boolean;
}

const VERSION = /^(latest|\d{4}-\d{2}-\d{2})$/;

export function createMetadataApp(services: Services, sources: MetadataSources): Koa {
  const app = new Koa();
  app.use(async (ctx) => {
    ctx.type = 'text/plain';
    const remote = (ctx.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    let instance;
    if (sources.shared(remote)) instance = await services.metadata.find(remote, null);
    else if (sources.relay(remote)) {
      // the relay's header comes first; anything the instance sent under that name follows it
      const [vni, ip] = String(ctx.get(RELAY_HEADER)).split(',')[0].trim().split(' ');
      if (/^\d+$/.test(vni ?? '') && ip) instance = await services.metadata.find(ip, Number(vni));
      ctx.set('Connection', 'close');
    } else {
      ctx.status = 403;
      ctx.body = 'Forbidden';
      return;
    }
    if (!instance) {
      ctx.status = 404;
      ctx.body = 'Not Found';
      return;
    }
    const options = services.metadata.options(instance);
    if (options.endpoint === 'disabled') {
      ctx.status = 403;
      ctx.body = 'Forbidden';
      return;
    }
    const [version, ...rest] = ctx.path.split('/').filter(Boolean);
    if (ctx.method === 'PUT' && version && VERSION.test(version) && rest.join('/') === 'api/token') {
      const ttl = Number(ctx.get('x-aws-ec2-metadata-token-ttl-seconds'));
      if (ctx.get('x-forwarded-for')) {
        ctx.status = 403;
        ctx.body = 'Forbidden';
      } else if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
        ctx.status = 400;
        ctx.body = 'Bad Request';
      } else {
        ctx.set('x-aws-ec2-metadata-token-ttl-seconds', String(ttl));
        ctx.body = services.metadata.issueToken(instance.id, ttl);
      }
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.body = 'Method Not Allowed';
      return;
    }
    const token = ctx.get('x-aws-ec2-metadata-token');
    if ((token || options.tokens === 'required') && !services.metadata.tokenValid(instance.id, token)) {
      ctx.status = 401;
      ctx.body = 'Unauthorized';
      return;
    }
    if (!version) {
      ctx.body = 'latest';
      return;
    }
    const node = VERSION.test(version) ? await services.metadata.read(instance, rest.join('/')) : undefined;
    if (!node) {
      ctx.status = 404;
      ctx.body = 'Not Found';
    } else if ('list' in node) ctx.body = node.list.join('\n');
    else {
      if (node.json) ctx.type = 'application/json';
      ctx.body = node.text;
    }
  });
  return app;
}
