import { defineAction } from './action';
import { changeStates, refuseIf } from '../domain/instance-changes';
import { errors } from '../protocol/errors';

/** Starts a stopped instance: a new OAR job, then the same root filesystem and address. */
export default defineAction<{ InstanceIds?: string[] }>('StartInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseIf(rows, (r) =>
    ['stopped', 'running', 'pending'].includes(r.state) && r.desired_state !== 'terminated'
      ? undefined
      : `The instance '${r.id}' is not in a state from which it can be started.`,
  );
  const changes = await changeStates(services.db, rows, (r) =>
    r.state === 'stopped' ? { desired: 'running', shown: 'pending', extra: { state: 'pending' } } : null,
  services.kick);
  return { StartingInstances: changes };
});
