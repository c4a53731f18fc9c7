import { defineAction } from './action';
import { changeStates, refuseIf } from '../domain/instance-changes';
import { errors } from '../protocol/errors';

/** Stops the container and releases the OAR cores; the root filesystem and the private address are kept. */
export default defineAction<{ InstanceIds?: string[]; Force?: boolean; Hibernate?: boolean }>('StopInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  if (input.Hibernate) throw errors.unsupportedOperation('Hibernation is not supported.');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseIf(rows, (r) => {
    if (r.disable_api_stop) return `OperationNotPermitted:The instance '${r.id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.`;
    if (['terminated', 'shutting-down'].includes(r.state) || r.desired_state === 'terminated') return `This instance '${r.id}' is not in a state from which it can be stopped.`;
    return undefined;
  });
  const changes = await changeStates(services.db, rows, (r) =>
    r.state === 'stopped' ? null : { desired: 'stopped', shown: 'stopping' },
  services.kick);
  return { StoppingInstances: changes };
});
