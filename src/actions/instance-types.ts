/** DescribeInstanceTypes (our catalogue, in EC2's full shape) and DescribeInstanceCreditSpecifications. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { filterAnswers, type AnswerFilterSpec } from './views/answer-filters';
import { filterInMemory } from '../domain/filters';
import { zones } from '../domain/zones';
import { checkMaxResults, decodeToken, takePage } from '../domain/pagination';
import { findInstanceType, HOST_ARCHITECTURE, instanceTypes, whyUnsized, type InstanceType } from '../domain/instance-types';
import type { InstanceTypeInfo } from '../protocol/model/ec2-shapes';

function info(t: InstanceType): InstanceTypeInfo {
  return {
    InstanceType: t.name,
    CurrentGeneration: t.currentGeneration,
    FreeTierEligible: t.freeTierEligible,
    SupportedUsageClasses: ['on-demand'],
    SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: ['hvm'],
    BareMetal: false,
    Hypervisor: 'xen',
    ProcessorInfo: { SupportedArchitectures: t.architectures, SustainedClockSpeedInGhz: 2.5 },
    VCpuInfo: {
      DefaultVCpus: t.vcpus,
      DefaultCores: t.cores,
      DefaultThreadsPerCore: t.threadsPerCore,
      ValidCores: [t.cores],
      ValidThreadsPerCore: [t.threadsPerCore],
    },
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

/** Every filter the EC2 reference documents for DescribeInstanceTypes, read off the answer. */
export const INSTANCE_TYPE_FILTERS: AnswerFilterSpec = {
  action: 'DescribeInstanceTypes',
  shape: 'InstanceTypeInfo',
  appliedEarlier: [],
  aliases: {},
  refused: {},
};

/**
 * The types this cluster offers: those some node can hold. A name EC2 knows that no node can hold is answered as
 * AWS answers a type its region does not offer, with the reason after AWS's text.
 */
export const describeInstanceTypes = defineAction('DescribeInstanceTypes', async (input, { services }) => {
  // IncludeUnsupportedInRegion: also the types no node here can hold
  const offered = input.IncludeUnsupportedInRegion ? [...instanceTypes().values()] : await services.instances.placeable(instanceTypes().values());
  const asked = input.InstanceTypes ?? [];
  const missing = asked.filter((name) => !offered.some((t) => t.name === name));
  if (missing.length) {
    const reasons = missing.map((name) => {
      const type = findInstanceType(name);
      if (!type) return whyUnsized(name);
      if (!type.architectures.includes(HOST_ARCHITECTURE))
        return `${name} is ${type.architectures.join('/')} and this cluster's nodes are ${HOST_ARCHITECTURE}.`;
      return `No node of this cluster can hold ${name} (${type.vcpus} vCPUs, ${type.memoryMib} MiB).`;
    });
    throw errors.instanceTypesNotFound(missing, reasons.filter(Boolean).join(' '));
  }
  let answers = (asked.length ? offered.filter((t) => asked.includes(t.name)) : offered).map(info);
  answers = filterAnswers(INSTANCE_TYPE_FILTERS, answers, input.Filters ?? []);
  const max = checkMaxResults(input.MaxResults, 5, 100);
  const after = decodeToken(input.NextToken);
  if (after) answers = answers.filter((a) => a.InstanceType! > after);
  answers.sort((a, b) => a.InstanceType!.localeCompare(b.InstanceType!));
  const { page, nextToken } = takePage(answers, max, (a) => a.InstanceType!);
  return { InstanceTypes: page, NextToken: nextToken };
});

/**
 * Where each offered type can run: this cluster is one zone per region, and every node of it takes every type it
 * offers (Terraform's aws_ec2_instance_type_offerings reads this).
 */
export const describeInstanceTypeOfferings = defineAction('DescribeInstanceTypeOfferings', async (input, { services }) => {
  const locationType = input.LocationType ?? 'region';
  if (locationType === 'outpost') throw errors.unsupportedOperation('There are no Outposts here.');
  const locations =
    locationType === 'region' ? services.config.regions : zones(services.config).map((z) => (locationType === 'availability-zone' ? z.ZoneName : z.ZoneId));
  const offered = await services.instances.placeable(instanceTypes().values());
  let offerings = locations.flatMap((location) => offered.map((t) => ({ InstanceType: t.name, LocationType: locationType, Location: location })));
  offerings = filterInMemory(offerings, input.Filters, { 'instance-type': (o) => o.InstanceType, location: (o) => o.Location });
  const key = (o: { InstanceType: string; Location: string }) => `${o.Location} ${o.InstanceType}`;
  offerings.sort((a, b) => key(a).localeCompare(key(b)));
  const after = decodeToken(input.NextToken);
  if (after) offerings = offerings.filter((o) => key(o) > after);
  const { page, nextToken } = takePage(offerings, checkMaxResults(input.MaxResults, 5, 1000), key);
  return { InstanceTypeOfferings: page, NextToken: nextToken };
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
