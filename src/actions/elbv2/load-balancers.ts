/** CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, their attributes, SetSecurityGroups, DescribeCapacityReservation. */
import { defineElbAction } from '../action';
import { errors } from '../../domain/errors';
import { attributeList, loadBalancerView, page, tagRows } from './views';

export const createLoadBalancer = defineElbAction('CreateLoadBalancer', async (input, { caller, services }) => {
  const type = input.Type ?? 'application';
  if (type !== 'application' && type !== 'network') throw errors.validationError(`Load balancer type '${type}' is not supported here: application or network.`);
  if (input.IpAddressType && input.IpAddressType !== 'ipv4') throw errors.validationError('Load balancers are IPv4 only here.');
  const scheme = input.Scheme ?? 'internet-facing';
  if (scheme !== 'internet-facing' && scheme !== 'internal') throw errors.validationError(`Scheme '${scheme}' must be internet-facing or internal.`);
  if (input.Subnets?.length && input.SubnetMappings?.length) throw errors.validationError('Subnets and SubnetMappings cannot both be given.');
  if (input.SubnetMappings?.some((m) => m.AllocationId || m.PrivateIPv4Address))
    throw errors.validationError('Subnet mappings with addresses are not supported here: give subnet ids.');
  const lb = await services.loadBalancers.createLoadBalancer(caller.accountId, {
    name: input.Name,
    type,
    scheme,
    subnetIds: input.Subnets?.length ? input.Subnets : (input.SubnetMappings ?? []).map((m) => m.SubnetId ?? ''),
    securityGroupIds: input.SecurityGroups ?? [],
    tags: tagRows(input.Tags),
  });
  return { LoadBalancers: [loadBalancerView(lb, services)] };
});

export const describeLoadBalancers = defineElbAction('DescribeLoadBalancers', async (input, { caller, services }) => {
  if (input.LoadBalancerArns?.length && input.Names?.length) throw errors.validationError('Load balancer ARNs and names cannot both be given.');
  const rows = await services.loadBalancers.loadBalancers(caller.accountId, { arns: input.LoadBalancerArns, names: input.Names });
  const { items, next } = page(rows, input.Marker, input.PageSize);
  return { LoadBalancers: items.map((lb) => loadBalancerView(lb, services)), NextMarker: next };
});

export const deleteLoadBalancer = defineElbAction('DeleteLoadBalancer', async (input, { caller, services }) => {
  await services.loadBalancers.deleteLoadBalancer(caller.accountId, input.LoadBalancerArn);
  return {};
});

export const describeLoadBalancerAttributes = defineElbAction('DescribeLoadBalancerAttributes', async (input, { caller, services }) => {
  const lb = await services.loadBalancers.loadBalancer(caller.accountId, input.LoadBalancerArn);
  return { Attributes: attributeList(services.loadBalancers.lbAttributes(lb)) };
});

export const modifyLoadBalancerAttributes = defineElbAction('ModifyLoadBalancerAttributes', async (input, { caller, services }) => {
  const all = await services.loadBalancers.modifyLoadBalancerAttributes(caller.accountId, input.LoadBalancerArn, input.Attributes);
  return { Attributes: attributeList(all) };
});

export const setSecurityGroups = defineElbAction('SetSecurityGroups', async (input, { caller, services }) => {
  return { SecurityGroupIds: await services.loadBalancers.setSecurityGroups(caller.accountId, input.LoadBalancerArn, input.SecurityGroups) };
});

/** A load balancer here is one proxy: its capacity is what it is, provisioned in its one zone. */
export const describeCapacityReservation = defineElbAction('DescribeCapacityReservation', async (input, { caller, services }) => {
  const lb = await services.loadBalancers.loadBalancer(caller.accountId, input.LoadBalancerArn);
  return {
    CapacityReservationState: (lb.zones ?? []).map((z) => ({ AvailabilityZone: z.zone, State: { Code: 'provisioned' } })),
    DecreaseRequestsRemaining: 0,
  };
});
