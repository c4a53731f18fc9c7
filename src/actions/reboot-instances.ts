import { defineAction } from './action';
import { errors } from '../domain/errors';
import { refuseAny } from '../domain/instances';

/** Reboots the container in place (its init gets SIGHUP and libvirt restarts it); the OAR job is kept. */
export default defineAction('RebootInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseAny(rows, (r) =>
    r.state === 'terminated' || r.state === 'shutting-down'
      ? errors.incorrectInstanceState(`The instance '${r.id}' is not in a state from which it can be rebooted.`)
      : undefined,
  );
  await services.instances.changeStates(rows, (r) => (r.state === 'running' ? { shown: 'running', extra: { reboot_requested: true } } : null));
});
