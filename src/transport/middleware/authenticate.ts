import type { Middleware } from 'koa';
import { ANONYMOUS, type Caller } from '../../domain/accounts';
import { verifySigV4 } from '../sigv4';

/**
 * Verifies SigV4 (scoped to the picked API's service) against our access keys; the caller's account scopes everything
 * the action does. The one unsigned request let through is the link of an SNS subscription confirmation
 * (`?Action=ConfirmSubscription&TopicArn=..&Token=..`, as AWS allows): its token names the subscription.
 */
export const authenticate =
  (lookup: (accessKeyId: string) => Promise<{ secret: string; caller: Caller } | undefined>, opts: { regions: string[]; skewSeconds: number }): Middleware =>
  async (ctx, next) => {
    const unsignedConfirmation =
      ctx.state.api.model.signingName === 'sns' &&
      !ctx.get('authorization') &&
      !ctx.query['X-Amz-Credential'] &&
      ctx.state.params.Action === 'ConfirmSubscription';
    ctx.state.caller = unsignedConfirmation
      ? ANONYMOUS
      : await verifySigV4(
          { method: ctx.method, url: ctx.url, headers: ctx.headers, body: ctx.state.rawBody },
          { service: ctx.state.api.model.signingName, regions: opts.regions, skewSeconds: opts.skewSeconds, lookup },
        );
    await next();
  };
