import { defineAction } from './action';
import { changeStates, refuseIf } from '../domain/instance-changes';
import { errors } from '../protocol/errors';

/** Reboots the container in place (its init gets SIGHUP and libvirt restarts it); the OAR job is kept. */
export default defineAction<{ InstanceIds?: string[] }>('RebootInstances', async (input, { caller, services }) => {
  if (!input.InstanceIds?.length) throw errors.missingParameter('InstanceId');
  const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
  refuseIf(rows, (r) => (r.state === 'terminated' || r.state === 'shutting-down' ? `The instance '${r.id}' is not in a state from which it can be rebooted.` : undefined));
  await changeStates(services.db, rows, (r) => (r.state === 'running' ? { shown: 'running', extra: { reboot_requested: true } } : null), services.kick);
  return {};
});
