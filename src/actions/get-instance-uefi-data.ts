import { defineAction } from './action';
import { errors } from '../protocol/errors';

/** Containers boot no firmware: a known instance answers UnsupportedOperation (clients treat any 4xx as "none"). */
export default defineAction<{ InstanceId: string }>('GetInstanceUefiData', async (input, { caller, services }) => {
  await services.instances.getOwned(caller.accountId, [input.InstanceId]);
  throw errors.unsupportedOperation(`The instance '${input.InstanceId}' does not boot with UEFI.`);
});
