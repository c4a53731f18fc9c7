/**
 * The links SNS messages carry, served without signature: the certificate receivers verify signatures with
 * (SigningCertURL), and an e-mail's unsubscribe link (UnsubscribeURL, signed by us so that nobody unsubscribes others).
 * Confirmation links go to the API itself (`/?Action=ConfirmSubscription&TopicArn=..&Token=..`), as on AWS.
 */
import Router from '@koa/router';
import type { Services } from '../services';
import { CERTIFICATE_PATH, certificateFile } from '../domain/deliveries';

export function snsLinks(services: Services): Router {
  const router = new Router({ prefix: CERTIFICATE_PATH.replace(/\/$/, '') });
  router.get('/unsubscribe', async (ctx) => {
    const arn = String(ctx.query.SubscriptionArn ?? '');
    const signature = String(ctx.query.Signature ?? '');
    const id = /:([0-9a-f-]{36})$/.exec(arn)?.[1];
    ctx.type = 'text/plain';
    if (!id || !services.deliveries.checkUnsubscribeLink(arn, signature)) {
      ctx.status = 400;
      ctx.body = 'This unsubscribe link is not valid.\n';
      return;
    }
    const removed = await services.topics.unsubscribeById(id);
    ctx.body = removed ? `You have been unsubscribed: ${arn}\n` : `This subscription no longer exists: ${arn}\n`;
  });
  router.get('/:file', async (ctx) => {
    const { certPem } = await services.deliveries.signingPair();
    if (ctx.params.file !== certificateFile(certPem)) {
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = 'No such certificate.\n';
      return;
    }
    ctx.type = 'application/x-pem-file';
    ctx.set('cache-control', 'public, max-age=86400');
    ctx.body = certPem;
  });
  return router;
}
