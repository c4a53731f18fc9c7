/** Target groups: create, describe, modify (health checks), delete, their attributes. */
import { defineElbAction, type ElbInput } from '../action';
import { errors } from '../../domain/errors';
import type { HealthCheck } from '../../domain/load-balancers';
import { attributeList, page, tagRows, targetGroupView } from './views';

function healthCheckOf(input: ElbInput<'CreateTargetGroup'> | ElbInput<'ModifyTargetGroup'>): Partial<HealthCheck> {
  if (input.Matcher?.GrpcCode) throw errors.validationError('gRPC health checks are not supported here.');
  return {
    enabled: input.HealthCheckEnabled,
    protocol: input.HealthCheckProtocol,
    port: input.HealthCheckPort,
    path: input.HealthCheckPath,
    intervalSeconds: input.HealthCheckIntervalSeconds,
    timeoutSeconds: input.HealthCheckTimeoutSeconds,
    healthyThreshold: input.HealthyThresholdCount,
    unhealthyThreshold: input.UnhealthyThresholdCount,
    matcher: input.Matcher?.HttpCode,
  };
}

export const createTargetGroup = defineElbAction('CreateTargetGroup', async (input, { caller, services }) => {
  if (input.ProtocolVersion && input.ProtocolVersion !== 'HTTP1')
    throw errors.validationError(`Protocol version '${input.ProtocolVersion}' is not supported here: HTTP1.`);
  if (input.IpAddressType && input.IpAddressType !== 'ipv4') throw errors.validationError('Target groups are IPv4 only here.');
  const tg = await services.loadBalancers.createTargetGroup(caller.accountId, {
    name: input.Name,
    protocol: input.Protocol,
    port: input.Port,
    vpcId: input.VpcId,
    targetType: input.TargetType,
    healthCheck: healthCheckOf(input),
    tags: tagRows(input.Tags),
  });
  return { TargetGroups: [targetGroupView(tg, services)] };
});

export const describeTargetGroups = defineElbAction('DescribeTargetGroups', async (input, { caller, services }) => {
  const rows = await services.loadBalancers.targetGroups(caller.accountId, {
    arns: input.TargetGroupArns,
    names: input.Names,
    loadBalancerArn: input.LoadBalancerArn,
  });
  const { items, next } = page(rows, input.Marker, input.PageSize);
  return { TargetGroups: items.map((tg) => targetGroupView(tg, services)), NextMarker: next };
});

export const modifyTargetGroup = defineElbAction('ModifyTargetGroup', async (input, { caller, services }) => {
  const tg = await services.loadBalancers.modifyTargetGroup(caller.accountId, input.TargetGroupArn, healthCheckOf(input));
  return { TargetGroups: [targetGroupView(tg, services)] };
});

export const deleteTargetGroup = defineElbAction('DeleteTargetGroup', async (input, { caller, services }) => {
  await services.loadBalancers.deleteTargetGroup(caller.accountId, input.TargetGroupArn);
  return {};
});

export const describeTargetGroupAttributes = defineElbAction('DescribeTargetGroupAttributes', async (input, { caller, services }) => {
  const tg = await services.loadBalancers.targetGroup(caller.accountId, input.TargetGroupArn);
  return { Attributes: attributeList(services.loadBalancers.tgAttributes(tg)) };
});

export const modifyTargetGroupAttributes = defineElbAction('ModifyTargetGroupAttributes', async (input, { caller, services }) => {
  return { Attributes: attributeList(await services.loadBalancers.modifyTargetGroupAttributes(caller.accountId, input.TargetGroupArn, input.Attributes)) };
});
