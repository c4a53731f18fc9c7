/** CreateSchedule, GetSchedule, UpdateSchedule, DeleteSchedule, ListSchedules. */
import { defineSchedulerAction } from '../action';
import { errors } from '../../domain/errors';
import { DEFAULT_GROUP, type ScheduleRecord, type ScheduleSpec } from '../../domain/schedules';
import type { CreateScheduleInput } from '../../protocol/model/scheduler-shapes';
import { checkedTarget } from './targets';

/** What CreateSchedule and UpdateSchedule share, as the store takes it. */
function specOf(input: CreateScheduleInput): ScheduleSpec {
  if (input.KmsKeyArn !== undefined) {
    throw errors.validationException('The parameter KmsKeyArn is not supported: OAR Cloud has no KMS; schedules are kept in its database unencrypted.');
  }
  const date = (d: Date | string | undefined) => (d === undefined ? undefined : new Date(d));
  return {
    description: input.Description,
    expression: input.ScheduleExpression,
    timezone: input.ScheduleExpressionTimezone,
    startDate: date(input.StartDate),
    endDate: date(input.EndDate),
    state: input.State as ScheduleSpec['state'],
    flexibleMode: input.FlexibleTimeWindow.Mode as ScheduleSpec['flexibleMode'],
    flexibleWindowMinutes: input.FlexibleTimeWindow.MaximumWindowInMinutes,
    actionAfterCompletion: input.ActionAfterCompletion as ScheduleSpec['actionAfterCompletion'],
    target: checkedTarget(input.Target),
  };
}

/** AWS answers the retry policy it applies when none was given. */
const DEFAULT_RETRY_POLICY = { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 };

export const createSchedule = defineSchedulerAction('CreateSchedule', async (input, { caller, services }) => {
  const arn = await services.schedules.createSchedule(caller.accountId, input.GroupName ?? DEFAULT_GROUP, input.Name, specOf(input), input.ClientToken);
  return { ScheduleArn: arn };
});

export const updateSchedule = defineSchedulerAction('UpdateSchedule', async (input, { caller, services }) => {
  const arn = await services.schedules.updateSchedule(caller.accountId, input.GroupName ?? DEFAULT_GROUP, input.Name, specOf(input));
  return { ScheduleArn: arn };
});

export const getSchedule = defineSchedulerAction('GetSchedule', async (input, { caller, services }) => {
  const s: ScheduleRecord = await services.schedules.getSchedule(caller.accountId, input.GroupName ?? DEFAULT_GROUP, input.Name);
  return {
    ActionAfterCompletion: s.actionAfterCompletion,
    Arn: s.arn,
    CreationDate: s.createdAt,
    Description: s.description,
    EndDate: s.endDate,
    FlexibleTimeWindow: { Mode: s.flexibleMode, MaximumWindowInMinutes: s.flexibleWindowMinutes },
    GroupName: s.groupName,
    LastModificationDate: s.modifiedAt,
    Name: s.name,
    ScheduleExpression: s.expression,
    ScheduleExpressionTimezone: s.timezone,
    StartDate: s.startDate,
    State: s.state,
    Target: { ...s.target, RetryPolicy: s.target.RetryPolicy ?? DEFAULT_RETRY_POLICY },
  };
});

export const deleteSchedule = defineSchedulerAction('DeleteSchedule', async (input, { caller, services }) => {
  await services.schedules.deleteSchedule(caller.accountId, input.GroupName ?? DEFAULT_GROUP, input.Name);
  return {};
});

export const listSchedules = defineSchedulerAction('ListSchedules', async (input, { caller, services }) => {
  const { schedules, nextToken } = await services.schedules.listSchedules(caller.accountId, {
    group: input.GroupName,
    namePrefix: input.NamePrefix,
    state: input.State as ScheduleRecord['state'] | undefined,
    maxResults: input.MaxResults,
    nextToken: input.NextToken,
  });
  return {
    Schedules: schedules.map((s) => ({
      Arn: s.arn,
      CreationDate: s.createdAt,
      GroupName: s.groupName,
      LastModificationDate: s.modifiedAt,
      Name: s.name,
      State: s.state,
      Target: { Arn: s.target.Arn },
    })),
    NextToken: nextToken,
  };
});
