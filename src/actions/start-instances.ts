import { defineAction } from './action';
import { errors } from '../domain/errors';
import { refuseAny } from '../domain/instances';

/** Starts a stopped instance: a new OAR job, then the same root filesystem and address. */
export default defineAction('StartInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseAny(rows, (r) =>
    ['stopped', 'running', 'pending'].includes(r.state) && r.desired_state !== 'terminated'
      ? undefined
      : errors.incorrectInstanceState(`The instance '${r.id}' is not in a state from which it can be started.`),
  );
  const changes = await services.instances.changeStates(rows, (r) =>
    r.state === 'stopped' ? { desired: 'running', shown: 'pending', extra: { state: 'pending', skip_os_shutdown: false } } : null,
  );
  return { StartingInstances: changes };
});
