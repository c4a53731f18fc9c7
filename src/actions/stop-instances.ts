import { defineAction } from './action';
import { errors } from '../domain/errors';
import { refuseAny } from '../domain/instances';

/** Stops the container and releases the OAR cores; the root filesystem and the private address are kept. */
export default defineAction('StopInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  if (input.Hibernate) throw errors.unsupportedOperation('Hibernation is not supported.');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseAny(rows, (r) => {
    if (r.disable_api_stop)
      return errors.operationNotPermitted(`The instance '${r.id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.`);
    if (['terminated', 'shutting-down'].includes(r.state) || r.desired_state === 'terminated')
      return errors.incorrectInstanceState(`This instance '${r.id}' is not in a state from which it can be stopped.`);
    return undefined;
  });
  // Force is what every stop does: a graceful shutdown, forced when it does not end within the grace period
  const extra = { skip_os_shutdown: input.SkipOsShutdown === true };
  const changes = await services.instances.changeStates(rows, (r) => (r.state === 'stopped' ? null : { desired: 'stopped', shown: 'stopping', extra }));
  return { StoppingInstances: changes };
});
