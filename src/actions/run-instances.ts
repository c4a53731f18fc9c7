/**
 * RunInstances: validates everything first, then creates the reservation, instances, address leases and tags in
 * one transaction and answers at once (state pending); the reconciler then submits one OAR job per instance.
 * A ClientToken makes the call idempotent: the same token and parameters return the original reservation.
 */
import { createHash } from 'node:crypto';
import { defineAction } from './action';
import { errors } from '../protocol/errors';
import { DEFAULT_INSTANCE_TYPE, findInstanceType, oarCoresFor } from '../domain/instance-types';
import { newId } from '../domain/ids';
import { insertTags, tagsFor, type TagSpecification } from '../domain/tags';
import { defaultZone, zones } from '../domain/zones';
import type { InstanceRow } from '../domain/instances';
import type { Quotas } from '../domain/quotas';

export const MAX_USER_DATA_BYTES = 16 * 1024;

interface Input {
  ImageId?: string;
  InstanceType?: string;
  MinCount: number;
  MaxCount: number;
  KeyName?: string;
  UserData?: string;
  TagSpecifications?: TagSpecification[];
  ClientToken?: string;
  Placement?: { AvailabilityZone?: string };
  DisableApiTermination?: boolean;
  DisableApiStop?: boolean;
  InstanceInitiatedShutdownBehavior?: 'stop' | 'terminate';
  [other: string]: unknown;
}

export function decodeUserData(value: string | undefined): Buffer | null {
  if (value === undefined || value === '') return null;
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(value)) throw errors.invalidParameterValue('UserData', value.slice(0, 40), 'User data must be base64 encoded.');
  const data = Buffer.from(value, 'base64');
  if (data.length > MAX_USER_DATA_BYTES) throw errors.invalidUserDataSize();
  return data;
}

function quotaExceeded(room: Awaited<ReturnType<Quotas['room']>>, wanted: number, coresEach: number) {
  const { limits, usage } = room;
  if (usage.instances + wanted > limits.maxInstances) {
    return errors.instanceLimitExceeded(`Your quota allows for ${Math.max(0, limits.maxInstances - usage.instances)} more instance(s) (limit ${limits.maxInstances}, in use ${usage.instances}). You requested at least ${wanted}.`);
  }
  return errors.instanceLimitExceeded(`You have requested more cores than your quota allows: ${wanted} instance(s) of ${coresEach} core(s) each, with ${usage.cores} of ${limits.maxCores} cores in use.`);
}

function requestHash(input: Input): string {
  const { ClientToken: _t, DryRun: _d, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(rest, Object.keys(rest).sort())).digest('hex');
}

