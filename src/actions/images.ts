/** CreateImage, DeregisterImage, DescribeImageAttribute, ModifyImageAttribute and DeleteSnapshot. */
import { snapshotIdOf } from '../domain/images';
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { newId } from '../domain/ids';
import { tagsByType } from '../domain/tags';
import { ImageCapturer } from '../domain/image-capture';
import { imageRootMapping } from './views/root-device';
import type { DescribeImageAttributeRequest, ImageAttribute, LaunchPermission } from '../protocol/model/ec2-shapes';

const NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

export const createImage = defineAction(
  'CreateImage',
  async (input, { caller, services }) => {
    if (!NAME.test(input.Name)) {
      throw errors.invalidParameterValue('Name', input.Name, "AMI names are 3 to 128 characters: letters, digits, spaces and ( ) [ ] . / - ' @ _");
    }
    if ((input.Description ?? '').length > 255) throw errors.invalidParameterValue('Description', input.Description!, 'At most 255 characters.');
    const tags = tagsByType(input.TagSpecifications, ['image', 'snapshot']);
    const [inst] = await services.instances.getOwned(caller.accountId, [input.InstanceId]);
    if (!['running', 'stopped', 'stopping'].includes(inst.state) || inst.desired_state === 'terminated') {
      throw errors.incorrectInstanceState(`Instance '${inst.id}' is not in a state from which it can be imaged (${inst.state}).`);
    }
    const imageId = newId('ami');
    await services.images.createPending({
      id: imageId,
      account_id: caller.accountId,
      name: input.Name,
      description: input.Description ?? null,
      source_instance_id: inst.id,
      layers: [ImageCapturer.newLayerId(), ...inst.layers],
      no_reboot: input.NoReboot ?? false,
    });
    await services.tags.insert(caller.accountId, 'image', [imageId], tags.get('image') ?? []);
    // the image's one snapshot (its root device's) takes the snapshot tags
    await services.tags.insert(caller.accountId, 'snapshot', [snapshotIdOf(imageId)], tags.get('snapshot') ?? []);
    services.capturer.capture(imageId);
    return { ImageId: imageId };
  },
  {
    unhonoured: [
      ['BlockDeviceMapping', (i) => (i.BlockDeviceMappings?.length ?? 0) > 0, 'Block device mappings are not supported yet: an image is its root filesystem.'],
      ['SnapshotLocation', (i) => Boolean(i.SnapshotLocation && i.SnapshotLocation !== 'regional'), 'There are no Local Zones or Outposts here.'],
    ],
  },
);

export const deregisterImage = defineAction('DeregisterImage', async (input, { caller, services }) => {
  await services.images.deregister(caller.accountId, input.ImageId);
  // layers go once no image and no live instance uses them: instances launched from it keep running
  void services.capturer.collectLayers().catch((err) => services.log.warn({ err: String(err) }, 'layer collection failed'));
  return { Return: true };
});

/** The root "snapshot" of an image is its layers: deleting it succeeds once the image is deregistered. */
export const deleteSnapshot = defineAction('DeleteSnapshot', async (input, { caller, services }) => {
  const image = await services.images.bySnapshot(caller.accountId, input.SnapshotId);
  if (image.state !== 'deregistered') throw errors.snapshotInUse(input.SnapshotId, image.id);
});

/** Attributes answered with an empty element: these images have none of them. */
const EMPTY_ATTRIBUTES: DescribeImageAttributeRequest['Attribute'][] = [
  'bootMode',
  'tpmSupport',
  'uefiData',
  'lastLaunchedTime',
  'imdsSupport',
  'deregistrationProtection',
  'sriovNetSupport',
];

export const describeImageAttribute = defineAction('DescribeImageAttribute', async (input, { caller, services }) => {
  const image = await services.images.owned(caller.accountId, input.ImageId);
  const out: ImageAttribute & Record<string, unknown> = { ImageId: image.id };
  switch (input.Attribute) {
    case 'description':
      out.Description = { Value: image.description ?? '' };
      break;
    case 'launchPermission':
      out.LaunchPermissions = [
        ...(image.is_public ? [{ Group: 'all' }] : []),
        ...(await services.images.launchPermissions(image.id)).map((UserId) => ({ UserId })),
      ];
      break;
    case 'blockDeviceMapping':
      out.BlockDeviceMappings = [imageRootMapping(image.id, image.root_device_name)];
      break;
    case 'productCodes':
      out.ProductCodes = [];
      break;
    case 'kernel':
      out.KernelId = {};
      break;
    case 'ramdisk':
      out.RamdiskId = {};
      break;
    default:
      out[input.Attribute[0].toUpperCase() + input.Attribute.slice(1)] = {};
  }
  if (EMPTY_ATTRIBUTES.includes(input.Attribute)) {
    for (const k of Object.keys(out)) if (k !== 'ImageId') delete out[k];
  }
  return out;
});

export const modifyImageAttribute = defineAction(
  'ModifyImageAttribute',
  async (input, { caller, services }) => {
    const image = await services.images.owned(caller.accountId, input.ImageId);
    const add: LaunchPermission[] = [...(input.LaunchPermission?.Add ?? [])];
    const remove: LaunchPermission[] = [...(input.LaunchPermission?.Remove ?? [])];
    if (input.Attribute === 'launchPermission' || input.UserIds?.length || input.UserGroups?.length) {
      const list = input.OperationType === 'remove' ? remove : add;
      if (!input.OperationType) throw errors.missingParameter('OperationType');
      for (const u of input.UserIds ?? []) list.push({ UserId: u });
      for (const g of input.UserGroups ?? []) list.push({ Group: g });
    }
    const description = input.Description?.Value ?? (input.Attribute === 'description' ? input.Value : undefined);
    if (!add.length && !remove.length && description === undefined) throw errors.missingParameter('LaunchPermission');
    for (const p of [...add, ...remove]) {
      if (p.OrganizationArn || p.OrganizationalUnitArn)
        throw errors.unsupportedOperation('Organizations are not supported; share with account ids or the group all.');
      if (p.Group !== undefined && p.Group !== 'all') throw errors.invalidParameterValue('Group', p.Group, 'The only group is all.');
      if (p.UserId !== undefined && !/^\d{12}$/.test(p.UserId)) throw errors.invalidParameterValue('UserId', p.UserId, 'It must be a 12-digit account id.');
    }
    const accounts = (list: LaunchPermission[]) => list.filter((p) => p.UserId && p.UserId !== caller.accountId).map((p) => p.UserId!);
    // AWS accepts any well-formed account id, whether or not the account exists (yet): so do we
    const makePublic = add.some((p) => p.Group === 'all') ? true : remove.some((p) => p.Group === 'all') ? false : undefined;
    await services.images.changeLaunchPermissions(image.id, { addAccounts: accounts(add), removeAccounts: accounts(remove), makePublic });
    if (description !== undefined) await services.images.setDescription(image.id, description);
  },
  {
    unhonoured: [
      ['ProductCode', (i) => (i.ProductCodes?.length ?? 0) > 0, 'There is no Marketplace here.'],
      [
        'OrganizationArn',
        (i) => (i.OrganizationArns?.length ?? 0) > 0 || (i.OrganizationalUnitArns?.length ?? 0) > 0,
        'There are no AWS Organizations here: share with account ids.',
      ],
      ['ImdsSupport', (i) => Boolean(i.ImdsSupport?.Value), 'An image carries no metadata options: set them at launch (MetadataOptions.HttpTokens).'],
    ],
  },
);
