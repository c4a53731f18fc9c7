import { defineAction } from './action';
import { checkMaxResults } from '../domain/pagination';
import type { Filter } from '../domain/filters';

/** Answered from our database alone: filters and pagination run in SQL. */
export default defineAction<{ InstanceIds?: string[]; Filters?: Filter[]; MaxResults?: number; NextToken?: string }>(
  'DescribeInstances',
  async (input, { caller, services }) => {
    const { rows, nextToken } = await services.instances.describe({
      accountId: caller.accountId,
      instanceIds: input.InstanceIds,
      filters: input.Filters,
      maxResults: checkMaxResults(input.MaxResults, 5, 1000),
      nextToken: input.NextToken,
    });
    return { Reservations: await services.instances.reservations(rows), NextToken: nextToken };
  },
);
