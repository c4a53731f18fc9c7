/** DescribeVolumes: every instance's root volume (its overlay layer), so that clients reading the root device work. */
import { defineAction } from './action';
import { errors } from '../protocol/errors';
import { filterInMemory, type Filter } from '../domain/filters';
import { derivedIds } from '../domain/ids';
import { checkMaxResults, decodeToken, encodeToken } from '../domain/pagination';
import { loadTags } from '../domain/tags';
import { snapshotIdOf } from '../domain/images';
import type { InstanceRow } from '../domain/instances';

export default defineAction<{ VolumeIds?: string[]; Filters?: Filter[]; MaxResults?: number; NextToken?: string }>('DescribeVolumes', async (input, { caller, services }) => {
  for (const id of input.VolumeIds ?? []) if (!/^vol-[0-9a-f]{8,17}$/.test(id)) throw errors.invalidParameterValue('VolumeId', id);
  const q = services.db('instances').where('account_id', caller.accountId).whereNot('state', 'terminated').orderBy('id');
  if (input.VolumeIds?.length) q.whereIn('id', input.VolumeIds.map((v) => `i-${v.slice(4)}`));
  const after = decodeToken(input.NextToken);
  if (after) q.where('id', '>', after);
  const rows: InstanceRow[] = await q;
  for (const v of input.VolumeIds ?? []) if (!rows.some((r) => derivedIds.rootVolume(r.id) === v)) throw errors.volumeNotFound(v);
  const tags = await loadTags(services.db, rows.map((r) => derivedIds.rootVolume(r.id)));
  let volumes = rows.map((r) => ({
    VolumeId: derivedIds.rootVolume(r.id),
    Size: 8,
    SnapshotId: snapshotIdOf(r.image_id),
    AvailabilityZone: r.availability_zone,
    State: 'in-use',
    CreateTime: r.created_at,
    Attachments: [{ AttachTime: r.created_at, Device: '/dev/xvda', InstanceId: r.id, State: 'attached', VolumeId: derivedIds.rootVolume(r.id), DeleteOnTermination: true }],
    Encrypted: false,
    VolumeType: 'gp2',
    Iops: 100,
    MultiAttachEnabled: false,
    Tags: tags.get(derivedIds.rootVolume(r.id)) ?? [],
  }));
  volumes = filterInMemory(volumes, input.Filters, {
    'volume-id': (v) => v.VolumeId,
    'attachment.instance-id': (v) => v.Attachments[0].InstanceId,
    'attachment.device': (v) => v.Attachments[0].Device,
    'attachment.status': (v) => v.Attachments[0].State,
    'attachment.delete-on-termination': () => 'true',
    'availability-zone': (v) => v.AvailabilityZone,
    status: (v) => v.State,
    'volume-type': (v) => v.VolumeType,
    size: (v) => String(v.Size),
    encrypted: () => 'false',
    'snapshot-id': (v) => v.SnapshotId,
  }, (v) => Object.fromEntries(v.Tags.map((t) => [t.Key, t.Value])));
  const max = checkMaxResults(input.MaxResults, 5, 500);
  const page = max ? volumes.slice(0, max) : volumes;
  return { Volumes: page, NextToken: max && volumes.length > max ? encodeToken(`i-${page[page.length - 1].VolumeId.slice(4)}`) : undefined };
});
