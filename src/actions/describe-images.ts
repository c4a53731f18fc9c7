import { defineAction } from './action';
import { imageViews } from './views/image';

export default defineAction('DescribeImages', async (input, { caller, services }) => {
  const rows = await services.images.describe(caller.accountId, input);
  return { Images: await imageViews(rows, services) };
});
