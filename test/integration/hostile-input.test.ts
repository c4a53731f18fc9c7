/**
 * A generated corpus of hostile requests, all properly signed so they reach the decoder and the actions: bad
 * encodings, huge and deeply nested members, invalid ids, oversized user data, too many tags, unicode and
 * injection strings in names, tags and filters, missing members. Every answer must be EC2 error XML (or a
 * well-formed success), never a 5xx, and the server must stay up and unchanged.
 */
import { expect } from 'chai';
import aws4 from 'aws4';
import { dropAccount, endpoint, newAccount, region, IMAGES, type TestAccount } from '../support/live';

interface Case {
  name: string;
  body: string | Buffer;
  /** Codes accepted for this case; '200' for a well-formed success. */
  expect: string[];
}

const INJECTIONS = [
  "' OR 1=1 --",
  '"; DROP TABLE instances; --',
  '%',
  '_',
  '\\',
  '*',
  '?',
  '../../etc/passwd',
  '<xml>&amp;</xml>',
  '${jndi:ldap://x}',
  '\u0000',
  '😀🚀',
  'ünïcødé',
  'a'.repeat(300),
  '%00',
  '\r\nX-Injected: 1',
  'i-0123456789abcdef0 OR 1=1',
];
const form = (p: Record<string, string>) => new URLSearchParams({ Version: '2016-11-15', ...p }).toString();

