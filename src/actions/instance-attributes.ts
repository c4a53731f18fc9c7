/**
 * DescribeInstanceAttribute and ModifyInstanceAttribute. Terraform reads four attributes on every refresh and
 * sets DisableApiTermination=false before every destroy; a type change needs a stopped instance, as in EC2.
 */
import { defineAction, type Input } from './action';
import { errors } from '../domain/errors';
import { findInstanceType, whyUnsized, type InstanceType } from '../domain/instance-types';
import { MAX_USER_DATA_BYTES } from './run-instances';
import type { InstanceRow } from '../domain/instances';
import type { InstanceAttribute } from '../protocol/model/ec2-shapes';
import { instanceRootMapping, ROOT_DEVICE_NAME } from './views/root-device';
import { interfacePlaces, metadataOptionsView } from './views/instance';

/** DescribeInstanceAttribute's Attribute (an enum in the model; an unknown one is refused). */
type Attribute = string;

function attributeValue(r: InstanceRow, attribute: Attribute, groups: { GroupId: string; GroupName: string }[]): Omit<InstanceAttribute, 'InstanceId'> {
  switch (attribute) {
    case 'instanceType':
      return { InstanceType: { Value: r.instance_type } };
    case 'kernel':
      return { KernelId: {} };
    case 'ramdisk':
      return { RamdiskId: {} };
    case 'userData':
      return { UserData: r.user_data?.length ? { Value: r.user_data.toString('base64') } : {} };
    case 'disableApiTermination':
      return { DisableApiTermination: { Value: r.disable_api_termination } };
    case 'disableApiStop':
      return { DisableApiStop: { Value: r.disable_api_stop } };
    case 'instanceInitiatedShutdownBehavior':
      return { InstanceInitiatedShutdownBehavior: { Value: r.shutdown_behavior } };
    case 'rootDeviceName':
      return { RootDeviceName: { Value: ROOT_DEVICE_NAME } };
    case 'blockDeviceMapping':
      return { BlockDeviceMappings: r.state === 'terminated' ? [] : [instanceRootMapping(r)] };
    case 'productCodes':
      return { ProductCodes: [] };
    case 'sourceDestCheck':
      return { SourceDestCheck: { Value: true } };
    case 'groupSet':
      return { Groups: groups };
    case 'ebsOptimized':
      return { EbsOptimized: { Value: false } };
    case 'sriovNetSupport':
      return { SriovNetSupport: {} };
    case 'enaSupport':
      return { EnaSupport: { Value: false } };
    case 'enclaveOptions':
      return { EnclaveOptions: { Enabled: false } };
    default:
      throw errors.invalidParameterValue('Attribute', String(attribute));
  }
}

export const describeInstanceAttribute = defineAction('DescribeInstanceAttribute', async (input, { caller, services }) => {
  const [r] = await services.instances.getOwned(caller.accountId, [input.InstanceId]);
  const place = (await interfacePlaces([r], services)).get(r.id)!;
  return { InstanceId: r.id, ...attributeValue(r, input.Attribute, place.groups) };
});

type ModifyInput = Input<'ModifyInstanceAttribute'>;

