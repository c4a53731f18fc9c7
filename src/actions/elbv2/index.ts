/** The registry of Elastic Load Balancing (v2) actions: one module per family, keyed by ELBv2 name. */
import type { Action } from '../action';

const ALL: Action[] = [];

export function elbActionRegistry(): Map<string, Action> {
  return new Map(ALL.map((a) => [a.name, a]));
}
