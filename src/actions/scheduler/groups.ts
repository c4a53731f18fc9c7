/** CreateScheduleGroup, GetScheduleGroup, DeleteScheduleGroup, ListScheduleGroups. */
import { defineSchedulerAction } from '../action';
import type { ScheduleGroupRecord } from '../../domain/schedules';
import { tagMap } from './tags';

const summary = (g: ScheduleGroupRecord) => ({ Arn: g.arn, CreationDate: g.createdAt, LastModificationDate: g.modifiedAt, Name: g.name, State: 'ACTIVE' });

export const createScheduleGroup = defineSchedulerAction('CreateScheduleGroup', async (input, { caller, services }) => {
  return { ScheduleGroupArn: await services.schedules.createGroup(caller.accountId, input.Name, tagMap(input.Tags), input.ClientToken) };
});

export const getScheduleGroup = defineSchedulerAction('GetScheduleGroup', async (input, { caller, services }) => {
  return summary(await services.schedules.getGroup(caller.accountId, input.Name));
});

export const deleteScheduleGroup = defineSchedulerAction('DeleteScheduleGroup', async (input, { caller, services }) => {
  await services.schedules.deleteGroup(caller.accountId, input.Name);
  return {};
});

export const listScheduleGroups = defineSchedulerAction('ListScheduleGroups', async (input, { caller, services }) => {
  const { groups, nextToken } = await services.schedules.listGroups(caller.accountId, {
    namePrefix: input.NamePrefix,
    maxResults: input.MaxResults,
    nextToken: input.NextToken,
  });
  return { ScheduleGroups: groups.map(summary), NextToken: nextToken };
});