export const modifyInstanceAttribute = defineAction(
  'ModifyInstanceAttribute',
  async (input, { caller, services }) => {
    const [r] = await services.instances.getOwned(caller.accountId, [input.InstanceId]);
    // the old form names the attribute and gives one Value
    const asked: ModifyInput = { ...input };
    if (input.Attribute) {
      if (input.Value === undefined) throw errors.missingParameter('Value');
      const bool = () => {
        if (!['true', 'false'].includes(input.Value!)) throw errors.invalidParameterValue('Value', input.Value!);
        return input.Value === 'true';
      };
      if (input.Attribute === 'disableApiTermination') asked.DisableApiTermination = { Value: bool() };
      else if (input.Attribute === 'disableApiStop') asked.DisableApiStop = { Value: bool() };
      else if (input.Attribute === 'instanceInitiatedShutdownBehavior') asked.InstanceInitiatedShutdownBehavior = { Value: input.Value };
      else if (input.Attribute === 'instanceType') asked.InstanceType = { Value: input.Value };
      else if (input.Attribute === 'userData') asked.UserData = { Value: Buffer.from(input.Value, 'base64') };
      else if (!['sourceDestCheck', 'ebsOptimized', 'enaSupport'].includes(input.Attribute)) {
        throw errors.invalidParameterValue('Attribute', input.Attribute, 'This attribute cannot be modified.');
      }
    }
    const update: Partial<InstanceRow> = {};
    let newType: InstanceType | undefined;
    let resizeLive: InstanceType | undefined;
    if (asked.DisableApiTermination?.Value !== undefined) update.disable_api_termination = asked.DisableApiTermination.Value;
    if (asked.DisableApiStop?.Value !== undefined) update.disable_api_stop = asked.DisableApiStop.Value;
    if (asked.InstanceInitiatedShutdownBehavior?.Value !== undefined) {
      const v = asked.InstanceInitiatedShutdownBehavior.Value;
      if (v !== 'stop' && v !== 'terminate') throw errors.invalidParameterValue('InstanceInitiatedShutdownBehavior', v, 'It must be stop or terminate.');
      update.shutdown_behavior = v;
    }
    if (asked.InstanceType?.Value !== undefined) {
      const type = findInstanceType(asked.InstanceType.Value);
      if (!type) throw errors.invalidInstanceType(asked.InstanceType.Value, whyUnsized(asked.InstanceType.Value));
      // a running instance is resized in place (EC2 asks for a stop first); a stopped one takes the type at its start
      if (r.state === 'running' && r.desired_state === 'running' && type.name !== r.instance_type) resizeLive = type;
      else if (r.state !== 'stopped') throw errors.incorrectInstanceState(`The instance '${r.id}' is not in the 'stopped' or 'running' state.`);
      else newType = type;
    }
    if (asked.UserData?.Value !== undefined) {
      if (r.state !== 'stopped') throw errors.incorrectInstanceState(`The instance '${r.id}' is not in the 'stopped' state.`);
      if (asked.UserData.Value.length > MAX_USER_DATA_BYTES) throw errors.invalidUserDataSize();
      update.user_data = asked.UserData.Value;
    }
    if (input.Attribute === 'groupSet') throw errors.invalidParameterCombination('Give the groups with GroupId.N.');
    const groups = asked.Groups ?? [];
    if (r.state === 'terminated' && (Object.keys(update).length || newType || groups.length))
      throw errors.incorrectInstanceState(`The instance '${r.id}' is terminated.`);
    // who asked, for the resize's event: a person by their user name; a schedule or an alarm names itself
    const by = caller.accessKeyId ? `user ${caller.userName}` : caller.userName;
    await services.instances.modify(r, update, newType, by);
    if (resizeLive) await services.instances.resizeRunning(r, resizeLive, by);
    if (groups.length) {
      const place = (await interfacePlaces([r], services)).get(r.id)!;
      await services.securityGroups.replaceMembership(caller.accountId, r.id, place.vpcId, groups);
    }
  },
  {
    unhonoured: [
      [
        'SourceDestCheck',
        (i) => i.SourceDestCheck?.Value === false || (i.Attribute === 'sourceDestCheck' && i.Value === 'false'),
        'Every interface checks source and destination here (no instance routes for others).',
      ],
      [
        'EbsOptimized',
        (i) => i.EbsOptimized?.Value === true || (i.Attribute === 'ebsOptimized' && i.Value === 'true'),
        'There is no EBS here: disks are local.',
      ],
      [
        'EnaSupport',
        (i) => i.EnaSupport?.Value === true || (i.Attribute === 'enaSupport' && i.Value === 'true'),
        'Containers have a virtual Ethernet pair, not ENA.',
      ],
      ['SriovNetSupport', (i) => Boolean(i.SriovNetSupport?.Value), 'Containers have a virtual Ethernet pair, not SR-IOV.'],
      ['Kernel', (i) => Boolean(i.Kernel?.Value || i.Ramdisk?.Value), 'Containers boot no kernel or ramdisk of their own.'],
      ['BlockDeviceMapping', (i) => (i.BlockDeviceMappings?.length ?? 0) > 0, 'Block device mappings are not supported yet: the root volume is the image.'],
    ],
  },
);

/** ModifyInstanceMetadataOptions: in force for the instance's next metadata request. */
export const modifyInstanceMetadataOptions = defineAction('ModifyInstanceMetadataOptions', async (input, { caller, services }) => {
  const [r] = await services.instances.getOwned(caller.accountId, [input.InstanceId]);
  if (r.state === 'terminated') throw errors.incorrectInstanceState(`The instance '${r.id}' is terminated.`);
  if (input.HttpProtocolIpv6 === 'enabled') throw errors.unsupportedOperation('Instances have no IPv6 address: the metadata service is IPv4 only.');
  await services.metadata.setOptions(r.id, {
    endpoint: input.HttpEndpoint as 'enabled' | 'disabled' | undefined,
    tokens: input.HttpTokens as 'optional' | 'required' | undefined,
    hopLimit: input.HttpPutResponseHopLimit,
    tags: input.InstanceMetadataTags as 'enabled' | 'disabled' | undefined,
  });
  const [after] = await services.instances.getOwned(caller.accountId, [r.id]);
  return { InstanceId: r.id, InstanceMetadataOptions: metadataOptionsView(services.network, after) };
});
