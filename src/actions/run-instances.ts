/**
 * RunInstances: validates the input, then the domain launches (instances.launch: ClientToken replay, image, key,
 * capacity and quota checks, one transaction) and answers at once (state pending); the reconciler then submits
 * one OAR job per instance. The same ClientToken and parameters answer the first launch again.
 */
import { createHash } from 'node:crypto';
import { defineAction, type Input, type Unhonoured } from './action';
import { errors } from '../domain/errors';
import { DEFAULT_INSTANCE_TYPE, findInstanceType, whyUnsized } from '../domain/instance-types';
import { tagsByType } from '../domain/tags';
import { zones } from '../domain/zones';
import type { Services } from '../services';
import { reservationViews } from './views/instance';

export const MAX_USER_DATA_BYTES = 16 * 1024;

export function decodeUserData(value: string | undefined): Buffer | null {
  if (value === undefined || value === '') return null;
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(value)) throw errors.invalidParameterValue('UserData', value.slice(0, 40), 'User data must be base64 encoded.');
  const data = Buffer.from(value, 'base64');
  if (data.length > MAX_USER_DATA_BYTES) throw errors.invalidUserDataSize();
  return data;
}

/**
 * Parameters the model allows that this cloud cannot honour: each is refused, naming it, rather than dropped (a spot
 * request must not start an on-demand instance). Values that ask for nothing special (Terraform sends
 * `EbsOptimized=false`, `HibernationOptions.Configured=false`, `Monitoring.Enabled=false`) and settings with nothing to
 * do here (credit mode, detailed monitoring: every instance is measured every 10 s) are accepted.
 */
export const RUN_INSTANCES_UNHONOURED: Unhonoured<Input<'RunInstances'>>[] = [
  [
    'InstanceMarketOptions',
    (i) => i.InstanceMarketOptions !== undefined && Object.keys(i.InstanceMarketOptions).length > 0,
    'Spot instances are not supported yet.',
  ],
  ['LaunchTemplate', (i) => i.LaunchTemplate !== undefined, 'Launch templates are not supported.'],
  ['BlockDeviceMapping', (i) => (i.BlockDeviceMappings?.length ?? 0) > 0, 'Block device mappings are not supported yet: the root volume is the image.'],
  ['HibernationOptions.Configured', (i) => i.HibernationOptions?.Configured === true, 'Hibernation is not supported.'],
  [
    'CpuOptions',
    (i) => i.CpuOptions !== undefined && Object.values(i.CpuOptions).some((v) => v !== undefined),
    'CPU options are not supported: an instance has its type’s vCPUs.',
  ],
  [
    'CapacityReservationSpecification.CapacityReservationTarget',
    (i) => i.CapacityReservationSpecification?.CapacityReservationTarget !== undefined,
    'Capacity reservations are not supported.',
  ],
  ['ElasticGpuSpecification', (i) => (i.ElasticGpuSpecification?.length ?? 0) > 0, 'Elastic GPUs are not supported.'],
  ['ElasticInferenceAccelerator', (i) => (i.ElasticInferenceAccelerators?.length ?? 0) > 0, 'Elastic Inference is not supported.'],
  ['LicenseSpecification', (i) => (i.LicenseSpecifications?.length ?? 0) > 0, 'License specifications are not supported.'],
  ['EnclaveOptions.Enabled', (i) => i.EnclaveOptions?.Enabled === true, 'Nitro Enclaves are not supported.'],
  [
    'Ipv6AddressCount',
    (i) => (i.Ipv6AddressCount ?? 0) > 0 || (i.Ipv6Addresses?.length ?? 0) > 0 || i.EnablePrimaryIpv6 === true,
    'Instances have no IPv6 address.',
  ],
  ['KernelId', (i) => Boolean(i.KernelId || i.RamdiskId), 'Containers boot no kernel or ramdisk of their own.'],
  [
    'IamInstanceProfile',
    (i) => i.IamInstanceProfile !== undefined && Boolean(i.IamInstanceProfile.Arn || i.IamInstanceProfile.Name),
    'Instance profiles (IAM roles) are not supported.',
  ],
  ['Operator', (i) => Boolean(i.Operator?.Principal), 'Managed instances are not supported.'],
  ['SecondaryInterfaces', (i) => (i.SecondaryInterfaces?.length ?? 0) > 0, 'Instances have one network interface here.'],
  [
    'NetworkPerformanceOptions.BandwidthWeighting',
    (i) => Boolean(i.NetworkPerformanceOptions?.BandwidthWeighting && i.NetworkPerformanceOptions.BandwidthWeighting !== 'default'),
    'Bandwidth weighting is not supported.',
  ],
];

/** What a ClientToken stands for: every parameter but the token itself and DryRun. */
function requestHash(input: Input<'RunInstances'>): string {
  const { ClientToken: _t, DryRun: _d, ...rest } = input;
  return createHash('sha256')
    .update(JSON.stringify(rest, Object.keys(rest).sort()))
    .digest('hex');
}

/**
 * The subnet, groups and address the instance's primary interface gets: from SubnetId / SecurityGroupId.N /
 * SecurityGroup.N (names, in the subnet's VPC) / PrivateIpAddress, or the same inside NetworkInterfaces (one
 * interface, device index 0), never both.
 */
