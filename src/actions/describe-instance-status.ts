import { defineAction } from './action';
import { STATE_CODES } from '../domain/instances';
import { wildcardToRegExp, type Filter } from '../domain/filters';
import type { InstanceStateName } from '../domain/instances';

const STATES = Object.keys(STATE_CODES) as InstanceStateName[];
const status = (s: string) => (s === 'running' ? 'ok' : s === 'pending' ? 'initializing' : 'not-applicable');
const reachability = (s: string) => (s === 'running' ? 'passed' : 'initializing');
/** DescribeInstanceStatus's own filters, derived from the instance state as the answer is. */
const STATUS_FILTERS: Record<string, (state: string) => string> = {
  'instance-status.status': status,
  'system-status.status': status,
  'instance-status.reachability': reachability,
  'system-status.reachability': reachability,
};

/**
 * Turns the status filters into the instance-state-name filter they amount to, and the event filters into one
 * that matches nothing (there are no scheduled events here); other names go to DescribeInstances' filters.
 */
export function statusFiltersToStates(filters: Filter[] = []): Filter[] {
  return filters.map((f) => {
    const derive = STATUS_FILTERS[f.Name ?? ''];
    if (derive) {
      const patterns = (f.Values ?? []).map(wildcardToRegExp);
      return { Name: 'instance-state-name', Values: STATES.filter((state) => patterns.some((p) => p.test(derive(state)))) };
    }
    if (f.Name?.startsWith('event.')) return { Name: 'instance-state-name', Values: [] };
    return f;
  });
}

/** The checks of an instance whose node does not answer: its host failed, and nothing can reach the instance. */
function impaired(since: Date) {
  return { Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed', ImpairedSince: since }] };
}

/**
 * Status checks: "ok" once the container runs, "initializing" while pending, "impaired" (both checks, since when)
 * while the node it runs on does not answer. Only running instances are listed unless IncludeAllInstances is set,
 * as in EC2.
 */
export default defineAction('DescribeInstanceStatus', async (input, { caller, services }) => {
  const onlyRunning = input.IncludeAllInstances ? [] : [{ Name: 'instance-state-name', Values: ['running'] }];
  const filters = statusFiltersToStates(input.Filters);
  const { rows, nextToken } = await services.instances.describeRequest(caller.accountId, { ...input, Filters: filters }, onlyRunning);
  const unreachable = rows.some((r) => r.oar_node) ? await services.nodeHealth.unreachable() : new Map<string, Date>();
  return {
    InstanceStatuses: rows.map((r) => {
      const lostSince = r.state === 'running' && r.oar_node ? unreachable.get(r.oar_node) : undefined;
      const check = { Status: status(r.state), Details: [{ Name: 'reachability', Status: reachability(r.state) }] };
      return {
        InstanceId: r.id,
        AvailabilityZone: r.availability_zone,
        InstanceState: { Code: STATE_CODES[r.state], Name: r.state },
        InstanceStatus: lostSince ? impaired(lostSince) : check,
        SystemStatus: lostSince ? impaired(lostSince) : check,
        Events: [],
      };
    }),
    NextToken: nextToken,
  };
});
