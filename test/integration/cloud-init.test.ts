/**
 * A stock cloud image in a VPC: the debian-cloud image runs Debian's cloud-init (datasource Ec2), which reads its
 * hostname, the key pair and the user data from the metadata service; the instance gets an automatic public address
 * (NetworkInterfaces AssociatePublicIpAddress) through which this machine logs in as cloud-init's default user.
 * The automatic address is no elastic IP (DescribeAddresses does not list it) and goes back to the pool when the
 * instance stops.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AllocateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  ImportKeyPairCommand,
  ModifyVpcAttributeCommand,
  ReleaseAddressCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { dropAccount, execFileAsync, IMAGES, newAccount, publicSubnet, sleep, waitForStates, type TestAccount } from '../support/live';

describe('cloud-init in a debian-cloud instance, reached at its automatic public address', function () {
  this.timeout(300_000);
  let account: TestAccount;
  let keyDir: string;
  let instance: Instance;

  /** One command as cloud-init's default user over SSH to the public address, retried until sshd answers. */
  async function ssh(command: string): Promise<string> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const args = ['-i', path.join(keyDir, 'id'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes'];
      const run = execFileAsync('ssh', [...args, '-o', 'ConnectTimeout=2', `debian@${instance.PublicIpAddress}`, command], { timeout: 90_000 });
      const result = await run.then(
        (r) => r.stdout,
        (err) => err as Error,
      );
      if (typeof result === 'string') return result;
      if (Date.now() > deadline) throw result;
      await sleep(1000);
    }
  }

  before(async () => {
    account = await newAccount('cloudinit');
    keyDir = mkdtempSync(path.join(tmpdir(), 'oarcloud-cloudinit-'));
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'id')]);
    const { ec2 } = account;
    await ec2.send(new ImportKeyPairCommand({ KeyName: 'laptop', PublicKeyMaterial: readFileSync(path.join(keyDir, 'id.pub')) }));
    const { vpc, subnet } = await publicSubnet(ec2, '10.71.0.0/16', '10.71.1.0/24');
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }));
    const ssh = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'ssh', Description: 'ssh from anywhere' }))).GroupId!;
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: ssh,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    const userData = '#!/bin/sh\necho "user data ran as $(id -un)" > /var/tmp/from-user-data\n';
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.debianCloud,
        InstanceType: 't2.micro',
        MinCount: 1,
        MaxCount: 1,
        KeyName: 'laptop',
        UserData: Buffer.from(userData).toString('base64'),
        NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet, Groups: [ssh], AssociatePublicIpAddress: true }],
      }),
    );
    const id = run.Instances![0].InstanceId!;
    await waitForStates(ec2, [id], ['running'], 120_000);
    // the address is given by the data plane's next sync: RunInstances' answer (pending) has none, as on EC2
    for (let i = 0; i < 50 && !instance?.PublicIpAddress; i++) {
      instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
      if (!instance.PublicIpAddress) await sleep(200);
    }
  });
  after(async () => {
    rmSync(keyDir, { recursive: true, force: true });
    await dropAccount(account);
  });

  it('gets a public address from the pool that is no elastic IP of the account', async () => {
    expect(instance.PublicIpAddress, 'PublicIpAddress').to.match(/^198\.51\.100\.\d+$/);
    expect(instance.NetworkInterfaces![0].Association).to.include({ PublicIp: instance.PublicIpAddress, IpOwnerId: 'amazon' });
    expect((await account.ec2.send(new DescribeAddressesCommand({}))).Addresses).to.deep.equal([]);
    const { AllocationId, PublicIp } = await account.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    expect(PublicIp, 'an elastic IP allocated next is another address').to.not.equal(instance.PublicIpAddress);
    await account.ec2.send(new ReleaseAddressCommand({ AllocationId }));
  });

  it("logs in as cloud-init's default user with the key pair, named after its address, with the user data run", async () => {
    const out = await ssh('cloud-init status --wait >/dev/null; hostname; cat /var/tmp/from-user-data; cat /run/cloud-init/result.json; sudo -n id -un');
    const [hostname, userData, ...rest] = out.trim().split('\n');
    expect(hostname).to.equal(`ip-${instance.PrivateIpAddress!.replace(/\./g, '-')}`);
    expect(userData).to.equal('user data ran as root');
    const result = JSON.parse(rest.slice(0, -1).join('\n'));
    expect(result.v1.datasource, 'cloud-init read the EC2 datasource').to.match(/^DataSourceEc2/);
    expect(result.v1.errors).to.deep.equal([]);
    expect(rest.at(-1), 'passwordless sudo for the default user').to.equal('root');
  });

  it('gives the automatic address back when the instance stops', async () => {
    const id = instance.InstanceId!;
    await account.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    const [stopped] = await waitForStates(account.ec2, [id], ['stopped'], 120_000);
    let view = stopped;
    for (let i = 0; i < 25 && view.PublicIpAddress; i++) {
      await sleep(200);
      view = (await account.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
    }
    expect(view.PublicIpAddress).to.equal(undefined);
  });
});
