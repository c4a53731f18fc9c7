import { defineAction } from './action';
import { STATE_CODES } from '../domain/instances';
import { zones } from '../domain/zones';
import { filterAnswers, splitFilters, type AnswerFilterSpec } from './views/answer-filters';

const status = (s: string) => (s === 'running' ? 'ok' : s === 'pending' ? 'initializing' : 'not-applicable');
const reachability = (s: string) => (s === 'running' ? 'passed' : 'initializing');

/**
 * DescribeInstanceStatus' documented filters: those it shares with DescribeInstances run in SQL; its own (status
 * checks, events, operator) are read off the answer, so `instance-status.status=impaired` finds an instance whose
 * node stopped answering.
 */
export const INSTANCE_STATUS_FILTERS: AnswerFilterSpec = {
  action: 'DescribeInstanceStatus',
  shape: 'InstanceStatus',
  appliedEarlier: ['availability-zone', 'instance-state-code', 'instance-state-name'],
  aliases: {
    'instance-status.reachability': 'InstanceStatus.Details.Status',
    'system-status.reachability': 'SystemStatus.Details.Status',
    'event.code': 'Events.Code',
    'event.description': 'Events.Description',
    'event.instance-event-id': 'Events.InstanceEventId',
    'event.not-after': 'Events.NotAfter',
    'event.not-before': 'Events.NotBefore',
    'event.not-before-deadline': 'Events.NotBeforeDeadline',
  },
  refused: {},
};

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
  const { earlier, onAnswer } = splitFilters(INSTANCE_STATUS_FILTERS, input.Filters);
  const { rows, nextToken } = await services.instances.describeRequest(caller.accountId, { ...input, Filters: earlier }, onlyRunning);
  const unreachable = rows.some((r) => r.oar_node) ? await services.nodeHealth.unreachable() : new Map<string, Date>();
  const zoneIds = new Map(zones(services.config).map((z) => [z.ZoneName, z.ZoneId]));
  const statuses = rows.map((r) => {
    const lostSince = r.state === 'running' && r.oar_node ? unreachable.get(r.oar_node) : undefined;
    const check = { Status: status(r.state), Details: [{ Name: 'reachability', Status: reachability(r.state) }] };
    return {
      InstanceId: r.id,
      AvailabilityZone: r.availability_zone,
      AvailabilityZoneId: zoneIds.get(r.availability_zone),
      InstanceState: { Code: STATE_CODES[r.state], Name: r.state },
      InstanceStatus: lostSince ? impaired(lostSince) : check,
      SystemStatus: lostSince ? impaired(lostSince) : check,
    };
  });
  return { InstanceStatuses: filterAnswers(INSTANCE_STATUS_FILTERS, statuses, onAnswer), NextToken: nextToken };
});
