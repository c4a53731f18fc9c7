/**
 * Documented filters read off the answer itself. The EC2 reference names each filter after the answer member it
 * tests (`metadata-options.http-tokens` is MetadataOptions.HttpTokens, `network-interface.subnet-id` is
 * NetworkInterfaces[].SubnetId); where it does not, an alias gives the member path. Filtering what the caller is
 * shown keeps a filter and the answer in agreement: a member this cloud never sets (KernelId, HostId…) matches no
 * value, as on EC2 for an instance without one. A unit test walks each path through the EC2 model, so a filter can
 * neither point at a member that does not exist nor be dropped unnoticed.
 */
import { documentedFilters } from '../../domain/documented-filters';
import { filterInMemory, type Accessor, type Filter } from '../../domain/filters';

export interface AnswerFilterSpec {
  /** The Describe call, as the reference (and catalogue/ec2-filters.json) names it. */
  action: string;
  /** The answer structure the filters are read from, as the EC2 model names it (checked by the unit test). */
  shape: string;
  /** Filters applied before the answer is built (in SQL, say): not read off the answer. */
  appliedEarlier: Iterable<string>;
  /** Filter → member path (dotted member names) where the filter's name does not spell it. */
  aliases: Record<string, string>;
  /** Documented filters refused by name, each with the reason (the README lists them). */
  refused: Record<string, string>;
}

/** The member of a structure a filter's step (kebab case, singular or plural) names, if any. */
export function memberFor(members: Iterable<string>, step: string): string | undefined {
  const wanted = step.replace(/-/g, '').toLowerCase();
  for (const m of members) if ([wanted, `${wanted}s`, `${wanted}es`].includes(m.toLowerCase())) return m;
  return undefined;
}

/** A filter's path through the answer: its alias, else one member per step of its name. */
export function filterSteps(spec: Pick<AnswerFilterSpec, 'aliases'>, filter: string): { steps: string[]; exact: boolean } {
  const alias = spec.aliases[filter];
  return alias ? { steps: alias.split('.'), exact: true } : { steps: filter.split('.'), exact: false };
}

/** The values a filter sees on one answer: lists are walked into; booleans, numbers and times as EC2 writes them. */
export function answerValues(answer: unknown, path: { steps: string[]; exact: boolean }): string[] {
  let values: unknown[] = [answer];
  for (const step of path.steps) {
    values = values.flatMap((v) => {
      if (!v || typeof v !== 'object') return [];
      const key = path.exact ? step : memberFor(Object.keys(v), step);
      const next = key === undefined ? undefined : (v as Record<string, unknown>)[key];
      return Array.isArray(next) ? next : next === undefined || next === null ? [] : [next];
    });
  }
  return values.flatMap((v) => (v instanceof Date ? [v.toISOString()] : typeof v === 'object' ? [] : [String(v)]));
}

/** The documented filters of a call that are read off its answer. */
export function answerFilterNames(spec: AnswerFilterSpec): string[] {
  const earlier = new Set(spec.appliedEarlier);
  return documentedFilters(spec.action).filter((f) => !earlier.has(f) && !(f in spec.refused) && !f.startsWith('tag:'));
}

/**
 * Splits a request's filters: those applied before the answer is built (with any unknown or refused one, which
 * that step answers with its error), and those read off the answer.
 */
export function splitFilters(spec: AnswerFilterSpec, filters: Filter[] | undefined): { earlier: Filter[]; onAnswer: Filter[] } {
  const onAnswerNames = new Set(answerFilterNames(spec));
  const earlier: Filter[] = [];
  const onAnswer: Filter[] = [];
  for (const f of filters ?? []) (f.Name && onAnswerNames.has(f.Name) ? onAnswer : earlier).push(f);
  return { earlier, onAnswer };
}

/** The answers that pass the filters read off them. */
export function filterAnswers<T>(spec: AnswerFilterSpec, answers: T[], filters: Filter[]): T[] {
  if (!filters.length) return answers;
  const accessors = Object.fromEntries(answerFilterNames(spec).map((f) => [f, (a: T) => answerValues(a, filterSteps(spec, f))]));
  return filterInMemory(answers, filters, accessors);
}

/** Accessors for filtering answers in memory: the given ones, and every other documented filter read off the answer. */
export function withAnswerFilters<T>(spec: Omit<AnswerFilterSpec, 'appliedEarlier'>, given: Record<string, Accessor<T>>): Record<string, Accessor<T>> {
  const full = { ...spec, appliedEarlier: Object.keys(given) };
  return { ...given, ...Object.fromEntries(answerFilterNames(full).map((f) => [f, (a: T) => answerValues(a, filterSteps(full, f))])) };
}
