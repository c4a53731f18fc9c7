/**
 * Images: rows naming an ordered list of layers in the image store. System images (the base root filesystems
 * built by `oarcloud image build`) belong to the system account and are public.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { databaseFailure } from '../adapters/db';
import { errors } from './errors';
import { checkFilters, wildcardToLike, type Filter } from './filters';
import { isValidId, newId } from './ids';

/** How long DescribeImages by id still shows a deregistered image (EC2: "a short interval"; Terraform reads it as gone). */
export const DEREGISTERED_SHOWN_SECONDS = 3600;

export interface ImageRow {
  id: string;
  account_id: string;
  name: string;
  description: string | null;
  state: 'pending' | 'available' | 'failed' | 'deregistered';
  state_reason: string | null;
  architecture: string;
  root_device_name: string;
  is_public: boolean;
  source_instance_id: string | null;
  layers: string[];
  size_bytes: string | null;
  created_at: Date;
}

export const SYSTEM_OWNER_ALIAS = 'oarcloud';
export const IMAGE_FILTERS = [
  'image-id',
  'name',
  'state',
  'owner-id',
  'owner-alias',
  'is-public',
  'architecture',
  'description',
  'image-type',
  'root-device-type',
  'root-device-name',
  'virtualization-type',
  'hypervisor',
  'platform',
  'source-instance-id',
  'creation-date',
  'ena-support',
  'block-device-mapping.device-name',
  'block-device-mapping.snapshot-id',
  'block-device-mapping.delete-on-termination',
  'block-device-mapping.encrypted',
  'tag-key',
];
const FILTER_COLUMNS: Record<string, string> = {
  'image-id': 'im.id',
  name: 'im.name',
  state: 'im.state',
  'owner-id': 'im.account_id',
  architecture: 'im.architecture',
  description: "coalesce(im.description, '')",
  'is-public': "case when im.is_public then 'true' else 'false' end",
  'owner-alias': "case when a.is_system then 'oarcloud' else '' end",
  'image-type': "'machine'",
  'root-device-type': "'ebs'",
  'root-device-name': 'im.root_device_name',
  'virtualization-type': "'hvm'",
  hypervisor: "'xen'",
  platform: "''",
  'source-instance-id': "coalesce(im.source_instance_id, '')",
  // as CreationDate is written (2026-12-07T04:05:06.789Z), so that `2026-12-07T*` matches a day
  'creation-date': `to_char(im.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  'ena-support': "'false'",
  // the one mapping: the root device, its snapshot derived from the image id (snapshotIdOf)
  'block-device-mapping.device-name': 'im.root_device_name',
  'block-device-mapping.snapshot-id': "'snap-' || substr(im.id, 5)",
  'block-device-mapping.delete-on-termination': "'true'",
  'block-device-mapping.encrypted': "'false'",
};

/** The snapshot an image's root device names: derived from the image id (layers play the snapshot's part). */
export function snapshotIdOf(imageId: string): string {
  return `snap-${imageId.slice(4)}`;
}

/** A system image's id is derived from its name, so rebuilding it keeps the id users already have. */
export function systemImageId(name: string): string {
  return `ami-${createHash('sha256').update(`system-image:${name}`).digest('hex').slice(0, 17)}`;
}

export class Images {
  constructor(private readonly db: Knex) {}

  async registerSystemImage(systemAccountId: string, name: string, layer: string, description: string, sizeBytes?: number): Promise<ImageRow> {
    const id = systemImageId(name);
    const row = { id, account_id: systemAccountId, name, description, state: 'available', is_public: true, layers: [layer], size_bytes: sizeBytes ?? null };
    const [saved] = await this.db('images').insert(row).onConflict('id').merge(['layers', 'description', 'state', 'size_bytes']).returning('*');
    return saved;
  }

  /** A public system image made from an imported root filesystem. */
  async registerImported(systemAccountId: string, name: string, layer: string, description: string, sizeBytes: number): Promise<ImageRow> {
    const [saved] = await this.db('images')
      .insert({ id: newId('ami'), account_id: systemAccountId, name, description, state: 'available', is_public: true, layers: [layer], size_bytes: sizeBytes })
      .returning('*');
    return saved;
  }

  /** An image the account may launch: its own or a public one, available. */
  async launchable(accountId: string, imageId: string): Promise<ImageRow> {
    if (!isValidId('ami', imageId)) throw errors.amiMalformed(imageId);
    const image: ImageRow | undefined = await this.visible(accountId).where('im.id', imageId).first();
    if (!image || image.state === 'deregistered') throw errors.amiNotFound(imageId);
    if (image.state !== 'available') throw errors.amiUnavailable(imageId);
    return image;
  }

  /** Images the account owns, public ones, and those shared with it. */
  private visible(accountId: string): Knex.QueryBuilder {
    return this.db('images as im')
      .join('accounts as a', 'a.id', 'im.account_id')
      .select('im.*', 'a.is_system as owner_is_system')
      .where((w) =>
        w
          .where('im.account_id', accountId)
          .orWhere('im.is_public', true)
          .orWhereExists((s) =>
            s.select(this.db.raw('1')).from('image_launch_permissions as p').whereRaw('p.image_id = im.id and p.account_id = ?', [accountId]),
          ),
      );
  }

  /** An image the caller owns (for changes); another account's or an unknown id is NotFound. */
  async owned(accountId: string, imageId: string): Promise<ImageRow> {
    if (!isValidId('ami', imageId)) throw errors.amiMalformed(imageId);
    const image: ImageRow | undefined = await this.db('images').where({ id: imageId, account_id: accountId }).whereNot('state', 'deregistered').first();
    if (!image) {
      const visible = await this.visible(accountId).where('im.id', imageId).whereNot('im.state', 'deregistered').first();
      if (visible) throw errors.unauthorizedOperation();
      throw errors.amiNotFound(imageId);
    }
    return image;
  }

  /** Records a pending image whose top layer the capturer will build from the instance's own layer. */
  async createPending(row: {
    id: string;
    account_id: string;
    name: string;
    description: string | null;
    source_instance_id: string;
    layers: string[];
    no_reboot: boolean;
  }): Promise<void> {
    try {
      await this.db('images').insert({ ...row, state: 'pending' });
    } catch (err: any) {
      if (databaseFailure(err) === 'unique') throw errors.amiNameDuplicate(row.name);
      throw err;
    }
  }

  async deregister(accountId: string, imageId: string): Promise<void> {
    const image = await this.owned(accountId, imageId);
    await this.db('images').where('id', image.id).update({ state: 'deregistered', deregistered_at: this.db.fn.now() });
    await this.db('image_launch_permissions').where('image_id', image.id).delete();
  }

  /** Every image not deregistered, with its owner's name (admins' listings), oldest first. */
  async all(): Promise<(ImageRow & { owner_name: string })[]> {
    return this.db('images as i')
      .join('accounts as a', 'a.id', 'i.account_id')
      .whereNot('i.state', 'deregistered')
      .select('i.*', 'a.name as owner_name')
      .orderBy('i.created_at');
  }

  /** Layers that images not deregistered use (`withInstances`: and instances not terminated). */
  async layersInUse(opts: { withInstances?: boolean } = {}): Promise<Set<string>> {
    const sql = opts.withInstances
      ? `select distinct unnest(layers) as layer from images where state <> 'deregistered'
         union select distinct unnest(layers) from instances where state <> 'terminated'`
      : "select distinct unnest(layers) as layer from images where state <> 'deregistered'";
    const { rows } = await this.db.raw(sql);
    return new Set(rows.map((r: { layer: string }) => r.layer));
  }

  /** Available system images (those `oarcloud up` and `doctor` name). */
  async systemImages(opts: { publicOnly?: boolean } = {}): Promise<ImageRow[]> {
    const q = this.db('images as i').join('accounts as a', 'a.id', 'i.account_id').where({ 'a.is_system': true, 'i.state': 'available' }).select('i.*');
    if (opts.publicOnly) q.where('i.is_public', true);
    return q;
  }

  /** An admin's deregistration of any image; false when there is no such image left. */
  async deregisterAny(imageId: string): Promise<boolean> {
    const n = await this.db('images')
      .where('id', imageId)
      .whereNot('state', 'deregistered')
      .update({ state: 'deregistered', deregistered_at: this.db.fn.now() });
    return n > 0;
  }

  /** The caller's image behind a snapshot id (an image's root snapshot is its layers), deregistered or not. */
  async bySnapshot(accountId: string, snapshotId: string): Promise<ImageRow> {
    if (!/^snap-[0-9a-f]{8,17}$/.test(snapshotId)) throw errors.invalidParameterValue('SnapshotId', snapshotId);
    const image: ImageRow | undefined = await this.db('images')
      .where({ account_id: accountId, id: `ami-${snapshotId.slice(5)}` })
      .first();
    if (!image) throw errors.snapshotNotFound(snapshotId);
    return image;
  }

  async setDescription(imageId: string, description: string): Promise<void> {
    await this.db('images').where('id', imageId).update({ description });
  }

  async launchPermissions(imageId: string): Promise<string[]> {
    return (await this.db('image_launch_permissions').where('image_id', imageId).orderBy('account_id')).map((r: { account_id: string }) => r.account_id);
  }

  async changeLaunchPermissions(imageId: string, change: { addAccounts: string[]; removeAccounts: string[]; makePublic?: boolean }): Promise<void> {
    await this.db.transaction(async (trx) => {
      if (change.addAccounts.length) {
        await trx('image_launch_permissions')
          .insert(change.addAccounts.map((a) => ({ image_id: imageId, account_id: a })))
          .onConflict(['image_id', 'account_id'])
          .ignore();
      }
      if (change.removeAccounts.length) await trx('image_launch_permissions').where('image_id', imageId).whereIn('account_id', change.removeAccounts).delete();
      if (change.makePublic !== undefined) await trx('images').where('id', imageId).update({ is_public: change.makePublic });
    });
  }

  async describe(
    accountId: string,
    q: { ImageIds?: string[]; Owners?: string[]; ExecutableUsers?: string[]; Filters?: Filter[] },
  ): Promise<(ImageRow & { owner_is_system: boolean })[]> {
    for (const id of q.ImageIds ?? []) if (!isValidId('ami', id)) throw errors.amiMalformed(id);
    const filters = checkFilters(q.Filters, IMAGE_FILTERS, true);
    const query = this.visible(accountId).orderBy('im.created_at');
    if (q.ImageIds?.length) {
      // EC2: "Recently deregistered images appear in the returned results for a short interval" (asked by id here:
      // a listing that offered them could hand a data source's most_recent a deregistered image)
      query
        .whereIn('im.id', q.ImageIds)
        .where((w) => w.whereNot('im.state', 'deregistered').orWhereRaw('im.deregistered_at > now() - make_interval(secs => ?)', [DEREGISTERED_SHOWN_SECONDS]));
    } else query.whereNot('im.state', 'deregistered');
    if (q.Owners?.length) {
      query.where((w) => {
        for (const owner of q.Owners!) {
          if (owner === 'self') w.orWhere('im.account_id', accountId);
          else if (owner === SYSTEM_OWNER_ALIAS || owner === 'amazon') w.orWhere('a.is_system', true);
          else if (/^\d{12}$/.test(owner)) w.orWhere('im.account_id', owner);
          else throw errors.invalidParameterValue('Owner', owner);
        }
      });
    }
    if (q.ExecutableUsers?.length) {
      query.where((w) => {
        for (const user of q.ExecutableUsers!) {
          if (user === 'all') w.orWhere('im.is_public', true);
          else if (user === 'self' || /^\d{12}$/.test(user)) {
            const who = user === 'self' ? accountId : user;
            w.orWhereExists((s) => s.select(this.db.raw('1')).from('image_launch_permissions as p').whereRaw('p.image_id = im.id and p.account_id = ?', [who]));
            if (user === 'self') w.orWhere('im.account_id', accountId);
          } else throw errors.invalidParameterValue('ExecutableBy', user);
        }
      });
    }
    for (const { name, values } of filters) {
      const likes = values.map(wildcardToLike);
      if (name === 'tag-key') {
        query.whereExists((s) => s.select(this.db.raw('1')).from('tags as t').whereRaw('t.resource_id = im.id and t.key like any(?::text[])', [likes]));
      } else if (name.startsWith('tag:')) {
        query.whereExists((s) =>
          s
            .select(this.db.raw('1'))
            .from('tags as t')
            .whereRaw('t.resource_id = im.id and t.key = ? and t.value like any(?::text[])', [name.slice(4), likes]),
        );
      } else query.whereRaw(`${FILTER_COLUMNS[name]} like any(?::text[])`, [likes]);
    }
    const rows = await query;
    if (q.ImageIds?.length) {
      const found = new Set(rows.map((r: ImageRow) => r.id));
      const missing = q.ImageIds.filter((id) => !found.has(id));
      // "...and then return empty results. After all instances that reference a deregistered AMI are terminated,
      // specifying the ID of the image will eventually return an error" (DescribeImages, EC2 API reference)
      const stillReferenced = missing.length
        ? new Set(
            (
              await this.visible(accountId)
                .whereIn('im.id', missing)
                .where('im.state', 'deregistered')
                .whereExists((s) => s.select(this.db.raw('1')).from('instances as i').whereRaw("i.image_id = im.id and i.state <> 'terminated'"))
            ).map((r: ImageRow) => r.id),
          )
        : new Set<string>();
      const unknown = missing.filter((id) => !stillReferenced.has(id));
      if (unknown.length) throw errors.amiNotFound(unknown);
    }
    return rows;
  }
}
