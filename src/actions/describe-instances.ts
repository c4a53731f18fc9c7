import { defineAction } from './action';
import type { Filter } from '../domain/filters';

/** Answered from our database alone: filters and pagination run in SQL. */
export default defineAction<{ InstanceIds?: string[]; Filters?: Filter[]; MaxResults?: number; NextToken?: string }>(
  'DescribeInstances',
  async (input, { caller, services }) => {
    const { rows, nextToken } = await services.instances.describeRequest(caller.accountId, input);
    return { Reservations: await services.instances.reservations(rows), NextToken: nextToken };
  },
);
