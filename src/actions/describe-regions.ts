import { defineAction } from './action';
import { filterInMemory, type Filter } from '../domain/filters';
import { errors } from '../protocol/errors';

/** The regions this endpoint serves (OARCLOUD_REGIONS), each answered at our own endpoint. */
export default defineAction<{ RegionNames?: string[]; Filters?: Filter[]; AllRegions?: boolean }>('DescribeRegions', async (input, { services }) => {
  const { config } = services;
  const endpoint = new URL(`http://${config.host}:${config.port}`).host;
  let regions = config.regions.map((r) => ({ RegionName: r, Endpoint: endpoint, OptInStatus: 'opt-in-not-required' }));
  for (const name of input.RegionNames ?? []) if (!config.regions.includes(name)) throw errors.invalidRegion(name);
  if (input.RegionNames?.length) regions = regions.filter((r) => input.RegionNames!.includes(r.RegionName));
  regions = filterInMemory(regions, input.Filters, {
    'region-name': (r) => r.RegionName,
    endpoint: (r) => r.Endpoint,
    'opt-in-status': (r) => r.OptInStatus,
  });
  return { Regions: regions };
});
