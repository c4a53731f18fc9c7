/**
 * The instance metadata service at 169.254.169.254, from real containers: in a default VPC (the shared network,
 * NAT to the server) and in a VPC (the router's relay), IMDSv1 and v2 (tokens, required tokens), the metadata tree,
 * user data, the identity document, tags when enabled, and ModifyInstanceMetadataOptions.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  ImportKeyPairCommand,
  ModifyInstanceMetadataOptionsCommand,
  ModifyVpcAttributeCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { dropAccount, execFileAsync, execIn, IMAGES, newAccount, waitForStates, type TestAccount } from '../support/live';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@example';

const BODY = '--body--';

/** One HTTP request to the metadata service from inside the instance (busybox wget, nc for PUT): [status, body]. */
async function imds(id: string, method: 'GET' | 'PUT', path: string, headers: Record<string, string> = {}): Promise<[number, string]> {
  let out: string;
  if (method === 'GET') {
    const flags = Object.entries(headers)
      .map(([k, v]) => `--header '${k}: ${v}'`)
      .join(' ');
    out = await execIn(
      id,
      `wget -S -q -O /tmp/imds.body ${flags} http://169.254.169.254${path} 2>/tmp/imds.head; cat /tmp/imds.head; echo ${BODY}; cat /tmp/imds.body 2>/dev/null; rm -f /tmp/imds.body`,
    );
  } else {
    // nc gives up at the end of its input: keep it open until the answer came
    const head = [`PUT ${path} HTTP/1.0`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\\r\\n');
    out = (await execIn(id, `(printf '${head}\\r\\n\\r\\n'; sleep 1) | nc -w 3 169.254.169.254 80`)).replace('\r\n\r\n', `\n${BODY}\n`);
  }
  const status = Number(/HTTP\/1\.\d (\d+)/.exec(out)?.[1] ?? 0);
  const at = out.indexOf(`${BODY}\n`);
  return [status, at < 0 ? '' : out.slice(at + BODY.length + 1)];
}

describe('instance metadata service (real containers, default VPC and VPC)', function () {
  this.timeout(300_000);
  let account: TestAccount;
  const ids: Record<'shared' | 'vpc', string> = { shared: '', vpc: '' };
  let vpc: string;
  let subnet: string;

  before(async () => {
    account = await newAccount('imds');
    await account.ec2.send(new ImportKeyPairCommand({ KeyName: 'imds-key', PublicKeyMaterial: Buffer.from(PUBLIC_KEY) }));
    vpc = (await account.ec2.send(new CreateVpcCommand({ CidrBlock: '10.70.0.0/16' }))).Vpc!.VpcId!;
    await account.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }));
    subnet = (await account.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.70.5.0/24' }))).Subnet!.SubnetId!;
    const launch = async (extra: object) =>
      (
        await account.ec2.send(
          new RunInstancesCommand({
            ImageId: IMAGES.busybox,
            InstanceType: 't2.nano',
            MinCount: 1,
            MaxCount: 1,
            KeyName: 'imds-key',
            UserData: Buffer.from('#!/bin/sh\necho from-user-data\n').toString('base64'),
            TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'imds' }] }],
            ...extra,
          }),
        )
      ).Instances![0].InstanceId!;
    ids.shared = await launch({});
    ids.vpc = await launch({ SubnetId: subnet, MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' } });
    await waitForStates(account.ec2, Object.values(ids), ['running'], 120_000);
  });
  after(() => dropAccount(account));

  it('answers IMDSv1 in a default VPC: the tree, the instance, its key, user data and identity document', async () => {
    const id = ids.shared;
    const [status, listing] = await imds(id, 'GET', '/latest/meta-data/');
    expect(status).to.equal(200);
    expect(listing.split('\n')).to.include.members(['ami-id', 'instance-id', 'local-ipv4', 'mac', 'network/', 'placement/', 'public-keys/', 'security-groups']);
    expect((await imds(id, 'GET', '/latest/meta-data/instance-id'))[1]).to.equal(id);
    const described = (await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
    expect((await imds(id, 'GET', '/latest/meta-data/local-ipv4'))[1]).to.equal(described.PrivateIpAddress);
    expect((await imds(id, 'GET', '/latest/meta-data/placement/availability-zone'))[1]).to.equal(described.Placement!.AvailabilityZone);
    expect((await imds(id, 'GET', '/latest/meta-data/security-groups'))[1]).to.equal('default');
    expect((await imds(id, 'GET', '/latest/meta-data/public-keys/'))[1]).to.equal('0=imds-key');
    expect((await imds(id, 'GET', '/latest/meta-data/public-keys/0/openssh-key'))[1].trim()).to.equal(PUBLIC_KEY);
    expect((await imds(id, 'GET', '/latest/user-data'))[1]).to.equal('#!/bin/sh\necho from-user-data\n');
    const doc = JSON.parse((await imds(id, 'GET', '/latest/dynamic/instance-identity/document'))[1]);
    expect(doc).to.include({ instanceId: id, accountId: account.accountId, imageId: IMAGES.busybox, privateIp: described.PrivateIpAddress });
    expect((await imds(id, 'GET', '/latest/meta-data/no-such-thing'))[0]).to.equal(404);
    expect((await imds(id, 'GET', '/latest/meta-data/tags/instance/Name'))[0], 'tags are off by default').to.equal(404);
  });

  it('answers a VPC instance through its router, with IMDSv2 tokens required as asked at launch', async () => {
    const id = ids.vpc;
    expect((await imds(id, 'GET', '/latest/meta-data/instance-id'))[0], 'without a token').to.equal(401);
    const [status, token] = await imds(id, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' });
    expect(status).to.equal(200);
    const auth = { 'X-aws-ec2-metadata-token': token };
    expect((await imds(id, 'GET', '/latest/meta-data/instance-id', auth))[1]).to.equal(id);
    expect((await imds(id, 'GET', '/latest/meta-data/instance-id', { 'X-aws-ec2-metadata-token': `${token}x` }))[0], 'a forged token').to.equal(401);
    const mac = (await imds(id, 'GET', '/latest/meta-data/mac', auth))[1];
    expect((await imds(id, 'GET', `/latest/meta-data/network/interfaces/macs/${mac}/vpc-id`, auth))[1]).to.equal(vpc);
    expect((await imds(id, 'GET', `/latest/meta-data/network/interfaces/macs/${mac}/subnet-ipv4-cidr-block`, auth))[1]).to.equal('10.70.5.0/24');
    expect((await imds(id, 'GET', '/latest/meta-data/tags/instance/Name', auth))[1]).to.equal('imds');
    expect((await imds(id, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '99999' }))[0], 'TTL over 6 h').to.equal(400);
  });

  it("resolves the VPC's instance names at 169.254.169.253, names the instance after its address, and stops with DNS support", async () => {
    const id = ids.vpc;
    const ip = (await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0].PrivateIpAddress!;
    const name = `ip-${ip.replace(/\./g, '-')}`;
    expect((await execIn(id, 'hostname')).trim()).to.equal(name);
    expect(await execIn(id, 'cat /etc/resolv.conf')).to.contain('nameserver 169.254.169.253');
    const lookup = (what: string) => execIn(id, `nslookup ${what} 169.254.169.253 2>&1; true`);
    expect(await lookup(`${name}.ec2.internal`)).to.match(new RegExp(`Address:\\s+${ip.replace(/\./g, '\\.')}`));
    expect(await lookup('ip-10-70-9-9.ec2.internal')).to.match(/NXDOMAIN|can't find/);
    await account.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: false } }));
    await account.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsSupport: { Value: false } }));
    const deadline = Date.now() + 15_000;
    while (/Address:\s+10\.70/.test(await lookup(`${name}.ec2.internal`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(await lookup(`${name}.ec2.internal`)).to.not.match(/Address:\s+10\.70/);
  });

  it("sends the service's answers with the instance's hop limit as their IP TTL (one more hop drops them), on both paths", async () => {
    const ips: Record<string, string> = {};
    for (const id of Object.values(ids))
      ips[id] = (await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0].PrivateIpAddress!;
    // counters on this machine's bridges: the shared network's answers leave it (output), a VPC router's cross it (forward)
    const counters = Object.values(ids).flatMap((id, i) => [1, 3].map((ttl) => ({ id, ttl, name: `i${i}_ttl${ttl}` })));
    const rule = (c: (typeof counters)[number]) => `ip daddr ${ips[c.id]} ip saddr 169.254.169.254 tcp sport 80 ip ttl ${c.ttl} counter name ${c.name}`;
    const table = [
      'table bridge oarcloud_test_ttl {',
      ...counters.map((c) => `  counter ${c.name} { }`),
      '  chain answers_out { type filter hook output priority 0;',
      ...counters.map((c) => `    ${rule(c)}`),
      '  }',
      '  chain answers_forwarded { type filter hook forward priority 0;',
      ...counters.map((c) => `    ${rule(c)}`),
      '  }',
      '}',
    ].join('\n');
    const loaded = spawnSync('nft', ['-f', '-'], { input: table, encoding: 'utf8' });
    expect(loaded.status, loaded.stderr).to.equal(0);
    const packets = async (name: string) =>
      Number(/packets (\d+)/.exec((await execFileAsync('nft', ['list', 'counter', 'bridge', 'oarcloud_test_ttl', name])).stdout)?.[1] ?? 0);
    const token = (id: string) => imds(id, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' });
    try {
      for (const [i, id] of Object.values(ids).entries()) {
        expect((await token(id))[0]).to.equal(200);
        expect(await packets(`i${i}_ttl1`), `${id}: the default hop limit 1`).to.be.above(0);
        expect(await packets(`i${i}_ttl3`)).to.equal(0);
        await account.ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpPutResponseHopLimit: 3 }));
        const deadline = Date.now() + 10_000;
        while ((await packets(`i${i}_ttl3`)) === 0 && Date.now() < deadline) {
          await token(id);
          await new Promise((r) => setTimeout(r, 300));
        }
        expect(await packets(`i${i}_ttl3`), `${id}: hop limit 3`).to.be.above(0);
      }
    } finally {
      await execFileAsync('nft', ['delete', 'table', 'bridge', 'oarcloud_test_ttl']);
    }
  });

  it('ModifyInstanceMetadataOptions: tokens optional again, then the endpoint off', async () => {
    const id = ids.vpc;
    const out = await account.ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'optional' }));
    expect(out.InstanceMetadataOptions).to.include({ HttpTokens: 'optional', HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' });
    expect((await imds(id, 'GET', '/latest/meta-data/instance-id'))[1]).to.equal(id);
    await account.ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpEndpoint: 'disabled' }));
    expect((await imds(id, 'GET', '/latest/meta-data/instance-id'))[0]).to.equal(403);
    const described = (await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
    expect(described.MetadataOptions).to.include({ HttpEndpoint: 'disabled', HttpTokens: 'optional' });
    await account.ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpPutResponseHopLimit: 99 })).then(
      () => expect.fail('a hop limit of 99 was accepted'),
      (err) => expect(err.name).to.equal('InvalidParameterValue'),
    );
  });
});
