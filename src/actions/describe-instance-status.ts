import { defineAction } from './action';
import { STATE_CODES } from '../domain/instances';
import type { Filter } from '../domain/filters';

/**
 * Status checks: "ok" once the container runs, "initializing" while pending. Only running instances are listed
 * unless IncludeAllInstances is set, as in EC2.
 */
export default defineAction<{ InstanceIds?: string[]; Filters?: Filter[]; MaxResults?: number; NextToken?: string; IncludeAllInstances?: boolean }>(
  'DescribeInstanceStatus',
  async (input, { caller, services }) => {
    const onlyRunning = input.IncludeAllInstances ? [] : [{ Name: 'instance-state-name', Values: ['running'] }];
    const { rows, nextToken } = await services.instances.describeRequest(caller.accountId, input, onlyRunning);
    const status = (s: string) => (s === 'running' ? 'ok' : s === 'pending' ? 'initializing' : 'not-applicable');
    return {
      InstanceStatuses: rows.map((r) => ({
        InstanceId: r.id,
        AvailabilityZone: r.availability_zone,
        InstanceState: { Code: STATE_CODES[r.state], Name: r.state },
        InstanceStatus: { Status: status(r.state), Details: [{ Name: 'reachability', Status: r.state === 'running' ? 'passed' : 'initializing' }] },
        SystemStatus: { Status: status(r.state), Details: [{ Name: 'reachability', Status: r.state === 'running' ? 'passed' : 'initializing' }] },
        Events: [],
      })),
      NextToken: nextToken,
    };
  },
);
