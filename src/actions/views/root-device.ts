/** The one root device every instance and image has: an 8 GiB gp2 "EBS" volume named /dev/xvda (the overlay). */
import { derivedIds } from '../../domain/ids';
import { snapshotIdOf } from '../../domain/images';
import type { InstanceRow } from '../../domain/instances';
import type { BlockDeviceMapping, InstanceBlockDeviceMapping } from '../../protocol/model/ec2-shapes';

export const ROOT_DEVICE_NAME = '/dev/xvda';
export const ROOT_VOLUME = { size: 8, type: 'gp2', iops: 100 } as const;

/** An instance's root volume as attached (DescribeInstances, DescribeInstanceAttribute). */
export function instanceRootMapping(r: Pick<InstanceRow, 'id' | 'created_at'>): InstanceBlockDeviceMapping {
  return {
    DeviceName: ROOT_DEVICE_NAME,
    Ebs: { AttachTime: r.created_at, DeleteOnTermination: true, Status: 'attached', VolumeId: derivedIds.rootVolume(r.id) },
  };
}

/** An image's root device, from its snapshot (DescribeImages, DescribeImageAttribute). */
export function imageRootMapping(imageId: string, deviceName: string): BlockDeviceMapping {
  return {
    DeviceName: deviceName,
    Ebs: { DeleteOnTermination: true, SnapshotId: snapshotIdOf(imageId), VolumeSize: ROOT_VOLUME.size, VolumeType: ROOT_VOLUME.type, Encrypted: false },
  };
}
