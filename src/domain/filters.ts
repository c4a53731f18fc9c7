/**
 * EC2 filters: `Filter.N.Name` with `Filter.N.Value.M`. Values of one filter are ORed, filters are ANDed,
 * and values may use the wildcards `*` (any run) and `?` (one character); `\` escapes them.
 */
import { errors } from './errors';
import { isDocumentedFilter } from './documented-filters';

export interface Filter {
  Name?: string;
  Values?: string[];
}

function translate(pattern: string, any: string, one: string, escape: (c: string) => string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) out += escape(pattern[++i]);
    else if (c === '*') out += any;
    else if (c === '?') out += one;
    else out += escape(c);
  }
  return out;
}

export function wildcardToRegExp(pattern: string): RegExp {
  return new RegExp(`^${translate(pattern, '.*', '.', (c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))}$`, 's');
}

/** A SQL LIKE pattern (escape character '\'). */
export function wildcardToLike(pattern: string): string {
  return translate(pattern, '%', '_', (c) => (c === '%' || c === '_' || c === '\\' ? `\\${c}` : c));
}

/** Every filter must have a name and at least one value; names outside `known` (and tag:*) are refused. */
export function checkFilters(filters: Filter[] | undefined, known: Iterable<string>, allowTags = false): { name: string; values: string[] }[] {
  const names = new Set(known);
  return (filters ?? []).map((f) => {
    const name = f.Name ?? '';
    if (!name) throw errors.invalidParameterValue('Filter.Name', '', 'A filter must have a name.');
    if (!names.has(name) && !(allowTags && name.startsWith('tag:') && name.length > 4))
      throw isDocumentedFilter(name) ? errors.unsupportedFilter(name) : errors.invalidFilter(name);
    return { name, values: f.Values ?? [] };
  });
}

export type Accessor<T> = (item: T) => string | string[] | undefined | null;

/** Filters a small in-memory collection (regions, zones, key pairs...). */
export function filterInMemory<T>(
  items: T[],
  filters: Filter[] | undefined,
  accessors: Record<string, Accessor<T>>,
  tagsOf?: (item: T) => Record<string, string>,
): T[] {
  const checked = checkFilters(filters, Object.keys(accessors), Boolean(tagsOf));
  if (checked.length === 0) return items;
  const compiled = checked.map(({ name, values }) => {
    const patterns = values.map(wildcardToRegExp);
    let get: Accessor<T>;
    if (name.startsWith('tag:') && !accessors[name]) {
      const key = name.slice(4);
      get = (item) => tagsOf!(item)[key];
    } else get = accessors[name];
    return (item: T) => {
      const v = get(item);
      const candidates = v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
      return candidates.some((c) => patterns.some((p) => p.test(c)));
    };
  });
  return items.filter((item) => compiled.every((match) => match(item)));
}

/**
 * The items an action's id (or name) list selects: all of them when the list is empty, and the resource's own
 * NotFound naming every id that names none, as EC2 answers before it applies any filter.
 */
export function selectNamed<T>(all: T[], ids: string[] | undefined, idOf: (item: T) => string, notFound: (missing: string[]) => Error): T[] {
  const known = new Set(all.map(idOf));
  const missing = [...new Set((ids ?? []).filter((id) => !known.has(id)))];
  if (missing.length) throw notFound(missing);
  return ids?.length ? all.filter((item) => ids.includes(idOf(item))) : all;
}