export default defineAction<Input>('RunInstances', async (input, { caller, services }) => {
  const { db, config, images, keyPairs, instances, quotas, oar, addresses, network } = services;
  const account = caller.accountId;
  if (input.ClientToken !== undefined && (input.ClientToken.length > 64 || !/^[\x21-\x7e]*$/.test(input.ClientToken))) {
    throw errors.invalidParameterValue('ClientToken', input.ClientToken, 'It must be at most 64 printable ASCII characters.');
  }
  const hash = requestHash(input);
  const replay = async () => {
    const reservation = await db('reservations').where({ account_id: account, client_token: input.ClientToken }).first();
    if (!reservation) return undefined;
    if (reservation.request_hash !== hash) throw errors.idempotentParameterMismatch();
    const rows: InstanceRow[] = await db('instances').where('reservation_id', reservation.id).orderBy('ami_launch_index');
    return { ReservationId: reservation.id, OwnerId: account, Groups: [], Instances: await instances.views(rows) };
  };
  if (input.ClientToken) {
    const previous = await replay();
    if (previous) return previous;
  }

  if (!input.ImageId) throw errors.missingParameter('ImageId');
  if (input.MinCount < 1) throw errors.invalidParameterValue('MinCount', String(input.MinCount), 'It must be at least 1.');
  if (input.MaxCount < input.MinCount) throw errors.invalidParameterValue('MaxCount', String(input.MaxCount), 'It must be at least MinCount.');
  const image = await images.launchable(account, input.ImageId);
  const type = findInstanceType(input.InstanceType || DEFAULT_INSTANCE_TYPE);
  if (!type) throw errors.invalidInstanceType(input.InstanceType!);
  const key = input.KeyName ? await keyPairs.get(account, input.KeyName) : undefined;
  const userData = decodeUserData(input.UserData);
  const zone = input.Placement?.AvailabilityZone || defaultZone(config);
  if (!zones(config).some((z) => z.ZoneName === zone)) throw errors.invalidAvailabilityZone(zone);
  const shutdownBehavior = input.InstanceInitiatedShutdownBehavior ?? 'stop';
  const instanceTags = tagsFor(input.TagSpecifications, 'instance', ['instance', 'volume', 'network-interface']);

  // capacity: the type must fit on one OAR node; instances beyond the free cores wait in OAR's queue
  const capacity = await oar.capacity();
  const cores = oarCoresFor(type, capacity.memoryPerCoreMib);
  const largestNode = Math.max(0, ...capacity.nodes.values());
  if (cores > largestNode) {
    throw errors.insufficientCapacity(`There is no node with ${cores} free cores for ${type.name} in the cluster (largest: ${largestNode} Alive, undrained cores).`);
  }
  const reservationId = newId('r');
  const ids: string[] = [];
  try {
    await db.transaction(async (trx) => {
      // quotas (instances, cores) are counted under a per-account lock, so concurrent launches cannot overshoot
      const room = await quotas.room(trx, account, cores);
      const count = Math.min(input.MaxCount, room.count);
      if (count < input.MinCount) throw quotaExceeded(room, input.MinCount, cores);
      ids.push(...Array.from({ length: count }, () => newId('i')));
      await trx('reservations').insert({ id: reservationId, account_id: account, client_token: input.ClientToken || null, request_hash: hash });
      const rows = ids.map((id, i) => ({
        id, account_id: account, reservation_id: reservationId, ami_launch_index: i, image_id: image.id, layers: image.layers,
        instance_type: type.name, vcpus: type.vcpus, memory_mib: type.memoryMib, oar_cores: cores,
        key_name: key?.name ?? null, public_key: key?.public_key ?? null, user_data: userData,
        state: 'pending', desired_state: 'running', state_reason_code: 'pending', state_reason_message: 'pending: accepted, submitting to OAR',
        availability_zone: zone, disable_api_termination: input.DisableApiTermination ?? false,
        disable_api_stop: input.DisableApiStop ?? false, shutdown_behavior: shutdownBehavior, client_token: input.ClientToken || null,
      }));
      await trx('instances').insert(rows);
      const ips = await addresses.lease(trx, ids);
      if (ips.length < input.MinCount) throw errors.insufficientCapacity('There are not enough free private addresses in the subnet.');
      if (ips.length < ids.length) {
        await trx('instances').whereIn('id', ids.slice(ips.length)).delete();
        ids.length = ips.length;
      }
      for (const [i, ip] of ips.entries()) await trx('instances').where('id', ids[i]).update({ private_ip: ip, mac: network.macFor(ip) });
      await insertTags(trx, account, 'instance', ids, instanceTags);
    });
  } catch (err: any) {
    // two calls with the same token raced: the loser answers with the winner's reservation
    if (err?.code === '23505' && input.ClientToken) {
      const previous = await replay();
      if (previous) return previous;
    }
    throw err;
  }
  for (const id of ids) services.kick(id);
  const rows: InstanceRow[] = await db('instances').whereIn('id', ids).orderBy('ami_launch_index');
  return { ReservationId: reservationId, OwnerId: account, Groups: [], Instances: await instances.views(rows) };
});
