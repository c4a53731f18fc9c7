/** DescribeInstanceTypes (our catalogue, in EC2's full shape) and DescribeInstanceCreditSpecifications. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { filterInMemory } from '../domain/filters';
import { checkMaxResults, decodeToken, takePage } from '../domain/pagination';
import { findInstanceType, instanceTypes, type InstanceType } from '../domain/instance-types';
import type { InstanceTypeInfo } from '../protocol/model/ec2-shapes';

function info(t: InstanceType): InstanceTypeInfo {
  return {
    InstanceType: t.name,
    CurrentGeneration: true,
    FreeTierEligible: t.name === 't2.micro' || t.name === 't3.micro',
    SupportedUsageClasses: ['on-demand'],
    SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: ['hvm'],
    BareMetal: false,
    Hypervisor: 'xen',
    ProcessorInfo: { SupportedArchitectures: ['x86_64'], SustainedClockSpeedInGhz: 2.5 },
    VCpuInfo: { DefaultVCpus: t.vcpus, DefaultCores: t.vcpus, DefaultThreadsPerCore: 1, ValidCores: [t.vcpus], ValidThreadsPerCore: [1] },
    MemoryInfo: { SizeInMiB: t.memoryMib },
    InstanceStorageSupported: false,
    EbsInfo: { EbsOptimizedSupport: 'unsupported', EncryptionSupport: 'unsupported', NvmeSupport: 'unsupported' },
    NetworkInfo: {
      NetworkPerformance: 'Low to Moderate',
      MaximumNetworkInterfaces: 1,
      MaximumNetworkCards: 1,
      DefaultNetworkCardIndex: 0,
      NetworkCards: [{ NetworkCardIndex: 0, NetworkPerformance: 'Low to Moderate', MaximumNetworkInterfaces: 1 }],
      Ipv4AddressesPerInterface: 1,
      Ipv6AddressesPerInterface: 0,
      Ipv6Supported: false,
      EnaSupport: 'unsupported',
      EfaSupported: false,
      EncryptionInTransitSupported: false,
      EnaSrdSupported: false,
    },
    PlacementGroupInfo: { SupportedStrategies: [] },
    HibernationSupported: false,
    BurstablePerformanceSupported: t.burstable,
    DedicatedHostsSupported: false,
    AutoRecoverySupported: false,
    SupportedBootModes: ['legacy-bios'],
    NitroEnclavesSupport: 'unsupported',
    NitroTpmSupport: 'unsupported',
    PhcSupport: 'unsupported',
  };
}

export const describeInstanceTypes = defineAction('DescribeInstanceTypes', async (input) => {
  for (const name of input.InstanceTypes ?? []) {
    if (!findInstanceType(name)) throw errors.invalidInstanceType(name);
  }
  let types = [...instanceTypes().values()].filter((t) => !input.InstanceTypes?.length || input.InstanceTypes.includes(t.name));
  types = filterInMemory(types, input.Filters, {
    'instance-type': (t) => t.name,
    'vcpu-info.default-vcpus': (t) => String(t.vcpus),
    'memory-info.size-in-mib': (t) => String(t.memoryMib),
    'burstable-performance-supported': (t) => String(t.burstable),
    'current-generation': () => 'true',
    'processor-info.supported-architecture': () => 'x86_64',
    'supported-root-device-type': () => 'ebs',
    'supported-virtualization-type': () => 'hvm',
  });
  const max = checkMaxResults(input.MaxResults, 5, 100);
  const after = decodeToken(input.NextToken);
  if (after) types = types.filter((t) => t.name > after);
  types.sort((a, b) => a.name.localeCompare(b.name));
  const { page, nextToken } = takePage(types, max, (t) => t.name);
  return { InstanceTypes: page.map(info), NextToken: nextToken };
});

export const describeInstanceCreditSpecifications = defineAction('DescribeInstanceCreditSpecifications', async (input, { caller, services }) => {
  const { rows, nextToken } = await services.instances.describeRequest(caller.accountId, input);
  return {
    InstanceCreditSpecifications: rows
      .filter((r) => findInstanceType(r.instance_type)?.burstable)
      .map((r) => ({ InstanceId: r.id, CpuCredits: r.instance_type.startsWith('t2.') ? 'standard' : 'unlimited' })),
    NextToken: nextToken,
  };
});