function corpus(): Case[] {
  const cases: Case[] = [];
  // a NUL anywhere is refused by the decoder before the action sees it
  const add = (name: string, params: Record<string, string>, expected: string[]) =>
    cases.push({
      name,
      body: form(params),
      expect: Object.values(params).some((v) => v.includes('\u0000')) ? [...expected, 'InvalidParameterValue'] : expected,
    });
  const notFoundOrBad = ['InvalidInstanceID.Malformed', 'InvalidInstanceID.NotFound'];
  for (const [i, s] of INJECTIONS.entries()) {
    add(`instance id ${i}`, { Action: 'DescribeInstances', 'InstanceId.1': s }, notFoundOrBad);
    add(`terminate id ${i}`, { Action: 'TerminateInstances', 'InstanceId.1': s }, notFoundOrBad);
    add(`filter value ${i}`, { Action: 'DescribeInstances', 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': s }, ['200']);
    add(`filter name ${i}`, { Action: 'DescribeInstances', 'Filter.1.Name': s, 'Filter.1.Value.1': 'x' }, ['InvalidParameterValue']);
    add(`tag filter key ${i}`, { Action: 'DescribeInstances', 'Filter.1.Name': `tag:${s}`, 'Filter.1.Value.1': s }, ['200']);
    add(`image filter ${i}`, { Action: 'DescribeImages', 'Filter.1.Name': 'name', 'Filter.1.Value.1': s }, ['200']);
    add(`image id ${i}`, { Action: 'DescribeImages', 'ImageId.1': s }, ['InvalidAMIID.Malformed', 'InvalidAMIID.NotFound']);
    add(`owner ${i}`, { Action: 'DescribeImages', 'Owner.1': s }, ['InvalidParameterValue']);
    add(`key name ${i}`, { Action: 'DescribeKeyPairs', 'KeyName.1': s }, ['InvalidKeyPair.NotFound']);
    add(`key import ${i}`, { Action: 'ImportKeyPair', KeyName: s, PublicKeyMaterial: Buffer.from(s).toString('base64') }, [
      'InvalidKey.Format',
      'InvalidParameterValue',
    ]);
    add(`run with image ${i}`, { Action: 'RunInstances', ImageId: s, MinCount: '1', MaxCount: '1' }, ['InvalidAMIID.Malformed', 'InvalidAMIID.NotFound']);
    add(`run with type ${i}`, { Action: 'RunInstances', ImageId: IMAGES.busybox, MinCount: '1', MaxCount: '1', InstanceType: s }, ['InvalidParameterValue']);
    add(`run with key ${i}`, { Action: 'RunInstances', ImageId: IMAGES.busybox, MinCount: '1', MaxCount: '1', KeyName: s }, ['InvalidKeyPair.NotFound']);
    add(`run with zone ${i}`, { Action: 'RunInstances', ImageId: IMAGES.busybox, MinCount: '1', MaxCount: '1', 'Placement.AvailabilityZone': s }, [
      'InvalidParameterValue',
    ]);
    add(`run with token ${i}`, { Action: 'RunInstances', ImageId: 'ami-0000000000000000f', MinCount: '1', MaxCount: '1', ClientToken: s }, [
      'InvalidParameterValue',
      'InvalidAMIID.NotFound',
    ]);
    add(`create tags ${i}`, { Action: 'CreateTags', 'ResourceId.1': s, 'Tag.1.Key': s, 'Tag.1.Value': s }, [
      'InvalidID',
      'InvalidInstanceID.NotFound',
      'InvalidParameterValue',
    ]);
    add(`next token ${i}`, { Action: 'DescribeInstances', MaxResults: '5', NextToken: s }, ['InvalidNextToken']);
    add(`max results ${i}`, { Action: 'DescribeInstances', MaxResults: s }, ['InvalidParameterValue']);
    add(`boolean ${i}`, { Action: 'DescribeInstances', DryRun: s }, ['InvalidParameterValue']);
    add(`action ${i}`, { Action: s }, ['InvalidAction']);
    add(`attribute ${i}`, { Action: 'DescribeInstanceAttribute', InstanceId: 'i-0123456789abcdef0', Attribute: s }, ['InvalidParameterValue']);
    add(`create image name ${i}`, { Action: 'CreateImage', InstanceId: 'i-0123456789abcdef0', Name: s }, [
      'InvalidParameterValue',
      'InvalidInstanceID.NotFound',
    ]);
    add(`unknown member ${i}`, { Action: 'DescribeRegions', [`X${i}`]: s }, ['UnknownParameter']);
  }
  // structure abuse
  for (let depth = 2; depth <= 30; depth += 2)
    add(`nesting ${depth}`, { Action: 'DescribeInstances', [`Filter${'.1'.repeat(depth)}`]: 'x' }, ['UnknownParameter']);
  for (const n of [0, -1, 1e15, 99999, 10001])
    add(`list index ${n}`, { Action: 'DescribeInstances', [`InstanceId.${n}`]: 'i-0123456789abcdef0' }, ['UnknownParameter']);
  const many: Record<string, string> = { Action: 'DescribeInstances' };
  for (let i = 1; i <= 2100; i++) many[`Filter.${i}.Name`] = 'tag:x';
  add('too many parameters', many, ['InvalidParameter']);
  const manyTags: Record<string, string> = {
    Action: 'RunInstances',
    ImageId: IMAGES.busybox,
    MinCount: '1',
    MaxCount: '1',
    'TagSpecification.1.ResourceType': 'instance',
  };
  for (let i = 1; i <= 51; i++) {
    manyTags[`TagSpecification.1.Tag.${i}.Key`] = `k${i}`;
    manyTags[`TagSpecification.1.Tag.${i}.Value`] = 'v';
  }
  add('51 tags', manyTags, ['TagLimitExceeded']);
  add(
    'user data over 16 KB',
    { Action: 'RunInstances', ImageId: IMAGES.busybox, MinCount: '1', MaxCount: '1', UserData: Buffer.alloc(16385, 1).toString('base64') },
    ['InvalidParameterValue'],
  );
  add('user data not base64', { Action: 'RunInstances', ImageId: IMAGES.busybox, MinCount: '1', MaxCount: '1', UserData: '!!!' }, ['InvalidParameterValue']);
  add(
    'huge tag value',
    {
      Action: 'RunInstances',
      ImageId: IMAGES.busybox,
      MinCount: '1',
      MaxCount: '1',
      'TagSpecification.1.ResourceType': 'instance',
      'TagSpecification.1.Tag.1.Key': 'k',
      'TagSpecification.1.Tag.1.Value': 'v'.repeat(100_000),
    },
    ['InvalidParameterValue'],
  );
  add('huge filter value', { Action: 'DescribeInstances', 'Filter.1.Name': 'tag:k', 'Filter.1.Value.1': 'v'.repeat(500_000) }, ['200']);
  // EC2 (and moto, which mirrors it) answers a termination of nothing with this, not MissingParameter
  add('TerminateInstances without ids', { Action: 'TerminateInstances' }, ['InvalidParameterCombination']);
  for (const [action, needed] of [
    ['RunInstances', 'MaxCount'],
    ['StopInstances', 'InstanceId'],
    ['CreateImage', 'InstanceId'],
    ['CreateKeyPair', 'KeyName'],
    ['ImportKeyPair', 'KeyName'],
    ['DescribeInstanceAttribute', 'Attribute'],
    ['CreateTags', 'ResourceId'],
    ['DeregisterImage', 'ImageId'],
    ['ModifyImageAttribute', 'ImageId'],
  ]) {
    add(
      `missing ${needed} for ${action}`,
      {
        Action: action,
        ...(action === 'RunInstances' ? { ImageId: IMAGES.busybox, MinCount: '1' } : {}),
        ...(action === 'DescribeInstanceAttribute' ? { InstanceId: 'i-0123456789abcdef0' } : {}),
      },
      ['MissingParameter'],
    );
  }
  for (const [n, v] of [
    ['MinCount', '0'],
    ['MinCount', '-5'],
    ['MaxCount', '1e3'],
    ['MinCount', '99999999999999999999'],
    ['MaxCount', ''],
  ]) {
    add(`count ${n}=${v}`, { Action: 'RunInstances', ImageId: IMAGES.busybox, MinCount: '1', MaxCount: '1', [n]: v }, [
      'InvalidParameterValue',
      'MissingParameter',
    ]);
  }
  // raw encodings the URL decoder must survive
  for (const raw of [
    'Action=DescribeRegions&Version=2016-11-15&%zz=1',
    'Action=DescribeRegions&Version=2016-11-15&a=%E0%A4%A',
    '&&&=&=',
    '=',
    'Action',
    'Action=%00&Version=2016-11-15',
  ]) {
    cases.push({ name: `raw ${raw}`, body: raw, expect: ['InvalidAction', 'UnknownParameter', 'MissingAction', 'MissingParameter', '200'] });
  }
  cases.push({
    name: 'invalid utf-8',
    body: Buffer.concat([Buffer.from('Action=DescribeRegions&Version=2016-11-15&X='), Buffer.from([0xff, 0xfe, 0xc3])]),
    expect: ['UnknownParameter'],
  });
  while (cases.length < 520) {
    const i = cases.length;
    add(
      `mixed ${i}`,
      {
        Action: 'DescribeInstances',
        [`Filter.${i}.Name`]: ['instance-state-name', 'tag-key', 'bogus'][i % 3],
        [`Filter.${i}.Value.1`]: INJECTIONS[i % INJECTIONS.length],
      },
      ['200', 'InvalidParameterValue'],
    );
  }
  return cases;
}

describe('hostile input (live server)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('hostile');
  });
  after(() => dropAccount(account));

  it(`answers a corpus of ${corpus().length} hostile requests with EC2 errors, never a 5xx, and stays up`, async () => {
    const url = new URL(endpoint);
    const failures: string[] = [];
    for (const c of corpus()) {
      const signed = aws4.sign(
        {
          host: url.host,
          method: 'POST',
          path: '/',
          body: c.body as any,
          service: 'ec2',
          region,
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        },
        account,
      );
      const headers = Object.fromEntries(Object.entries(signed.headers ?? {}).map(([k, v]) => [k, String(v)]));
      delete headers['Content-Length'];
      const res = await fetch(endpoint, { method: 'POST', headers, body: c.body });
      const text = await res.text();
      const code =
        res.status === 200
          ? '200'
          : /<Response><Errors><Error><Code>([^<]+)<\/Code><Message>[^<]*<\/Message><\/Error><\/Errors><RequestID>[^<]+<\/RequestID><\/Response>/.exec(
              text,
            )?.[1];
      if (res.status >= 500 || !code || !c.expect.includes(code))
        failures.push(`${c.name}: HTTP ${res.status} ${code ?? text.slice(0, 200)} (expected ${c.expect.join('|')})`);
    }
    expect(failures, failures.slice(0, 20).join('\n')).to.deep.equal([]);
    const health = await fetch(`${endpoint}/_oarcloud/health`);
    expect(health.status).to.equal(200);
    // nothing was created by any of it
    const listed = await fetch(endpoint, {
      method: 'POST',
      body: form({ Action: 'DescribeInstances' }),
      headers: Object.fromEntries(
        Object.entries(
          aws4.sign(
            {
              host: url.host,
              method: 'POST',
              path: '/',
              body: form({ Action: 'DescribeInstances' }),
              service: 'ec2',
              region,
              headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
            },
            account,
          ).headers ?? {},
        )
          .filter(([k]) => k !== 'Content-Length')
          .map(([k, v]) => [k, String(v)]),
      ),
    });
    expect(await listed.text()).to.contain('<reservationSet></reservationSet>');
  });
});
