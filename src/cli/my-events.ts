/**
 * `oarcloud my-events`: a user's own events (state changes, resizes and who asked, schedule runs) from the account API,
 * signed with the same credentials and endpoint the aws CLI uses (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_ENDPOINT_URL, AWS_REGION), so it works for any user, from any machine that reaches the endpoint.
 */
import aws4 from 'aws4';
import type { Config } from '../config';
import { endpointUrl } from '../config';
import { ACCOUNT_API } from '../transport/account-api';
import { printTable } from './admin';

export async function printMyEvents(config: Config, opts: { resource?: string; kind?: string; limit: number }): Promise<void> {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new Error('set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (as for the aws CLI) first');
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL ?? endpointUrl(config));
  const query = new URLSearchParams({
    limit: String(opts.limit),
    ...(opts.resource ? { resource: opts.resource } : {}),
    ...(opts.kind ? { kind: opts.kind } : {}),
  });
  const signed = aws4.sign(
    { host: endpoint.host, path: `${ACCOUNT_API}/events?${query}`, method: 'GET', service: 'oarcloud', region: process.env.AWS_REGION ?? config.regions[0] },
    { accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN },
  );
  const response = await fetch(`${endpoint.origin}${signed.path}`, { headers: signed.headers as Record<string, string> });
  const body = (await response.json()) as {
    events?: { at: string; kind: string; resourceId: string | null; message: string }[];
    error?: { code: string; message: string };
  };
  if (!response.ok) throw new Error(`${body.error?.code ?? response.status}: ${body.error?.message ?? ''}`);
  printTable(
    ['AT', 'KIND', 'RESOURCE', 'MESSAGE'],
    body.events!.reverse().map((e) => [e.at, e.kind, e.resourceId, e.message]),
  );
}
