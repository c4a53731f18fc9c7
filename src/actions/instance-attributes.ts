/**
 * DescribeInstanceAttribute and ModifyInstanceAttribute. Terraform reads four attributes on every refresh and
 * sets DisableApiTermination=false before every destroy; a type change needs a stopped instance, as in EC2.
 */
import { defineAction } from './action';
import { errors } from '../protocol/errors';
import { derivedIds } from '../domain/ids';
import { findInstanceType, oarCoresFor } from '../domain/instance-types';
import { MAX_USER_DATA_BYTES } from './run-instances';
import type { InstanceRow } from '../domain/instances';

type Attribute =
  | 'instanceType' | 'kernel' | 'ramdisk' | 'userData' | 'disableApiTermination' | 'instanceInitiatedShutdownBehavior'
  | 'rootDeviceName' | 'blockDeviceMapping' | 'productCodes' | 'sourceDestCheck' | 'groupSet' | 'ebsOptimized'
  | 'sriovNetSupport' | 'enaSupport' | 'enclaveOptions' | 'disableApiStop';

function attributeValue(r: InstanceRow, attribute: Attribute, sgId: string): Record<string, unknown> {
  switch (attribute) {
    case 'instanceType': return { InstanceType: { Value: r.instance_type } };
    case 'kernel': return { KernelId: {} };
    case 'ramdisk': return { RamdiskId: {} };
    case 'userData': return { UserData: r.user_data?.length ? { Value: r.user_data.toString('base64') } : {} };
    case 'disableApiTermination': return { DisableApiTermination: { Value: r.disable_api_termination } };
    case 'disableApiStop': return { DisableApiStop: { Value: r.disable_api_stop } };
    case 'instanceInitiatedShutdownBehavior': return { InstanceInitiatedShutdownBehavior: { Value: r.shutdown_behavior } };
    case 'rootDeviceName': return { RootDeviceName: { Value: '/dev/xvda' } };
    case 'blockDeviceMapping':
      return { BlockDeviceMappings: r.state === 'terminated' ? [] : [{ DeviceName: '/dev/xvda', Ebs: { AttachTime: r.created_at, DeleteOnTermination: true, Status: 'attached', VolumeId: derivedIds.rootVolume(r.id) } }] };
    case 'productCodes': return { ProductCodes: [] };
    case 'sourceDestCheck': return { SourceDestCheck: { Value: true } };
    case 'groupSet': return { Groups: [{ GroupId: sgId, GroupName: 'default' }] };
    case 'ebsOptimized': return { EbsOptimized: { Value: false } };
    case 'sriovNetSupport': return { SriovNetSupport: {} };
    case 'enaSupport': return { EnaSupport: { Value: false } };
    case 'enclaveOptions': return { EnclaveOptions: { Enabled: false } };
  }
}

export const describeInstanceAttribute = defineAction<{ InstanceId: string; Attribute: Attribute }>('DescribeInstanceAttribute', async (input, { caller, services }) => {
  const [r] = await services.instances.getOwned(caller.accountId, [input.InstanceId]);
  return { InstanceId: r.id, ...attributeValue(r, input.Attribute, services.network.defaultSecurityGroupId(r.account_id)) };
});

interface ModifyInput {
  InstanceId: string;
  Attribute?: Attribute;
  Value?: string;
  DisableApiTermination?: { Value?: boolean };
  DisableApiStop?: { Value?: boolean };
  InstanceInitiatedShutdownBehavior?: { Value?: string };
  InstanceType?: { Value?: string };
  UserData?: { Value?: Buffer };
  SourceDestCheck?: { Value?: boolean };
  EbsOptimized?: { Value?: boolean };
  EnaSupport?: { Value?: boolean };
  [other: string]: unknown;
}

export const modifyInstanceAttribute = defineAction<ModifyInput>('ModifyInstanceAttribute', async (input, { caller, services }) => {
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
  if (asked.DisableApiTermination?.Value !== undefined) update.disable_api_termination = asked.DisableApiTermination.Value;
  if (asked.DisableApiStop?.Value !== undefined) update.disable_api_stop = asked.DisableApiStop.Value;
  if (asked.InstanceInitiatedShutdownBehavior?.Value !== undefined) {
    const v = asked.InstanceInitiatedShutdownBehavior.Value;
    if (v !== 'stop' && v !== 'terminate') throw errors.invalidParameterValue('InstanceInitiatedShutdownBehavior', v, 'It must be stop or terminate.');
    update.shutdown_behavior = v;
  }
  if (asked.InstanceType?.Value !== undefined) {
    const type = findInstanceType(asked.InstanceType.Value);
    if (!type) throw errors.invalidInstanceType(asked.InstanceType.Value);
    if (r.state !== 'stopped') throw errors.incorrectInstanceState(`The instance '${r.id}' is not in the 'stopped' state.`);
    const { memoryPerCoreMib } = await services.oar.capacity();
    Object.assign(update, { instance_type: type.name, vcpus: type.vcpus, memory_mib: type.memoryMib, oar_cores: oarCoresFor(type, memoryPerCoreMib) });
  }
  if (asked.UserData?.Value !== undefined) {
    if (r.state !== 'stopped') throw errors.incorrectInstanceState(`The instance '${r.id}' is not in the 'stopped' state.`);
    if (asked.UserData.Value.length > MAX_USER_DATA_BYTES) throw errors.invalidUserDataSize();
    update.user_data = asked.UserData.Value;
  }
  if (r.state === 'terminated' && Object.keys(update).length) throw errors.incorrectInstanceState(`The instance '${r.id}' is terminated.`);
  if (Object.keys(update).length) await services.db('instances').where('id', r.id).update({ ...update, updated_at: new Date() });
  return {};
});
