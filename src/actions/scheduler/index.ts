/** The registry of EventBridge Scheduler actions, keyed by name (one module per family). */
import type { Action } from '../action';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, updateSchedule } from './schedules';
import { createScheduleGroup, deleteScheduleGroup, getScheduleGroup, listScheduleGroups } from './groups';
import { listTagsForResource, tagResource, untagResource } from './tags';

const ALL: Action[] = [
  createSchedule,
  getSchedule,
  updateSchedule,
  deleteSchedule,
  listSchedules,
  createScheduleGroup,
  getScheduleGroup,
  deleteScheduleGroup,
  listScheduleGroups,
  tagResource,
  untagResource,
  listTagsForResource,
];

export function schedulerActionRegistry(): Map<string, Action> {
  return new Map(ALL.map((a) => [a.name, a]));
}
