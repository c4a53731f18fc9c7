import { defineAction } from './action';
import { errors } from '../domain/errors';
import { refuseAny } from '../domain/instances';

export default defineAction('TerminateInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseAny(rows, (r) =>
    r.disable_api_termination
      ? errors.operationNotPermitted(`The instance '${r.id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`)
      : undefined,
  );
  const changes = await services.instances.changeStates(rows, (r) => (r.state === 'terminated' ? null : { desired: 'terminated', shown: 'shutting-down' }));
  return { TerminatingInstances: changes };
});
