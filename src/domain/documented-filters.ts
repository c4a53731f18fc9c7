/**
 * The filters the EC2 API reference documents for each Describe call (catalogue/ec2-filters.json, generated from
 * the pinned botocore model's documentation by src/protocol/model/generate.ts). A documented filter this cloud
 * does not apply is refused by name, never ignored.
 */
import filterFile from './catalogue/ec2-filters.json';

const documented: Record<string, string[]> = filterFile.filters;

/** The documented filters of a Describe call (`tag:<key>` stands for every tag filter). */
export function documentedFilters(action: string): string[] {
  return documented[action] ?? [];
}

/** Whether the reference documents this filter name for some Describe call: then refusing it must say we lack it. */
export function isDocumentedFilter(name: string): boolean {
  return Object.values(documented).some((names) => names.includes(name));
}
