import { defineAction } from './action';
import { filterInMemory, selectNamed } from '../domain/filters';
import { zones } from '../domain/zones';
import { errors } from '../domain/errors';
import { withAnswerFilters } from './views/answer-filters';

/** DescribeAvailabilityZones' documented filters beyond those above, read off the AvailabilityZone answer. */
export const ZONE_ANSWER_FILTERS = { action: 'DescribeAvailabilityZones', shape: 'AvailabilityZone', aliases: { message: 'Messages.Message' }, refused: {} };

export default defineAction('DescribeAvailabilityZones', async (input, { services }) => {
  let list = selectNamed(
    zones(services.config),
    input.ZoneNames,
    (z) => z.ZoneName,
    ([az]) => errors.invalidAvailabilityZone(az),
  );
  list = selectNamed(
    list,
    input.ZoneIds,
    (z) => z.ZoneId,
    ([az]) => errors.invalidAvailabilityZone(az),
  );
  list = filterInMemory(
    list,
    input.Filters,
    withAnswerFilters(ZONE_ANSWER_FILTERS, {
      'zone-name': (z) => z.ZoneName,
      'zone-id': (z) => z.ZoneId,
      'region-name': (z) => z.RegionName,
      state: (z) => z.State,
      'zone-type': (z) => z.ZoneType,
      'group-name': (z) => z.GroupName,
      'opt-in-status': (z) => z.OptInStatus,
    }),
  );
  return { AvailabilityZones: list };
});
