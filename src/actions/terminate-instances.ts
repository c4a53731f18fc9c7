import { defineAction } from './action';
import { changeStates, refuseIf } from '../domain/instance-changes';
import { errors } from '../protocol/errors';

export default defineAction<{ InstanceIds?: string[] }>('TerminateInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseIf(rows, (r) =>
    r.disable_api_termination
      ? `OperationNotPermitted:The instance '${r.id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`
      : undefined,
  );
  const changes = await changeStates(services.db, rows, (r) =>
    r.state === 'terminated' ? null : { desired: 'terminated', shown: 'shutting-down' },
  services.kick);
  return { TerminatingInstances: changes };
});
