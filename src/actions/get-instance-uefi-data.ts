import { defineAction } from './action';
import { errors } from '../domain/errors';

/** Containers boot no firmware: a known instance answers UnsupportedOperation (clients treat any 4xx as "none"). */
export default defineAction('GetInstanceUefiData', async (input, { caller, services }) => {
  await services.instances.getOwned(caller.accountId, [input.InstanceId]);
  throw errors.unsupportedOperation(`The instance '${input.InstanceId}' does not boot with UEFI.`);
});
