import { expect } from 'chai';
import aws4 from 'aws4';
import { verifySigV4, type SignedRequest } from '../../src/transport/sigv4';
import { DomainError as Ec2Error } from '../../src/domain/errors';

const KEY = { accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'secret/example+key' };
const lookup = async (id: string) => (id === KEY.accessKeyId ? { secret: KEY.secretAccessKey, caller: { account: '111122223333' } } : undefined);
const options = { service: 'ec2', regions: ['us-east-1'], skewSeconds: 900, lookup };

/** Signs like botocore does (content-type;host;x-amz-date) and returns what the server would receive. */
function signed(body: string, overrides: { region?: string; service?: string; date?: Date; key?: typeof KEY } = {}): SignedRequest {
  const date = overrides.date ?? new Date();
  const amzDate = date.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const opts = aws4.sign(
    {
      host: '127.0.0.1:8773',
      method: 'POST',
      path: '/',
      body,
      service: overrides.service ?? 'ec2',
      region: overrides.region ?? 'us-east-1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', 'X-Amz-Date': amzDate },
    },
    overrides.key ?? KEY,
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = String(v);
  return { method: 'POST', url: '/', headers, body: Buffer.from(body) };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    expect(err).to.be.instanceOf(Ec2Error);
    return (err as Ec2Error).code!;
  }
}

describe('SigV4 verification', () => {
  const body = 'Action=DescribeRegions&Version=2016-11-15';

  it('accepts a correctly signed request and returns the key owner', async () => {
    expect(await verifySigV4(signed(body), options)).to.deep.equal({ account: '111122223333' });
  });

  it('refuses a tampered body, header or signature', async () => {
    const req = signed(body);
    expect(await code(verifySigV4({ ...req, body: Buffer.from(body + '&DryRun=true') }, options))).to.equal('SignatureDoesNotMatch');
    expect(await code(verifySigV4({ ...req, headers: { ...req.headers, host: 'evil:1' } }, options))).to.equal('SignatureDoesNotMatch');
    const sig = req.headers.authorization as string;
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    expect(await code(verifySigV4({ ...req, headers: { ...req.headers, authorization: flipped } }, options))).to.equal('SignatureDoesNotMatch');
  });

  it('refuses an unknown key, a wrong secret, a wrong region or service scope', async () => {
    expect(await code(verifySigV4(signed(body, { key: { ...KEY, accessKeyId: 'AKIAUNKNOWN000000000' } }), options))).to.equal('AuthFailure');
    expect(await code(verifySigV4(signed(body, { key: { ...KEY, secretAccessKey: 'wrong' } }), options))).to.equal('SignatureDoesNotMatch');
    expect(await code(verifySigV4(signed(body, { region: 'eu-west-9' }), options))).to.equal('AuthFailure');
    expect(await code(verifySigV4(signed(body, { service: 's3' }), options))).to.equal('AuthFailure');
  });

  it('refuses requests signed more than 15 minutes away from now (replays)', async () => {
    expect(await code(verifySigV4(signed(body, { date: new Date(Date.now() - 16 * 60_000) }), options))).to.equal('RequestExpired');
    expect(await code(verifySigV4(signed(body, { date: new Date(Date.now() + 16 * 60_000) }), options))).to.equal('RequestExpired');
    expect(await code(verifySigV4(signed(body, { date: new Date(Date.now() - 14 * 60_000) }), options))).to.equal('accepted');
  });

  it('refuses unsigned requests, other algorithms and an unsigned host', async () => {
    const req = signed(body);
    const { authorization: _a, ...noAuth } = req.headers;
    expect(await code(verifySigV4({ ...req, headers: noAuth }, options))).to.equal('MissingAuthenticationToken');
    expect(await code(verifySigV4({ ...req, headers: { ...req.headers, authorization: 'AWS3 x' } }, options))).to.equal('IncompleteSignature');
    const withoutHost = (req.headers.authorization as string).replace('content-type;host;x-amz-date', 'content-type;x-amz-date');
    expect(await code(verifySigV4({ ...req, headers: { ...req.headers, authorization: withoutHost } }, options))).to.equal('IncompleteSignature');
  });

  it('refuses a request whose x-amz-date header was left out of the signature', async () => {
    const req = signed(body);
    const auth = (req.headers.authorization as string).replace('content-type;host;x-amz-date', 'content-type;host');
    expect(await code(verifySigV4({ ...req, headers: { ...req.headers, authorization: auth } }, options))).to.equal('SignatureDoesNotMatch');
  });

  it('accepts presigned URLs until they expire', async () => {
    const presign = (date: Date, expires: number) => {
      const amzDate = date.toISOString().replace(/[:-]|\.\d{3}/g, '');
      const o = aws4.sign(
        {
          host: '127.0.0.1:8773',
          method: 'GET',
          path: `/?Action=DescribeRegions&Version=2016-11-15&X-Amz-Expires=${expires}&X-Amz-Date=${amzDate}`,
          service: 'ec2',
          region: 'us-east-1',
          signQuery: true,
        },
        KEY,
      );
      return { method: 'GET', url: o.path!, headers: { host: '127.0.0.1:8773' }, body: Buffer.alloc(0) } as SignedRequest;
    };
    expect(await code(verifySigV4(presign(new Date(), 300), options))).to.equal('accepted');
    expect(await code(verifySigV4(presign(new Date(Date.now() - 600_000), 300), options))).to.equal('RequestExpired');
    const tampered = presign(new Date(), 300);
    expect(await code(verifySigV4({ ...tampered, url: tampered.url.replace('DescribeRegions', 'DescribeImages') }, options))).to.equal('SignatureDoesNotMatch');
  });
});
