/** DescribeVolumes: every instance's root volume (its overlay layer), so that clients reading the root device work. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { filterInMemory } from '../domain/filters';
import { withAnswerFilters } from './views/answer-filters';
import { derivedIds } from '../domain/ids';
import { checkMaxResults, decodeToken, takePage } from '../domain/pagination';
import { snapshotIdOf } from '../domain/images';
import type { Volume } from '../protocol/model/ec2-shapes';
import { instanceRootMapping, ROOT_DEVICE_NAME, ROOT_VOLUME } from './views/root-device';
import { tagSet } from './views/tags';

/** DescribeVolumes' documented filters beyond those above, read off the Volume answer. */
export const VOLUME_ANSWER_FILTERS = { action: 'DescribeVolumes', shape: 'Volume', aliases: { 'tag-key': 'Tags.Key' }, refused: {} };

export default defineAction('DescribeVolumes', async (input, { caller, services }) => {
  for (const id of input.VolumeIds ?? []) if (!/^vol-[0-9a-f]{8,17}$/.test(id)) throw errors.invalidParameterValue('VolumeId', id);
  const rows = await services.instances.withRootVolumes(caller.accountId, input.VolumeIds, decodeToken(input.NextToken));
  const missing = (input.VolumeIds ?? []).filter((v) => !rows.some((r) => derivedIds.rootVolume(r.id) === v));
  if (missing.length) throw errors.volumeNotFound(missing);
  const tags = await services.tags.load(rows.map((r) => derivedIds.rootVolume(r.id)));
  let volumes = rows.map((r) => {
    const { AttachTime, DeleteOnTermination, Status, VolumeId } = instanceRootMapping(r).Ebs!;
    const volume: Volume & { Attachments: NonNullable<Volume['Attachments']>; Tags: NonNullable<Volume['Tags']> } = {
      VolumeId,
      Size: ROOT_VOLUME.size,
      SnapshotId: snapshotIdOf(r.image_id),
      AvailabilityZone: r.availability_zone,
      State: 'in-use',
      CreateTime: r.created_at,
      Attachments: [{ AttachTime, Device: ROOT_DEVICE_NAME, InstanceId: r.id, State: Status, VolumeId, DeleteOnTermination }],
      Encrypted: false,
      VolumeType: ROOT_VOLUME.type,
      Iops: ROOT_VOLUME.iops,
      MultiAttachEnabled: false,
      Tags: tags.get(VolumeId!) ?? [],
    };
    return volume;
  });
  volumes = filterInMemory(
    volumes,
    input.Filters,
    withAnswerFilters(VOLUME_ANSWER_FILTERS, {
      'volume-id': (v) => v.VolumeId!,
      'attachment.instance-id': (v) => v.Attachments[0].InstanceId!,
      'attachment.device': (v) => v.Attachments[0].Device!,
      'attachment.status': (v) => v.Attachments[0].State!,
      'attachment.delete-on-termination': () => 'true',
      'availability-zone': (v) => v.AvailabilityZone!,
      status: (v) => v.State!,
      'volume-type': (v) => v.VolumeType!,
      size: (v) => String(v.Size),
      encrypted: () => 'false',
      'snapshot-id': (v) => v.SnapshotId!,
    }),
    (v) => Object.fromEntries(v.Tags.map((t) => [t.Key, t.Value])),
  );
  const { page, nextToken } = takePage(volumes, checkMaxResults(input.MaxResults, 5, 500), (v) => derivedIds.instanceOfVolume(v.VolumeId!));
  return { Volumes: page.map((v) => ({ ...v, Tags: tagSet(v.Tags) })), NextToken: nextToken };
});
