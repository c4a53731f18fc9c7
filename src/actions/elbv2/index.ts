/** The registry of Elastic Load Balancing (v2) actions: one module per family, keyed by ELBv2 name. */
import type { Action } from '../action';
import {
  createLoadBalancer,
  deleteLoadBalancer,
  describeCapacityReservation,
  describeLoadBalancerAttributes,
  describeLoadBalancers,
  modifyLoadBalancerAttributes,
  setSecurityGroups,
} from './load-balancers';
import {
  createTargetGroup,
  deleteTargetGroup,
  describeTargetGroupAttributes,
  describeTargetGroups,
  modifyTargetGroup,
  modifyTargetGroupAttributes,
} from './target-groups';
import { deregisterTargets, describeTargetHealth, registerTargets } from './targets';
import { createListener, deleteListener, describeListenerAttributes, describeListeners, modifyListener, modifyListenerAttributes } from './listeners';
import { createRule, deleteRule, describeRules, modifyRule } from './rules';
import { addTags, describeAccountLimits, describeTags, removeTags } from './tags';

const ALL: Action[] = [
  createLoadBalancer,
  describeLoadBalancers,
  deleteLoadBalancer,
  describeLoadBalancerAttributes,
  modifyLoadBalancerAttributes,
  setSecurityGroups,
  describeCapacityReservation,
  createTargetGroup,
  describeTargetGroups,
  modifyTargetGroup,
  deleteTargetGroup,
  describeTargetGroupAttributes,
  modifyTargetGroupAttributes,
  registerTargets,
  deregisterTargets,
  describeTargetHealth,
  createListener,
  describeListeners,
  modifyListener,
  deleteListener,
  describeListenerAttributes,
  modifyListenerAttributes,
  createRule,
  describeRules,
  modifyRule,
  deleteRule,
  addTags,
  removeTags,
  describeTags,
  describeAccountLimits,
];

export function elbActionRegistry(): Map<string, Action> {
  return new Map(ALL.map((a) => [a.name, a]));
}
