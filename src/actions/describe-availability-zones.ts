import { defineAction } from './action';
import { filterInMemory, type Filter } from '../domain/filters';
import { zones } from '../domain/zones';
import { errors } from '../protocol/errors';

export default defineAction<{ ZoneNames?: string[]; ZoneIds?: string[]; Filters?: Filter[]; AllAvailabilityZones?: boolean }>(
  'DescribeAvailabilityZones',
  async (input, { services }) => {
    let list = zones(services.config);
    for (const name of input.ZoneNames ?? []) if (!list.some((z) => z.ZoneName === name)) throw errors.invalidAvailabilityZone(name);
    for (const id of input.ZoneIds ?? []) if (!list.some((z) => z.ZoneId === id)) throw errors.invalidAvailabilityZone(id);
    if (input.ZoneNames?.length) list = list.filter((z) => input.ZoneNames!.includes(z.ZoneName));
    if (input.ZoneIds?.length) list = list.filter((z) => input.ZoneIds!.includes(z.ZoneId));
    list = filterInMemory(list, input.Filters, {
      'zone-name': (z) => z.ZoneName,
      'zone-id': (z) => z.ZoneId,
      'region-name': (z) => z.RegionName,
      state: (z) => z.State,
      'zone-type': (z) => z.ZoneType,
      'group-name': (z) => z.GroupName,
      'opt-in-status': (z) => z.OptInStatus,
    });
    return { AvailabilityZones: list };
  },
);
