/** Issue 3 against the live server: Query protocol, EC2 errors, SigV4 with real clients, admin-made keys. */
import { expect } from 'chai';
import path from 'node:path';
import aws4 from 'aws4';
import { DescribeAccountAttributesCommand, DescribeAvailabilityZonesCommand, DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { client, dropAccount, endpoint, execFileAsync, newAccount, rawRequest, region, type TestAccount } from '../support/live';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
const oarcloud = (...args: string[]) => execFileAsync(process.execPath, [CLI, ...args]).then((r) => r.stdout);
const awsEnv = (k: { accessKeyId: string; secretAccessKey: string }) => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: k.accessKeyId,
  AWS_SECRET_ACCESS_KEY: k.secretAccessKey,
  AWS_DEFAULT_REGION: region,
  AWS_ENDPOINT_URL: endpoint,
  AWS_ENDPOINT_URL_EC2: endpoint,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
});

describe('EC2 Query protocol and SigV4 (live server)', () => {
  let account: TestAccount;
  before(async () => {
    account = await newAccount('proto');
  });
  after(() => dropAccount(account));

  it('answers an unsigned request with EC2 error XML, a request id and 401', async () => {
    const res = await fetch(`${endpoint}/?Action=DescribeRegions&Version=2016-11-15`);
    const body = await res.text();
    expect(res.status).to.equal(401);
    expect(body).to.match(
      /^<\?xml.*\n<Response><Errors><Error><Code>MissingAuthenticationToken<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/s,
    );
    expect(res.headers.get('x-amzn-requestid')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('serves DescribeRegions, DescribeAvailabilityZones and DescribeAccountAttributes to the JS SDK', async () => {
    const regions = await account.ec2.send(new DescribeRegionsCommand({}));
    expect(regions.Regions?.map((r) => r.RegionName)).to.deep.equal([region]);
    const zones = await account.ec2.send(new DescribeAvailabilityZonesCommand({}));
    expect(zones.AvailabilityZones?.[0]).to.include({ ZoneName: `${region}a`, State: 'available', RegionName: region });
    const filtered = await account.ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-name', Values: ['nowhere-*'] }] }));
    expect(filtered.AvailabilityZones).to.deep.equal([]);
    const attrs = await account.ec2.send(new DescribeAccountAttributesCommand({ AttributeNames: ['supported-platforms'] }));
    expect(attrs.AccountAttributes?.[0].AttributeValues?.[0].AttributeValue).to.equal('VPC');
  });

  it('accepts a key made with `oarcloud key create` from the aws CLI and boto3, and refuses it once revoked', async () => {
    const out = await oarcloud('key', 'create', account.name, '--user', 'cli-user');
    const key = { accessKeyId: /AccessKeyId: (\S+)/.exec(out)![1], secretAccessKey: /SecretAccessKey: (\S+)/.exec(out)![1] };
    const cli = await execFileAsync('aws', ['ec2', 'describe-regions', '--output', 'json'], { env: awsEnv(key) });
    expect(JSON.parse(cli.stdout).Regions[0].RegionName).to.equal(region);
    const py = await execFileAsync(
      'python3',
      ['-c', 'import boto3; print(boto3.client("ec2").describe_availability_zones()["AvailabilityZones"][0]["ZoneName"])'],
      { env: awsEnv(key) },
    );
    expect(py.stdout.trim()).to.equal(`${region}a`);
    expect(await oarcloud('key', 'list', account.name)).to.contain(key.accessKeyId);
    await oarcloud('key', 'revoke', key.accessKeyId);
    const refused = await rawRequest({ Action: 'DescribeRegions' }, { creds: key });
    expect(refused).to.include({ status: 401, code: 'AuthFailure' });
    const err = await client(key)
      .send(new DescribeRegionsCommand({}))
      .catch((e) => e);
    expect(err.name).to.equal('AuthFailure');
  });

  it('refuses tampered bodies, wrong scopes, stale dates and unknown keys with the right codes', async () => {
    expect(await rawRequest({ Action: 'DescribeRegions' }, { creds: account, mutateBody: (b) => b.replace('DescribeRegions', 'DescribeImages') })).to.include({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    expect(await rawRequest({ Action: 'DescribeRegions' }, { creds: account, region: 'mars-north-1' })).to.include({ status: 401, code: 'AuthFailure' });
    expect(await rawRequest({ Action: 'DescribeRegions' }, { creds: account, service: 'sts' })).to.include({ status: 401, code: 'AuthFailure' });
    const stale = new Date(Date.now() - 20 * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, '');
    expect(await rawRequest({ Action: 'DescribeRegions' }, { creds: account, amzDate: stale })).to.include({ status: 400, code: 'RequestExpired' });
    expect(await rawRequest({ Action: 'DescribeRegions' }, { creds: { accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x' } })).to.include({
      status: 401,
      code: 'AuthFailure',
    });
  });

  it('accepts presigned GET URLs until they expire', async () => {
    const url = new URL(endpoint);
    const presign = (date: Date, expires: number) => {
      const amzDate = date.toISOString().replace(/[:-]|\.\d{3}/g, '');
      const o = aws4.sign(
        {
          host: url.host,
          method: 'GET',
          path: `/?Action=DescribeRegions&Version=2016-11-15&X-Amz-Expires=${expires}&X-Amz-Date=${amzDate}`,
          service: 'ec2',
          region,
          signQuery: true,
        },
        account,
      );
      return `${endpoint}${o.path}`;
    };
    const fresh = await fetch(presign(new Date(), 60));
    expect(fresh.status).to.equal(200);
    expect(await fresh.text()).to.contain('<regionName>');
    const expired = await fetch(presign(new Date(Date.now() - 120_000), 60));
    expect(expired.status).to.equal(400);
    expect(await expired.text()).to.contain('<Code>RequestExpired</Code>');
  });

  it('answers malformed requests with EC2 errors naming the problem', async () => {
    const unknown = await rawRequest({ Action: 'LaunchRocket' }, { creds: account });
    expect(unknown).to.include({ status: 400, code: 'InvalidAction' });
    expect(unknown.body).to.contain('LaunchRocket');
    expect(await rawRequest({}, { creds: account })).to.include({ status: 400, code: 'MissingAction' });
    const badInt = await rawRequest({ Action: 'DescribeInstances', MaxResults: 'many' }, { creds: account });
    expect(badInt).to.include({ status: 400, code: 'InvalidParameterValue' });
    expect(badInt.body).to.contain('MaxResults');
    const extra = await rawRequest({ Action: 'DescribeRegions', Colour: 'blue' }, { creds: account });
    expect(extra).to.include({ status: 400, code: 'UnknownParameter' });
    expect(extra.body).to.contain('Colour');
    const missing = await rawRequest({ Action: 'RunInstances', MinCount: '1' }, { creds: account });
    expect(missing).to.include({ status: 400, code: 'MissingParameter' });
    expect((await rawRequest({ Action: 'DescribeInstances', MaxResults: '2' }, { creds: account })).code).to.equal('InvalidParameterValue');
    expect((await rawRequest({ Action: 'DescribeInstances', 'InstanceId.1': 'i-nope' }, { creds: account })).code).to.equal('InvalidInstanceID.Malformed');
    expect((await rawRequest({ Action: 'DescribeInstances', 'InstanceId.1': 'i-0123456789abcdef0' }, { creds: account })).code).to.equal(
      'InvalidInstanceID.NotFound',
    );
    expect((await rawRequest({ Action: 'DescribeRegions', DryRun: 'true' }, { creds: account })).code).to.equal('DryRunOperation');
  });

  it('refuses bodies over the size limit without reading them', async () => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeRegions&Pad=' + 'x'.repeat(1024 * 1024 + 10),
    });
    expect(res.status).to.equal(413);
    expect(await res.text()).to.contain('<Code>RequestEntityTooLarge</Code>');
  });
});
