/** RegisterTargets, DeregisterTargets (with the group's deregistration delay) and DescribeTargetHealth. */
import { defineElbAction } from '../action';

export const registerTargets = defineElbAction('RegisterTargets', async (input, { caller, services }) => {
  await services.loadBalancers.registerTargets(caller.accountId, input.TargetGroupArn, input.Targets);
  return {};
});

export const deregisterTargets = defineElbAction('DeregisterTargets', async (input, { caller, services }) => {
  await services.loadBalancers.deregisterTargets(caller.accountId, input.TargetGroupArn, input.Targets);
  return {};
});

/** Health states from the proxy's own checks (initial, healthy, unhealthy with why, draining, unused). */
export const describeTargetHealth = defineElbAction('DescribeTargetHealth', async (input, { caller, services }) => {
  const views = await services.loadBalancers.targetHealth(caller.accountId, input.TargetGroupArn, input.Targets, services.probeTarget);
  return {
    TargetHealthDescriptions: views.map((v) => ({
      Target: { Id: v.id, Port: v.port, ...(v.zone ? { AvailabilityZone: v.zone } : {}) },
      HealthCheckPort: v.healthCheckPort,
      TargetHealth: { State: v.state, ...(v.reason ? { Reason: v.reason, Description: v.description } : {}) },
    })),
  };
});
