/**
 * Issue 20: the instance-type catalogue is EC2's (every name the EC2 model accepts, with AWS's figures), and
 * DescribeInstanceTypes offers the types this cluster can place. Expected figures quote AWS's documentation.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  RunInstancesCommand,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { dropAccount, IMAGES, libvirt, newAccount, region, rejection, terminateAll, waitForStates, type TestAccount } from '../support/live';

describe('Instance types: EC2 catalogue, what this cluster offers (real)', function () {
  this.timeout(120_000);
  let account: TestAccount;
  before(async () => {
    account = await newAccount('types');
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  it('reports AWS figures: m1.small, t2.micro, t3.micro, c1.medium', async () => {
    const { InstanceTypes } = await account.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m1.small', 't2.micro', 't3.micro', 'c1.medium'] }));
    const byName = new Map(InstanceTypes!.map((t) => [t.InstanceType, t]));
    // "Previous generation instances" (EC2 User Guide): m1.small 1 vCPU, 1.7 GiB; c1.medium 2 vCPUs, 1.7 GiB
    expect(byName.get('m1.small')).to.deep.include({ CurrentGeneration: false, BurstablePerformanceSupported: false });
    expect(byName.get('m1.small')!.VCpuInfo!.DefaultVCpus).to.equal(1);
    expect(byName.get('m1.small')!.MemoryInfo!.SizeInMiB).to.equal(1740);
    expect(byName.get('c1.medium')!.VCpuInfo!.DefaultVCpus).to.equal(2);
    expect(byName.get('c1.medium')!.MemoryInfo!.SizeInMiB).to.equal(1740);
    expect(byName.get('m1.small')!.ProcessorInfo!.SupportedArchitectures).to.have.members(['i386', 'x86_64']);
    // "Amazon EC2 T2 instances": t2.micro 1 vCPU, 1 GiB, burstable
    expect(byName.get('t2.micro')).to.deep.include({ CurrentGeneration: true, BurstablePerformanceSupported: true });
    expect(byName.get('t2.micro')!.MemoryInfo!.SizeInMiB).to.equal(1024);
    // "Amazon EC2 T3 instances": t3.micro 2 vCPUs on 1 core (2 threads per core), 1 GiB
    expect(byName.get('t3.micro')!.VCpuInfo).to.deep.include({ DefaultVCpus: 2, DefaultCores: 1, DefaultThreadsPerCore: 2 });
    expect(byName.get('t3.micro')!.MemoryInfo!.SizeInMiB).to.equal(1024);
  });

  it('lists only the types some node can hold, and filters on every documented filter', async () => {
    const all: string[] = [];
    let token: string | undefined;
    do {
      const page = await account.ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 100, NextToken: token }));
      all.push(...page.InstanceTypes!.map((t) => t.InstanceType!));
      token = page.NextToken;
    } while (token);
    expect(all).to.include.members(['m1.small', 't2.micro', 't3.nano']);
    expect(all).not.to.include('a1.medium'); // arm64: the nodes are x86_64
    expect(all).not.to.include('x2iedn.32xlarge'); // 128 vCPUs: no node here has that many cores
    expect(new Set(all).size).to.equal(all.length);

    const small = await account.ec2.send(
      new DescribeInstanceTypesCommand({
        Filters: [
          { Name: 'instance-type', Values: ['t3.*'] },
          { Name: 'vcpu-info.default-cores', Values: ['1'] },
          { Name: 'processor-info.supported-architecture', Values: ['x86_64'] },
          { Name: 'burstable-performance-supported', Values: ['true'] },
        ],
      }),
    );
    // "Amazon EC2 T3 instances": t3.nano to t3.large have 2 vCPUs on 1 core; t3.xlarge and up 2 cores or more
    expect(small.InstanceTypes!.map((t) => t.InstanceType)).to.have.members(['t3.nano', 't3.micro', 't3.small', 't3.medium', 't3.large']);
    const arm = await account.ec2.send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'processor-info.supported-architecture', Values: ['arm64'] }] }));
    expect(arm.InstanceTypes).to.deep.equal([]); // a Describe call's own result list is sent even when empty, as EC2 does
    const previous = await account.ec2.send(
      new DescribeInstanceTypesCommand({
        Filters: [
          { Name: 'current-generation', Values: ['false'] },
          { Name: 'instance-type', Values: ['m1.*'] },
        ],
      }),
    );
    expect(previous.InstanceTypes!.map((t) => t.InstanceType)).to.include('m1.small');
  });

  it('offers the same types in the region and in its zone (DescribeInstanceTypeOfferings)', async () => {
    const inRegion = await account.ec2.send(
      new DescribeInstanceTypeOfferingsCommand({ Filters: [{ Name: 'instance-type', Values: ['m1.small', 'a1.medium', 't3.*'] }] }),
    );
    const names = inRegion.InstanceTypeOfferings!.map((o) => o.InstanceType);
    expect(names).to.include.members(['m1.small', 't3.micro']);
    expect(names).not.to.include('a1.medium');
    expect(inRegion.InstanceTypeOfferings![0]).to.deep.include({ LocationType: 'region', Location: region });
    const inZone = await account.ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'availability-zone',
        Filters: [
          { Name: 'location', Values: [`${region}a`] },
          { Name: 'instance-type', Values: ['m1.small'] },
        ],
      }),
    );
    expect(inZone.InstanceTypeOfferings).to.deep.equal([{ InstanceType: 'm1.small', LocationType: 'availability-zone', Location: `${region}a` }]);
  });

  it('answers InvalidInstanceType in AWS words for names it does not offer, with the reason', async () => {
    // AWS: "The following supplied instance types do not exist: [foo.bar]"
    const unknown = await rejection(account.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t2.micro', 'foo.bar' as _InstanceType] })));
    expect(unknown.name).to.equal('InvalidInstanceType');
    expect(unknown.message).to.equal('The following supplied instance types do not exist: [foo.bar]');
    const arm = await rejection(account.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['a1.medium'] })));
    expect(arm.name).to.equal('InvalidInstanceType');
    expect(arm.message).to.match(/^The following supplied instance types do not exist: \[a1\.medium\] a1\.medium is arm64/);
    const huge = await rejection(account.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['x2iedn.32xlarge'] })));
    expect(huge.message).to.match(/No node of this cluster can hold x2iedn\.32xlarge \(128 vCPUs/);
  });

  it('runs a previous-generation m1.small with its 1740 MiB, and refuses other architectures in AWS words', async () => {
    const run = await account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 'm1.small', MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0].InstanceId!;
    const [running] = await waitForStates(account.ec2, [id], ['running']);
    expect(running.InstanceType).to.equal('m1.small');
    const memoryDir = await libvirt.cgroupDir(id, 'memory');
    expect(readFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), 'utf8').trim()).to.equal(String(1740 * 1024 * 1024));

    // AWS's text when the type's architecture is not the AMI's
    const arm = await rejection(account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 'a1.medium', MinCount: 1, MaxCount: 1 })));
    expect(arm.name).to.equal('InvalidParameterValue');
    expect(arm.message).to.match(/^The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI\./);
    const unsized = await rejection(
      account.ec2.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 'cc1.4xlarge', MinCount: 1, MaxCount: 1 })),
    );
    expect(unsized.name).to.equal('InvalidParameterValue');
    expect(unsized.message).to.equal(
      "Invalid value 'cc1.4xlarge' for InstanceType. EC2 knows cc1.4xlarge, but this cloud's catalogue has no vCPU and memory figures for it.",
    );
    const { Reservations } = await account.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }] }),
    );
    expect(Reservations!.flatMap((r) => r.Instances!).map((i) => i.InstanceId)).to.deep.equal([id]);
  });

  it('refuses a filter EC2 documents but this cloud does not apply, by name, and an unknown filter in AWS words', async () => {
    const documented = await rejection(account.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'requester-id', Values: ['x'] }] })));
    expect(documented.name).to.equal('InvalidParameterValue');
    expect(documented.message).to.equal(
      "The filter 'requester-id' is invalid. EC2 documents it, but OAR Cloud does not support it here (see the README's Supported actions).",
    );
    // AWS: "The filter 'no-such-filter' is invalid"
    const unknown = await rejection(account.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })));
    expect(unknown.name).to.equal('InvalidParameterValue');
    expect(unknown.message).to.equal("The filter 'no-such-filter' is invalid.");
  });
});
