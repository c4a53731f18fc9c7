/** ELBv2 resources as the API shows them (element names from the ELBv2 model). */
import type { Services } from '../../services';
import type { ListenerRow, LoadBalancerRow, RuleRow, TargetGroupRow } from '../../domain/load-balancers';
import type { Action, Listener, LoadBalancer, Rule, TargetGroup } from '../../protocol/model/elbv2-shapes';

/** The hosted zone ELB names live in: a constant per region on AWS, one made-up value here. */
const HOSTED_ZONE_ID = 'Z0OARCLOUDELB000';

export function loadBalancerView(lb: LoadBalancerRow, services: Services): LoadBalancer {
  const lbs = services.loadBalancers;
  return {
    LoadBalancerArn: lbs.lbArn(lb),
    DNSName: lbs.dnsName(lb),
    CanonicalHostedZoneId: HOSTED_ZONE_ID,
    CreatedTime: lb.created_at,
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: lb.vpc_id,
    State: { Code: lb.state, ...(lb.state_reason && lb.state !== 'active' ? { Reason: lb.state_reason } : {}) },
    Type: lb.type,
    AvailabilityZones: (lb.zones ?? []).map((z, i) => ({
      ZoneName: z.zone,
      SubnetId: z.subnetId,
      LoadBalancerAddresses:
        i === 0 && lb.type === 'network' && lb.private_ip ? [{ PrivateIPv4Address: lb.private_ip, ...(lb.public_ip ? { IpAddress: lb.public_ip } : {}) }] : [],
    })),
    ...(lb.type === 'application' || lb.security_group_ids.length ? { SecurityGroups: lb.security_group_ids } : {}),
    IpAddressType: 'ipv4',
  };
}

export function targetGroupView(tg: TargetGroupRow, services: Services): TargetGroup {
  const lbs = services.loadBalancers;
  const hc = tg.health_check;
  return {
    TargetGroupArn: lbs.tgArn(tg),
    TargetGroupName: tg.name,
    Protocol: tg.protocol,
    Port: tg.port,
    VpcId: tg.vpc_id,
    HealthCheckProtocol: hc.protocol,
    HealthCheckPort: hc.port,
    HealthCheckEnabled: hc.enabled,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    ...(hc.path ? { HealthCheckPath: hc.path } : {}),
    ...(hc.matcher ? { Matcher: { HttpCode: hc.matcher } } : {}),
    LoadBalancerArns: tg.load_balancer_arns ?? [],
    TargetType: tg.target_type,
    ...(tg.protocol === 'HTTP' ? { ProtocolVersion: 'HTTP1' } : {}),
    IpAddressType: 'ipv4',
  };
}

export function listenerView(l: ListenerRow, lb: LoadBalancerRow, services: Services): Listener {
  return {
    ListenerArn: services.loadBalancers.listenerArn(l, lb),
    LoadBalancerArn: services.loadBalancers.lbArn(lb),
    Port: l.port,
    Protocol: l.protocol,
    DefaultActions: actionsView(l.default_actions),
  };
}

export function actionsView(actions: RuleRow['actions']): Action[] {
  return actions.map((a) => {
    if (a.Type !== 'forward') return a as Action;
    const arn = a.TargetGroupArn ?? a.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
    return {
      Type: 'forward',
      Order: a.Order,
      TargetGroupArn: arn,
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: arn, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: false } },
    };
  });
}

export function ruleView(rule: RuleRow | null, listener: ListenerRow, lb: LoadBalancerRow, services: Services): Rule {
  const lbs = services.loadBalancers;
  if (!rule) {
    return {
      RuleArn: lbs.ruleArn({ account_id: listener.account_id, listener_id: listener.id, id: lbs.defaultRuleId(listener.id) }, lb),
      Priority: 'default',
      Conditions: [],
      Actions: actionsView(listener.default_actions),
      IsDefault: true,
    };
  }
  return {
    RuleArn: lbs.ruleArn(rule, lb),
    Priority: String(rule.priority),
    Conditions: rule.conditions.map((c) => ({
      Field: c.Field,
      Values: c.PathPatternConfig?.Values ?? c.HostHeaderConfig?.Values ?? [],
      ...(c.PathPatternConfig ? { PathPatternConfig: c.PathPatternConfig } : {}),
      ...(c.HostHeaderConfig ? { HostHeaderConfig: c.HostHeaderConfig } : {}),
    })),
    Actions: actionsView(rule.actions),
    IsDefault: false,
  };
}

export const attributeList = (attributes: Record<string, string>) => Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));

/** ELBv2 tags as the domain takes them. */
export const tagRows = (tags: { Key: string; Value?: string }[] | undefined) => (tags ?? []).map((t) => ({ key: t.Key, value: t.Value ?? '' }));

/** Describe* paging: Marker is the index to start at, PageSize at most 400. */
export function page<T>(rows: T[], marker: string | undefined, pageSize: number | undefined): { items: T[]; next?: string } {
  const start = marker ? Number(marker) || 0 : 0;
  const size = Math.min(pageSize ?? 400, 400);
  const items = rows.slice(start, start + size);
  return { items, next: start + size < rows.length ? String(start + size) : undefined };
}