async function networkPlacement(
  input: Input<'RunInstances'>,
  accountId: string,
  services: Services,
): Promise<{ subnetId?: string; groupIds: string[]; privateIp?: string; associatePublicIp?: boolean }> {
  const interfaces = input.NetworkInterfaces ?? [];
  if (interfaces.length > 1) throw errors.unsupportedOperation('Instances have one network interface here (device index 0).');
  const eni = interfaces[0];
  if (eni && (input.SubnetId || input.SecurityGroupIds?.length || input.SecurityGroups?.length || input.PrivateIpAddress))
    throw errors.invalidParameterCombination(
      'Network interfaces and an instance-level subnet, security groups or private IP address may not be specified on the same request',
    );
  if (eni && (eni.DeviceIndex ?? 0) !== 0)
    throw errors.invalidParameterValue('NetworkInterface.1.DeviceIndex', String(eni.DeviceIndex), 'The primary interface has device index 0.');
  if (eni?.NetworkInterfaceId)
    throw errors.unsupportedOperation('Attaching an existing network interface at launch is not supported; give SubnetId and Groups instead.');
  const subnetId = eni?.SubnetId || input.SubnetId || undefined;
  const privateIp = eni?.PrivateIpAddress || input.PrivateIpAddress || undefined;
  const groupIds = [...(eni?.Groups ?? []), ...(input.SecurityGroupIds ?? [])];
  if (input.SecurityGroups?.length) {
    await services.vpcs.ensureDefaults(accountId);
    const vpcId = subnetId ? (await services.vpcs.getSubnet(accountId, subnetId)).vpc_id : services.network.defaultVpcId(accountId);
    for (const name of input.SecurityGroups) groupIds.push((await services.securityGroups.resolve(accountId, { name }, vpcId)).id);
  }
  return { subnetId, groupIds, privateIp, associatePublicIp: eni?.AssociatePublicIpAddress };
}

export default defineAction(
  'RunInstances',
  async (input, { caller, services }) => {
    const { config, instances } = services;
    if (input.ClientToken !== undefined && (input.ClientToken.length > 64 || !/^[\x21-\x7e]*$/.test(input.ClientToken))) {
      throw errors.invalidParameterValue('ClientToken', input.ClientToken, 'It must be at most 64 printable ASCII characters.');
    }
    if (!input.ImageId) throw errors.missingParameter('ImageId');
    if (input.MinCount < 1) throw errors.invalidParameterValue('MinCount', String(input.MinCount), 'It must be at least 1.');
    if (input.MaxCount < input.MinCount) throw errors.invalidParameterValue('MaxCount', String(input.MaxCount), 'It must be at least MinCount.');
    const type = findInstanceType(input.InstanceType || DEFAULT_INSTANCE_TYPE);
    if (!type) throw errors.invalidInstanceType(input.InstanceType!, whyUnsized(input.InstanceType!));
    const zone = input.Placement?.AvailabilityZone || undefined;
    if (zone && !zones(config).some((z) => z.ZoneName === zone)) throw errors.invalidAvailabilityZone(zone);
    const placement = await networkPlacement(input, caller.accountId, services);
    const options = input.MetadataOptions;
    if (options?.HttpProtocolIpv6 === 'enabled') throw errors.unsupportedOperation('Instances have no IPv6 address: the metadata service is IPv4 only.');
    const metadataOptions =
      options && Object.keys(options).length
        ? {
            endpoint: options.HttpEndpoint as 'enabled' | 'disabled' | undefined,
            tokens: options.HttpTokens as 'optional' | 'required' | undefined,
            hopLimit: options.HttpPutResponseHopLimit,
            tags: options.InstanceMetadataTags as 'enabled' | 'disabled' | undefined,
          }
        : undefined;
    if (metadataOptions) services.metadata.validate(metadataOptions);
    const shutdownBehavior = input.InstanceInitiatedShutdownBehavior ?? 'stop';
    if (shutdownBehavior !== 'stop' && shutdownBehavior !== 'terminate') {
      throw errors.invalidParameterValue('InstanceInitiatedShutdownBehavior', shutdownBehavior, 'It must be stop or terminate.');
    }
    // an instance's one volume (its root) takes the volume tags; its interface has no tags of its own here
    const tagSpecs = tagsByType(input.TagSpecifications, ['instance', 'volume']);
    const launched = await instances.launch({
      accountId: caller.accountId,
      clientToken: input.ClientToken || undefined,
      requestHash: requestHash(input),
      imageId: input.ImageId,
      type,
      keyName: input.KeyName || undefined,
      userData: decodeUserData(input.UserData),
      zone,
      ...placement,
      shutdownBehavior,
      disableApiTermination: input.DisableApiTermination ?? false,
      disableApiStop: input.DisableApiStop ?? false,
      tags: tagSpecs.get('instance') ?? [],
      volumeTags: tagSpecs.get('volume') ?? [],
      minCount: input.MinCount,
      maxCount: input.MaxCount,
    });
    if (metadataOptions) {
      for (const row of launched.rows) await services.metadata.setOptions(row.id, metadataOptions);
      launched.rows = await services.instances.getOwned(
        caller.accountId,
        launched.rows.map((r) => r.id),
      );
    }
    const [reservation] = await reservationViews(launched.rows, services);
    return { ReservationId: launched.reservationId, OwnerId: caller.accountId, Groups: [], Instances: reservation?.Instances ?? [] };
  },
  { unhonoured: RUN_INSTANCES_UNHONOURED },
);
