/** Availability zones: one per region for this single OAR cluster, named `<region>a`. */
import type { Config } from '../config';

export interface Zone {
  ZoneName: string;
  ZoneId: string;
  RegionName: string;
  State: 'available';
  ZoneType: 'availability-zone';
  OptInStatus: 'opt-in-not-required';
  GroupName: string;
  NetworkBorderGroup: string;
  Messages: { Message: string }[];
}

export function zones(config: Config): Zone[] {
  return config.regions.map((region) => ({
    ZoneName: `${region}a`,
    ZoneId: `${region
      .split('-')
      .map((p) => p[0])
      .join('')}-az1`,
    RegionName: region,
    State: 'available',
    ZoneType: 'availability-zone',
    OptInStatus: 'opt-in-not-required',
    GroupName: region,
    NetworkBorderGroup: region,
    Messages: [],
  }));
}

export function defaultZone(config: Config, region = config.regions[0]): string {
  return `${region}a`;
}
