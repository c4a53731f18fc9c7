/** Listeners (HTTP for application load balancers, TCP for network ones) and their attributes. */
import { defineElbAction } from '../action';
import type { LbAction } from '../../domain/load-balancers';
import { attributeList, listenerView, page, tagRows } from './views';

export const createListener = defineElbAction('CreateListener', async (input, { caller, services }) => {
  const lbs = services.loadBalancers;
  const listener = await lbs.createListener(caller.accountId, {
    loadBalancerArn: input.LoadBalancerArn,
    protocol: input.Protocol,
    port: input.Port,
    defaultActions: input.DefaultActions as LbAction[],
    tags: tagRows(input.Tags),
  });
  const lb = await lbs.loadBalancer(caller.accountId, input.LoadBalancerArn);
  return { Listeners: [listenerView(listener, lb, services)] };
});

export const describeListeners = defineElbAction('DescribeListeners', async (input, { caller, services }) => {
  const lbs = services.loadBalancers;
  const rows = await lbs.listeners(caller.accountId, { loadBalancerArn: input.LoadBalancerArn, arns: input.ListenerArns });
  const balancers = new Map((await lbs.loadBalancers(caller.accountId)).map((lb) => [lb.id, lb]));
  const { items, next } = page(rows, input.Marker, input.PageSize);
  return { Listeners: items.map((l) => listenerView(l, balancers.get(l.load_balancer_id)!, services)), NextMarker: next };
});

export const modifyListener = defineElbAction('ModifyListener', async (input, { caller, services }) => {
  const lbs = services.loadBalancers;
  const listener = await lbs.modifyListener(caller.accountId, input.ListenerArn, {
    port: input.Port,
    protocol: input.Protocol,
    defaultActions: input.DefaultActions as LbAction[] | undefined,
  });
  const [lb] = await lbs.loadBalancers(caller.accountId, { ids: [listener.load_balancer_id] });
  return { Listeners: [listenerView(listener, lb, services)] };
});

export const deleteListener = defineElbAction('DeleteListener', async (input, { caller, services }) => {
  await services.loadBalancers.deleteListener(caller.accountId, input.ListenerArn);
  return {};
});

export const describeListenerAttributes = defineElbAction('DescribeListenerAttributes', async (input, { caller, services }) => {
  const { listener } = await services.loadBalancers.listener(caller.accountId, input.ListenerArn);
  return { Attributes: attributeList(services.loadBalancers.listenerAttributes(listener)) };
});

export const modifyListenerAttributes = defineElbAction('ModifyListenerAttributes', async (input, { caller, services }) => {
  return { Attributes: attributeList(await services.loadBalancers.modifyListenerAttributes(caller.accountId, input.ListenerArn, input.Attributes)) };
});
