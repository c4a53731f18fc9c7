import { defineAction } from './action';
import { reservationViews } from './views/instance';

/** Answered from our database alone: filters and pagination run in SQL. */
export default defineAction('DescribeInstances', async (input, { caller, services }) => {
  const { rows, nextToken } = await services.instances.describeRequest(caller.accountId, input);
  return { Reservations: await reservationViews(rows, services), NextToken: nextToken };
});
