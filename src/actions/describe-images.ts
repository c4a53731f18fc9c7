import { defineAction } from './action';
import type { Filter } from '../domain/filters';

export default defineAction<{ ImageIds?: string[]; Owners?: string[]; ExecutableUsers?: string[]; Filters?: Filter[]; IncludeDeprecated?: boolean }>(
  'DescribeImages',
  async (input, { caller, services }) => {
    const rows = await services.images.describe(caller.accountId, input);
    return { Images: await services.images.views(rows) };
  },
);
