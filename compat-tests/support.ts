/** Running real client programs against the live server with a test account's credentials. */
import { spawnSync } from 'node:child_process';
import { endpoint, region, type Creds } from '../test/support/live';

export function clientEnv(creds: Creds): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_REGION: region,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_EC2: endpoint,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PAGER: '',
  };
}

export function available(binary: string, args = ['--version']): boolean {
  return spawnSync(binary, args, { encoding: 'utf8' }).status === 0;
}

/** Runs the client; returns stdout, stderr and exit code (never throws: tests assert on all three). */
export function runClient(cmd: string, args: string[], creds: Creds, input?: string) {
  const r = spawnSync(cmd, args, { env: clientEnv(creds), encoding: 'utf8', input, timeout: 600_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
