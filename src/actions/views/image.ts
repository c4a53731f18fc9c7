/** EC2's Image structure for image rows (DescribeImages). */
import type { Services } from '../../services';
import { SYSTEM_OWNER_ALIAS, type ImageRow } from '../../domain/images';
import type { Image } from '../../protocol/model/ec2-shapes';
import { imageRootMapping } from './root-device';
import { tagSet } from './tags';

export async function imageViews(rows: (ImageRow & { owner_is_system?: boolean })[], services: Services): Promise<Image[]> {
  const tags = await services.tags.load(rows.map((r) => r.id));
  return rows.map((r) => ({
    ImageId: r.id,
    ImageLocation: `${r.account_id}/${r.name}`,
    ImageOwnerAlias: r.owner_is_system ? SYSTEM_OWNER_ALIAS : undefined,
    State: r.state,
    StateReason: r.state_reason ? { Code: r.state === 'failed' ? 'Server.InternalError' : r.state, Message: r.state_reason } : undefined,
    OwnerId: r.account_id,
    CreationDate: r.created_at.toISOString(),
    Public: r.is_public,
    Architecture: r.architecture,
    ImageType: 'machine',
    Name: r.name,
    Description: r.description ?? '',
    RootDeviceType: 'ebs',
    RootDeviceName: r.root_device_name,
    BlockDeviceMappings: [imageRootMapping(r.id, r.root_device_name)],
    SourceInstanceId: r.source_instance_id ?? undefined,
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: false,
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    Tags: tagSet(tags.get(r.id)),
  }));
}
