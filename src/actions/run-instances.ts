/**
 * RunInstances: validates the input, then the domain launches (instances.launch: ClientToken replay, image, key,
 * capacity and quota checks, one transaction) and answers at once (state pending); the reconciler then submits
 * one OAR job per instance. The same ClientToken and parameters answer the first launch again.
 */
import { createHash } from 'node:crypto';
import { defineAction, type Input } from './action';
import { errors } from '../domain/errors';
import { DEFAULT_INSTANCE_TYPE, findInstanceType } from '../domain/instance-types';
import { tagsFor } from '../domain/tags';
import { defaultZone, zones } from '../domain/zones';
import { reservationViews } from './views/instance';

export const MAX_USER_DATA_BYTES = 16 * 1024;

export function decodeUserData(value: string | undefined): Buffer | null {
  if (value === undefined || value === '') return null;
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(value)) throw errors.invalidParameterValue('UserData', value.slice(0, 40), 'User data must be base64 encoded.');
  const data = Buffer.from(value, 'base64');
  if (data.length > MAX_USER_DATA_BYTES) throw errors.invalidUserDataSize();
  return data;
}

/** What a ClientToken stands for: every parameter but the token itself and DryRun. */
function requestHash(input: Input<'RunInstances'>): string {
  const { ClientToken: _t, DryRun: _d, ...rest } = input;
  return createHash('sha256')
    .update(JSON.stringify(rest, Object.keys(rest).sort()))
    .digest('hex');
}

export default defineAction('RunInstances', async (input, { caller, services }) => {
  const { config, instances } = services;
  if (input.ClientToken !== undefined && (input.ClientToken.length > 64 || !/^[\x21-\x7e]*$/.test(input.ClientToken))) {
    throw errors.invalidParameterValue('ClientToken', input.ClientToken, 'It must be at most 64 printable ASCII characters.');
  }
  if (!input.ImageId) throw errors.missingParameter('ImageId');
  if (input.MinCount < 1) throw errors.invalidParameterValue('MinCount', String(input.MinCount), 'It must be at least 1.');
  if (input.MaxCount < input.MinCount) throw errors.invalidParameterValue('MaxCount', String(input.MaxCount), 'It must be at least MinCount.');
  const type = findInstanceType(input.InstanceType || DEFAULT_INSTANCE_TYPE);
  if (!type) throw errors.invalidInstanceType(input.InstanceType!);
  const zone = input.Placement?.AvailabilityZone || defaultZone(config);
  if (!zones(config).some((z) => z.ZoneName === zone)) throw errors.invalidAvailabilityZone(zone);
  const shutdownBehavior = input.InstanceInitiatedShutdownBehavior ?? 'stop';
  if (shutdownBehavior !== 'stop' && shutdownBehavior !== 'terminate') {
    throw errors.invalidParameterValue('InstanceInitiatedShutdownBehavior', shutdownBehavior, 'It must be stop or terminate.');
  }
  const launched = await instances.launch({
    accountId: caller.accountId,
    clientToken: input.ClientToken || undefined,
    requestHash: requestHash(input),
    imageId: input.ImageId,
    type,
    keyName: input.KeyName || undefined,
    userData: decodeUserData(input.UserData),
    zone,
    shutdownBehavior,
    disableApiTermination: input.DisableApiTermination ?? false,
    disableApiStop: input.DisableApiStop ?? false,
    tags: tagsFor(input.TagSpecifications, 'instance', ['instance', 'volume', 'network-interface']),
    minCount: input.MinCount,
    maxCount: input.MaxCount,
  });
  const [reservation] = await reservationViews(launched.rows, services);
  return { ReservationId: launched.reservationId, OwnerId: caller.accountId, Groups: [], Instances: reservation?.Instances ?? [] };
});
