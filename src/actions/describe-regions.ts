import { defineAction } from './action';
import { filterInMemory, selectNamed } from '../domain/filters';
import { errors } from '../domain/errors';

/** The regions this endpoint serves (OARCLOUD_REGIONS), each answered at our own endpoint. */
export default defineAction('DescribeRegions', async (input, { services }) => {
  const { config } = services;
  const endpoint = new URL(`http://${config.host}:${config.port}`).host;
  const all = config.regions.map((r) => ({ RegionName: r, Endpoint: endpoint, OptInStatus: 'opt-in-not-required' }));
  const regions = filterInMemory(
    selectNamed(
      all,
      input.RegionNames,
      (r) => r.RegionName,
      ([region]) => errors.invalidRegion(region),
    ),
    input.Filters,
    {
      'region-name': (r) => r.RegionName,
      endpoint: (r) => r.Endpoint,
      'opt-in-status': (r) => r.OptInStatus,
    },
  );
  return { Regions: regions };
});
