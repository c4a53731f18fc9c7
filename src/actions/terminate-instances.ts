import { defineAction } from './action';
import { errors } from '../domain/errors';
import { refuseAny } from '../domain/instances';

export default defineAction(
  'TerminateInstances',
  async (input, { caller, services }) => {
    // EC2's answer to a termination of nothing (moto, which mirrors it, too): not MissingParameter
    if (!input.InstanceIds?.length) throw errors.invalidParameterCombination('No instances specified');
    const rows = await services.instances.getOwned(caller.accountId, input.InstanceIds);
    refuseAny(rows, (r) =>
      r.disable_api_termination
        ? errors.operationNotPermitted(`The instance '${r.id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`)
        : undefined,
    );
    // Force is what every termination does: a graceful shutdown, forced when it does not end within the grace period
    const extra = { skip_os_shutdown: input.SkipOsShutdown === true };
    const changes = await services.instances.changeStates(rows, (r) =>
      r.state === 'terminated' ? null : { desired: 'terminated', shown: 'shutting-down', extra },
    );
    return { TerminatingInstances: changes };
  },
  { checksItself: ['InstanceIds'] },
);
