/**
 * Elastic Load Balancing (v2): load balancers, target groups and their targets, listeners and their rules, with
 * ELBv2's rules and errors. Each load balancer is served by a HAProxy on this machine (LoadBalancerSync, from
 * `desired()`); this module holds the state only. Resources are named by ARN; the rows keep the last part of it.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { errors, DomainError } from './errors';
import { envLimit } from './quotas';
import { changeSignal } from './change-signal';
import type { Vpcs } from './vpcs';
import type { SecurityGroups } from './security-groups';
import type { AddressPool } from './addresses';

export type LbType = 'application' | 'network';

export interface LoadBalancerRow {
  id: string;
  account_id: string;
  name: string;
  type: LbType;
  scheme: 'internal' | 'internet-facing';
  vpc_id: string;
  subnet_ids: string[];
  security_group_ids: string[];
  state: 'provisioning' | 'active' | 'failed';
  state_reason: string | null;
  private_ip: string | null;
  mac: string;
  attributes: Record<string, string>;
  created_at: Date;
  public_ip?: string | null;
  zones?: { subnetId: string; zone: string }[];
}

export interface HealthCheck {
  enabled: boolean;
  protocol: string;
  port: string;
  path: string | null;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  matcher: string | null;
}

export interface TargetGroupRow {
  id: string;
  account_id: string;
  name: string;
  protocol: string;
  port: number;
  vpc_id: string;
  target_type: 'instance' | 'ip';
  health_check: HealthCheck;
  attributes: Record<string, string>;
  created_at: Date;
  /** The load balancers whose listeners or rules send to it, by id and ARN (filled by the list calls). */
  load_balancer_ids?: string[];
  load_balancer_arns?: string[];
}

export interface TargetRow {
  target_group_id: string;
  target_id: string;
  port: number;
  registered_at: Date;
  draining_until: Date | null;
}

/** ELBv2's Action and RuleCondition, as the API gives them (target groups by ARN). */
export interface LbAction {
  Type: string;
  TargetGroupArn?: string;
  Order?: number;
  ForwardConfig?: { TargetGroups?: { TargetGroupArn?: string; Weight?: number }[]; TargetGroupStickinessConfig?: object };
  FixedResponseConfig?: { StatusCode: string; ContentType?: string; MessageBody?: string };
  RedirectConfig?: { Protocol?: string; Port?: string; Host?: string; Path?: string; Query?: string; StatusCode: string };
}
export interface LbCondition {
  Field?: string;
  Values?: string[];
  PathPatternConfig?: { Values?: string[] };
  HostHeaderConfig?: { Values?: string[] };
}

export interface ListenerRow {
  id: string;
  account_id: string;
  load_balancer_id: string;
  protocol: string;
  port: number;
  default_actions: LbAction[];
  attributes: Record<string, string>;
}

export interface RuleRow {
  id: string;
  account_id: string;
  listener_id: string;
  priority: number;
  conditions: LbCondition[];
  actions: LbAction[];
}

/** What HAProxy says of one target (LoadBalancerSync reads it through its runtime API). */
export interface TargetProbe {
  /** A check ran at least once. */
  checked: boolean;
  up: boolean;
  /** HAProxy's check status (L4CON, L4TOUT, L7STS, L7TOUT, L7OK...) and the HTTP code of the last check. */
  check: string;
  code?: string;
}

export interface TargetHealthView {
  id: string;
  port: number;
  zone?: string;
  state: 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';
  reason?: string;
  description?: string;
  healthCheckPort: string;
}

/** One load balancer as its proxy must serve it: listeners with rules, and the target groups they use. */
export interface LoadBalancerSpec {
  lb: LoadBalancerRow;
  listeners: { listener: ListenerRow; rules: RuleRow[] }[];
  targetGroups: { group: TargetGroupRow; servers: { key: string; ip: string; port: number; draining: boolean }[] }[];
  /** Its name in the VPC's resolver and this machine's hosts file. */
  dnsName: string;
  /** Its pool address when internet-facing (once given). */
  publicIp: string | null;
}

const LB_NAME = /^(?!-)(?!internal-)[A-Za-z0-9-]{1,32}(?<!-)$/;
const TG_NAME = /^(?!-)[A-Za-z0-9-]{1,32}(?<!-)$/;
const HTTP_PROTOCOLS = ['HTTP', 'HTTPS'];
const NETWORK_PROTOCOLS = ['TCP', 'UDP', 'TCP_UDP', 'TLS'];

/** Load balancer attributes and their defaults (what DescribeLoadBalancerAttributes answers), per type. */
const LB_ATTRIBUTES: Record<LbType, Record<string, string>> = {
  application: {
    'access_logs.s3.enabled': 'false',
    'access_logs.s3.bucket': '',
    'access_logs.s3.prefix': '',
    'connection_logs.s3.enabled': 'false',
    'connection_logs.s3.bucket': '',
    'connection_logs.s3.prefix': '',
    'client_keep_alive.seconds': '3600',
    'deletion_protection.enabled': 'false',
    'idle_timeout.timeout_seconds': '60',
    'routing.http.desync_mitigation_mode': 'defensive',
    'routing.http.drop_invalid_header_fields.enabled': 'false',
    'routing.http.preserve_host_header.enabled': 'false',
    'routing.http.x_amzn_tls_version_and_cipher_suite.enabled': 'false',
    'routing.http.xff_client_port.enabled': 'false',
    'routing.http.xff_header_processing.mode': 'append',
    'routing.http2.enabled': 'true',
    'waf.fail_open.enabled': 'false',
    'zonal_shift.config.enabled': 'false',
  },
  network: {
    'access_logs.s3.enabled': 'false',
    'access_logs.s3.bucket': '',
    'access_logs.s3.prefix': '',
    'deletion_protection.enabled': 'false',
    'load_balancing.cross_zone.enabled': 'false',
    'dns_record.client_routing_policy': 'any_availability_zone',
    'zonal_shift.config.enabled': 'false',
  },
};
const TG_ATTRIBUTES: Record<string, string> = {
  'deregistration_delay.timeout_seconds': '300',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'stickiness.lb_cookie.duration_seconds': '86400',
  'load_balancing.algorithm.type': 'round_robin',
  'load_balancing.cross_zone.enabled': 'use_load_balancer_configuration',
  'slow_start.duration_seconds': '0',
  'proxy_protocol_v2.enabled': 'false',
  'preserve_client_ip.enabled': 'false',
  'deregistration_delay.connection_termination.enabled': 'false',
};
const LISTENER_ATTRIBUTES: Record<string, string> = { 'tcp.idle_timeout.seconds': '350' };

const hex16 = () => randomBytes(8).toString('hex');

function mergeAttributes(defaults: Record<string, string>, current: Record<string, string>, changes: { Key?: string; Value?: string }[], what: string) {
  const next = { ...current };
  for (const { Key, Value } of changes) {
    if (!Key || !(Key in defaults)) throw errors.validationError(`'${Key ?? ''}' is not a valid ${what} attribute`);
    next[Key] = Value ?? '';
  }
  return next;
}

/** A regex for an ELB glob (`*` any run, `?` one character), anchored. */
export function globToRegex(glob: string): string {
  return `^${glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')}$`;
}

/** The regex of an HTTP health-check matcher: "200", "200,202", "200-299". */
export function matcherRegex(matcher: string): string {
  const parts = matcher.split(',').map((p) => p.trim());
  const alternatives = parts.map((p) => {
    const range = /^(\d{3})-(\d{3})$/.exec(p);
    if (!range) return p;
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    return Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i)).join('|');
  });
  return `^(${alternatives.join('|')})$`;
}

export class LoadBalancers {
  constructor(
    private readonly db: Knex,
    private readonly deps: { vpcs: Vpcs; securityGroups: SecurityGroups; addresses: AddressPool; region: string },
    private readonly limits = {
      loadBalancers: envLimit(process.env, 'OARCLOUD_MAX_LOAD_BALANCERS', 10),
      targetGroups: envLimit(process.env, 'OARCLOUD_MAX_TARGET_GROUPS', 50),
      listenersPerLoadBalancer: 50,
      rulesPerListener: 100,
      targetsPerGroup: 1000,
      tagsPerResource: 50,
    },
  ) {}

  // ------------------------------------------------------------------------------------------------------- ARNs

  private arnPrefix(accountId: string): string {
    return `arn:aws:elasticloadbalancing:${this.deps.region}:${accountId}:`;
  }
  private static short(type: LbType): string {
    return type === 'application' ? 'app' : 'net';
  }
  lbArn(lb: Pick<LoadBalancerRow, 'account_id' | 'type' | 'name' | 'id'>): string {
    return `${this.arnPrefix(lb.account_id)}loadbalancer/${LoadBalancers.short(lb.type)}/${lb.name}/${lb.id}`;
  }
  tgArn(tg: Pick<TargetGroupRow, 'account_id' | 'name' | 'id'>): string {
    return `${this.arnPrefix(tg.account_id)}targetgroup/${tg.name}/${tg.id}`;
  }
  listenerArn(l: ListenerRow, lb: LoadBalancerRow): string {
    return `${this.arnPrefix(l.account_id)}listener/${LoadBalancers.short(lb.type)}/${lb.name}/${lb.id}/${l.id}`;
  }
  ruleArn(r: Pick<RuleRow, 'account_id' | 'listener_id' | 'id'>, lb: LoadBalancerRow): string {
    return `${this.arnPrefix(r.account_id)}listener-rule/${LoadBalancers.short(lb.type)}/${lb.name}/${lb.id}/${r.listener_id}/${r.id}`;
  }
  /** The default rule of a listener is its default actions; its ARN ends in the listener's id twice. */
  defaultRuleId(listenerId: string): string {
    return `default-${listenerId}`;
  }
  dnsName(lb: Pick<LoadBalancerRow, 'name' | 'id' | 'scheme'>): string {
    const number = BigInt(`0x${lb.id.slice(0, 12)}`) % 10_000_000_000n;
    return `${lb.scheme === 'internal' ? 'internal-' : ''}${lb.name}-${number}.${this.deps.region}.elb.oarcloud.internal`.toLowerCase();
  }

  /** The id an ARN of the caller ends with; another account's, another kind's or a malformed one is not found. */
  private idOf(accountId: string, arn: string, kind: 'loadbalancer' | 'targetgroup' | 'listener' | 'listener-rule'): string | undefined {
    if (!arn.startsWith('arn:') || !arn.includes(`:${kind}/`)) throw errors.validationError(`'${arn.slice(0, 300)}' is not a valid ${kind} ARN`);
    if (!arn.startsWith(`${this.arnPrefix(accountId)}${kind}/`)) return undefined;
    return arn.split('/').at(-1);
  }

  // ------------------------------------------------------------------------------------------- load balancers

  async createLoadBalancer(
    accountId: string,
    req: {
      name: string;
      type: LbType;
      scheme: LoadBalancerRow['scheme'];
      subnetIds: string[];
      securityGroupIds: string[];
      tags: { key: string; value: string }[];
    },
  ): Promise<LoadBalancerRow> {
    if (!LB_NAME.test(req.name))
      throw errors.validationError(
        `The load balancer name '${req.name.slice(0, 100)}' is invalid: at most 32 letters, digits and hyphens, not beginning or ending with a hyphen, nor beginning with 'internal-'.`,
      );
    if (!req.subnetIds.length) throw errors.validationError('At least one subnet must be specified.');
    const subnets: Awaited<ReturnType<Vpcs['getSubnet']>>[] = [];
    for (const id of [...new Set(req.subnetIds)]) {
      const subnet = await this.deps.vpcs.getSubnet(accountId, id).catch((err) => {
        throw err instanceof DomainError && err.kind === 'not-found' ? errors.elbSubnetNotFound(`The subnet ID '${id}' is not found`) : err;
      });
      subnets.push(subnet);
    }
    const vpcId = subnets[0].vpc_id;
    if (subnets.some((s) => s.vpc_id !== vpcId)) throw errors.elbInvalidSubnet('The subnets must all be in the same VPC.');
    if (subnets[0].vni === null)
      throw errors.elbInvalidSubnet("Load balancers go in VPCs you create: the default VPC is the shared network, which has no load balancers' addresses.");
    if (req.scheme === 'internet-facing' && !(await this.db('internet_gateways').where('vpc_id', vpcId).first('id')))
      throw errors.elbInvalidSubnet(`VPC ${vpcId} has no internet gateway: an internet-facing load balancer needs one (or use the internal scheme).`);
    const zones = new Set<string>();
    for (const s of subnets) {
      if (zones.has(s.availability_zone))
        throw errors.invalidConfigurationRequest('A load balancer cannot be attached to multiple subnets in the same Availability Zone.');
      zones.add(s.availability_zone);
    }
    let groups: string[] = [];
    if (req.type === 'application') {
      groups = req.securityGroupIds.length ? req.securityGroupIds : [];
      for (const g of groups) {
        const group = await this.deps.securityGroups.get(accountId, g).catch(() => undefined);
        if (!group || group.vpc_id !== vpcId) throw errors.elbInvalidSecurityGroup(`Security group '${g}' does not exist in VPC '${vpcId}'`);
      }
      if (!groups.length) groups = await this.deps.securityGroups.checkMembership(accountId, vpcId, []);
    } else if (req.securityGroupIds.length) {
      for (const g of req.securityGroupIds) {
        const group = await this.deps.securityGroups.get(accountId, g).catch(() => undefined);
        if (!group || group.vpc_id !== vpcId) throw errors.elbInvalidSecurityGroup(`Security group '${g}' does not exist in VPC '${vpcId}'`);
      }
      groups = req.securityGroupIds;
    }
    const id = hex16();
    const mac = `02:4c:${id.slice(0, 2)}:${id.slice(2, 4)}:${id.slice(4, 6)}:${id.slice(6, 8)}`;
    await this.db.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext('oarcloud.load_balancers'))");
      if (await trx('load_balancers').where({ account_id: accountId, name: req.name }).first('id'))
        throw errors.duplicateLoadBalancerName(`A load balancer with the name '${req.name}' already exists`);
      const [{ n }] = await trx('load_balancers').where('account_id', accountId).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.limits.loadBalancers)
        throw errors.tooManyLoadBalancers(`The quota of load balancers (${this.limits.loadBalancers}) has been reached`);
      await trx('load_balancers').insert({
        id,
        account_id: accountId,
        name: req.name,
        type: req.type,
        scheme: req.scheme,
        vpc_id: vpcId,
        subnet_ids: subnets.map((s) => s.id),
        security_group_ids: groups,
        mac,
      });
      const [ip] = await this.deps.addresses.leaseFor(trx, { loadBalancerId: id }, { network: vpcId, cidr: subnets[0].cidr });
      if (!ip) throw errors.invalidConfigurationRequest(`The subnet ${subnets[0].id} has no free address for the load balancer.`);
      await trx('load_balancers').where('id', id).update({ private_ip: ip });
      await this.insertTags(trx, accountId, [id], req.tags);
    });
    changeSignal.raise();
    return (await this.loadBalancers(accountId, { ids: [id] }))[0];
  }

  /** The caller's load balancers, all or those named (each must exist). */
  async loadBalancers(accountId: string, by: { arns?: string[]; names?: string[]; ids?: string[] } = {}): Promise<LoadBalancerRow[]> {
    const q = this.db('load_balancers as l').where('l.account_id', accountId).orderBy('l.created_at');
    const ids = by.ids ?? by.arns?.map((a) => this.idOf(accountId, a, 'loadbalancer') ?? '');
    if (ids?.length) q.whereIn('l.id', ids);
    if (by.names?.length) q.whereIn('l.name', by.names);
    const rows: LoadBalancerRow[] = await q.select(
      'l.*',
      this.db.raw('host(l.private_ip) as private_ip'),
      this.db.raw('(select host(e.public_ip) from elastic_ips e where e.load_balancer_id = l.id) as public_ip'),
    );
    const wanted = by.arns ?? by.names;
    if (wanted?.length && rows.length < new Set(wanted).size)
      throw errors.loadBalancerNotFound(`Load balancers '[${wanted.join(', ').slice(0, 500)}]' not found`);
    if (by.ids?.length && !rows.length) throw errors.loadBalancerNotFound('One or more load balancers not found');
    const subnets = rows.length
      ? await this.db('subnets')
          .whereIn('id', [...new Set(rows.flatMap((r) => r.subnet_ids))])
          .select('id', 'availability_zone')
      : [];
    for (const r of rows) r.zones = r.subnet_ids.map((s) => ({ subnetId: s, zone: subnets.find((x) => x.id === s)?.availability_zone ?? '' }));
    return rows;
  }

  async loadBalancer(accountId: string, arn: string): Promise<LoadBalancerRow> {
    return (await this.loadBalancers(accountId, { arns: [arn] }))[0];
  }

  async deleteLoadBalancer(accountId: string, arn: string): Promise<void> {
    const id = this.idOf(accountId, arn, 'loadbalancer');
    const lb = id ? await this.db('load_balancers').where({ account_id: accountId, id }).first() : undefined;
    // deleting what is gone already succeeds, as on ELB
    if (!lb) return;
    if (lb.attributes['deletion_protection.enabled'] === 'true')
      throw errors.operationNotPermitted(`Load balancer '${arn}' cannot be deleted because deletion protection is enabled`);
    const listeners = await this.db('listeners').where('load_balancer_id', id).pluck('id');
    const rules = listeners.length ? await this.db('listener_rules').whereIn('listener_id', listeners).pluck('id') : [];
    await this.db.transaction(async (trx) => {
      await trx('elb_tags')
        .whereIn('resource_id', [id!, ...listeners, ...rules])
        .delete();
      await trx('load_balancers').where('id', id).delete();
    });
    changeSignal.raise();
  }

  async modifyLoadBalancerAttributes(accountId: string, arn: string, changes: { Key?: string; Value?: string }[]): Promise<Record<string, string>> {
    const lb = await this.loadBalancer(accountId, arn);
    const next = mergeAttributes(LB_ATTRIBUTES[lb.type], lb.attributes, changes, 'load balancer');
    await this.db('load_balancers').where('id', lb.id).update({ attributes: next });
    return { ...LB_ATTRIBUTES[lb.type], ...next };
  }

  lbAttributes(lb: LoadBalancerRow): Record<string, string> {
    return { ...LB_ATTRIBUTES[lb.type], ...lb.attributes };
  }

  async setSecurityGroups(accountId: string, arn: string, groupIds: string[]): Promise<string[]> {
    const lb = await this.loadBalancer(accountId, arn);
    if (lb.type === 'network' && !lb.security_group_ids.length)
      throw errors.validationError('A network load balancer created without security groups cannot have any.');
    for (const g of groupIds) {
      const group = await this.deps.securityGroups.get(accountId, g).catch(() => undefined);
      if (!group || group.vpc_id !== lb.vpc_id) throw errors.elbInvalidSecurityGroup(`Security group '${g}' does not exist in VPC '${lb.vpc_id}'`);
    }
    const groups = groupIds.length ? [...new Set(groupIds)] : await this.deps.securityGroups.checkMembership(accountId, lb.vpc_id, []);
    await this.db('load_balancers').where('id', lb.id).update({ security_group_ids: groups });
    changeSignal.raise();
    return groups;
  }

  /** Called by the proxy sync: the load balancer serves (active) or could not be set up (failed, with why). */
  async setState(id: string, state: LoadBalancerRow['state'], reason: string | null = null): Promise<void> {
    await this.db('load_balancers')
      .where('id', id)
      .whereRaw('(state, state_reason) is distinct from (?, ?)', [state, reason])
      .update({ state, state_reason: reason });
  }

  // --------------------------------------------------------------------------------------------- target groups

  async createTargetGroup(
    accountId: string,
    req: {
      name: string;
      protocol?: string;
      port?: number;
      vpcId?: string;
      targetType?: string;
      healthCheck: Partial<HealthCheck>;
      tags: { key: string; value: string }[];
    },
  ): Promise<TargetGroupRow> {
    if (!TG_NAME.test(req.name))
      throw errors.validationError(
        `The target group name '${req.name.slice(0, 100)}' is invalid: at most 32 letters, digits and hyphens, not beginning or ending with a hyphen.`,
      );
    const targetType = req.targetType || 'instance';
    if (targetType !== 'instance' && targetType !== 'ip')
      throw errors.validationError(`Target type '${targetType}' is not supported here: use 'instance' or 'ip'.`);
    if (!req.protocol) throw errors.validationError('A protocol must be specified');
    if (![...HTTP_PROTOCOLS, ...NETWORK_PROTOCOLS].includes(req.protocol)) throw errors.validationError(`Protocol '${req.protocol}' is not valid`);
    if (req.protocol !== 'HTTP' && req.protocol !== 'TCP')
      throw errors.unsupportedProtocol(`Protocol '${req.protocol}' is not supported here: target groups speak HTTP or TCP.`);
    if (req.port === undefined) throw errors.validationError('A port must be specified');
    if (!req.vpcId) throw errors.validationError('A VPC ID must be specified');
    const vpc = await this.deps.vpcs.getVpc(accountId, req.vpcId);
    const healthCheck = this.healthCheck(req.protocol, req.healthCheck, undefined);
    const id = hex16();
    await this.db.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext('oarcloud.target_groups'))");
      if (await trx('target_groups').where({ account_id: accountId, name: req.name }).first('id'))
        throw errors.duplicateTargetGroupName(`A target group with the same name '${req.name}' exists, but with different settings`);
      const [{ n }] = await trx('target_groups').where('account_id', accountId).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.limits.targetGroups) throw errors.tooManyTargetGroups(`The quota of target groups (${this.limits.targetGroups}) has been reached`);
      await trx('target_groups').insert({
        id,
        account_id: accountId,
        name: req.name,
        protocol: req.protocol,
        port: req.port,
        vpc_id: vpc.id,
        target_type: targetType,
        health_check: healthCheck,
      });
      await this.insertTags(trx, accountId, [id], req.tags);
    });
    return (await this.targetGroups(accountId, { ids: [id] }))[0];
  }

  /** The health check of a group of `protocol`: ELB's defaults, the current settings, then the changes. */
  private healthCheck(protocol: string, change: Partial<HealthCheck>, current: HealthCheck | undefined): HealthCheck {
    const http = protocol === 'HTTP';
    const base: HealthCheck = current ?? {
      enabled: true,
      protocol: http ? 'HTTP' : 'TCP',
      port: 'traffic-port',
      path: http ? '/' : null,
      intervalSeconds: 30,
      timeoutSeconds: http ? 5 : 10,
      healthyThreshold: 5,
      unhealthyThreshold: 2,
      matcher: http ? '200' : null,
    };
    const next: HealthCheck = { ...base };
    for (const [k, v] of Object.entries(change)) if (v !== undefined && v !== '') (next as any)[k] = v;
    // a new group given only a short interval gets a timeout that fits in it
    if (!current && change.timeoutSeconds === undefined) next.timeoutSeconds = Math.min(next.timeoutSeconds, next.intervalSeconds - 1);
    if (!['HTTP', 'TCP'].includes(next.protocol)) throw errors.unsupportedProtocol(`Health checks speak HTTP or TCP here, not '${next.protocol}'.`);
    if (next.protocol === 'HTTP') {
      next.path ??= '/';
      next.matcher ??= '200';
      if (!next.path.startsWith('/')) throw errors.validationError('The health check path must begin with a slash.');
      if (!/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(next.matcher.replace(/\s/g, '')))
        throw errors.validationError(`Health check matcher '${next.matcher}' is invalid: HTTP codes like 200, 200,202 or 200-299.`);
    } else {
      next.path = null;
      next.matcher = null;
    }
    if (next.port !== 'traffic-port' && !(Number(next.port) >= 1 && Number(next.port) <= 65535))
      throw errors.validationError(`Health check port '${next.port}' must be 'traffic-port' or a port number.`);
    const within = (v: number, lo: number, hi: number, name: string) => {
      if (!Number.isInteger(v) || v < lo || v > hi) throw errors.validationError(`${name} must be from ${lo} to ${hi}.`);
    };
    within(next.intervalSeconds, 5, 300, 'HealthCheckIntervalSeconds');
    within(next.timeoutSeconds, 2, 120, 'HealthCheckTimeoutSeconds');
    within(next.healthyThreshold, 2, 10, 'HealthyThresholdCount');
    within(next.unhealthyThreshold, 2, 10, 'UnhealthyThresholdCount');
    if (next.timeoutSeconds >= next.intervalSeconds) throw errors.validationError('The health check timeout must be smaller than the interval.');
    return next;
  }

  async targetGroups(accountId: string, by: { arns?: string[]; names?: string[]; ids?: string[]; loadBalancerArn?: string } = {}): Promise<TargetGroupRow[]> {
    const q = this.db('target_groups').where('account_id', accountId).orderBy('created_at');
    const ids = by.ids ?? by.arns?.map((a) => this.idOf(accountId, a, 'targetgroup') ?? '');
    if (ids?.length) q.whereIn('id', ids);
    if (by.names?.length) q.whereIn('name', by.names);
    const rows: TargetGroupRow[] = await q.select('*');
    const wanted = by.arns ?? by.names ?? by.ids;
    if (wanted?.length && rows.length < new Set(wanted).size) throw errors.targetGroupNotFound('One or more target groups not found');
    const users = await this.groupUsers(accountId);
    const balancers = users.size ? await this.db('load_balancers').where('account_id', accountId).select('id', 'name', 'type', 'account_id') : [];
    for (const r of rows) {
      r.load_balancer_ids = [...(users.get(this.tgArn(r)) ?? [])];
      r.load_balancer_arns = r.load_balancer_ids.map((id) => this.lbArn(balancers.find((b) => b.id === id)));
    }
    if (by.loadBalancerArn) {
      const lb = await this.loadBalancer(accountId, by.loadBalancerArn);
      return rows.filter((r) => r.load_balancer_ids!.includes(lb.id));
    }
    return rows;
  }

  async targetGroup(accountId: string, arn: string): Promise<TargetGroupRow> {
    return (await this.targetGroups(accountId, { arns: [arn] }))[0];
  }

  /** Target group ARN → the load balancers whose listeners or rules forward to it. */
  private async groupUsers(accountId: string): Promise<Map<string, Set<string>>> {
    const listeners: ListenerRow[] = await this.db('listeners').where('account_id', accountId).select('*');
    const rules: (RuleRow & { load_balancer_id: string })[] = await this.db('listener_rules as r')
      .join('listeners as l', 'l.id', 'r.listener_id')
      .where('r.account_id', accountId)
      .select('r.*', 'l.load_balancer_id');
    const out = new Map<string, Set<string>>();
    const add = (actions: LbAction[], lbId: string) => {
      for (const arn of forwardTargets(actions)) out.set(arn, new Set([...(out.get(arn) ?? []), lbId]));
    };
    for (const l of listeners) add(l.default_actions, l.load_balancer_id);
    for (const r of rules) add(r.actions, r.load_balancer_id);
    return out;
  }

  async modifyTargetGroup(accountId: string, arn: string, change: Partial<HealthCheck>): Promise<TargetGroupRow> {
    const tg = await this.targetGroup(accountId, arn);
    const healthCheck = this.healthCheck(tg.protocol, change, tg.health_check);
    await this.db('target_groups').where('id', tg.id).update({ health_check: healthCheck });
    changeSignal.raise();
    return this.targetGroup(accountId, arn);
  }

  async deleteTargetGroup(accountId: string, arn: string): Promise<void> {
    const id = this.idOf(accountId, arn, 'targetgroup');
    const tg = id ? await this.db('target_groups').where({ account_id: accountId, id }).first() : undefined;
    if (!tg) return;
    if ((await this.groupUsers(accountId)).has(arn)) throw errors.resourceInUse(`Target group '${arn}' is currently in use by a listener or a rule`);
    await this.db.transaction(async (trx) => {
      await trx('elb_tags').where('resource_id', id).delete();
      await trx('target_groups').where('id', id).delete();
    });
    changeSignal.raise();
  }

  tgAttributes(tg: TargetGroupRow): Record<string, string> {
    return { ...TG_ATTRIBUTES, ...tg.attributes };
  }

  async modifyTargetGroupAttributes(accountId: string, arn: string, changes: { Key?: string; Value?: string }[]): Promise<Record<string, string>> {
    const tg = await this.targetGroup(accountId, arn);
    const next = mergeAttributes(TG_ATTRIBUTES, tg.attributes, changes, 'target group');
    const delay = Number(next['deregistration_delay.timeout_seconds'] ?? 300);
    if (!Number.isInteger(delay) || delay < 0 || delay > 3600) throw errors.validationError('deregistration_delay.timeout_seconds must be from 0 to 3600.');
    await this.db('target_groups').where('id', tg.id).update({ attributes: next });
    return { ...TG_ATTRIBUTES, ...next };
  }

  // ---------------------------------------------------------------------------------------------------- targets

  async registerTargets(accountId: string, arn: string, targets: { Id?: string; Port?: number }[]): Promise<void> {
    const tg = await this.targetGroup(accountId, arn);
    const rows: Omit<TargetRow, 'draining_until'>[] = [];
    for (const t of targets) {
      if (!t.Id) throw errors.validationError('A target ID must be specified');
      const port = t.Port ?? tg.port;
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw errors.validationError(`Port ${port} is not valid.`);
      if (tg.target_type === 'instance') {
        const instance = await this.db('instances as i')
          .leftJoin('subnets as s', 's.id', 'i.subnet_id')
          .where({ 'i.account_id': accountId, 'i.id': t.Id })
          .whereNot('i.state', 'terminated')
          .first('i.id', 's.vpc_id');
        if (!instance) throw errors.invalidTarget(`The following targets are not valid instances: '${t.Id}'`);
        if (instance.vpc_id !== tg.vpc_id) throw errors.invalidTarget(`The following targets are not in the target group VPC '${tg.vpc_id}': '${t.Id}'`);
      } else {
        const inside = await this.db('vpcs')
          .where('id', tg.vpc_id)
          .first(this.db.raw('?::inet <<= cidr as inside', [t.Id]))
          .catch(() => undefined);
        if (!inside?.inside) throw errors.invalidTarget(`The IP address '${t.Id}' is not within the target group's VPC CIDR`);
      }
      rows.push({ target_group_id: tg.id, target_id: t.Id, port, registered_at: new Date() });
    }
    await this.db.transaction(async (trx) => {
      await trx('lb_targets')
        .insert(rows.map((r) => ({ ...r, draining_until: null })))
        .onConflict(['target_group_id', 'target_id', 'port'])
        .merge(['draining_until']);
      const [{ n }] = await trx('lb_targets').where('target_group_id', tg.id).count<{ n: string }[]>('* as n');
      if (Number(n) > this.limits.targetsPerGroup) throw errors.tooManyTargets(`A target group holds at most ${this.limits.targetsPerGroup} targets`);
    });
    changeSignal.raise();
  }

  /** Deregistered targets drain (no new connections) for the group's deregistration delay, then go. */
  async deregisterTargets(accountId: string, arn: string, targets: { Id?: string; Port?: number }[]): Promise<void> {
    const tg = await this.targetGroup(accountId, arn);
    const delay = Number(this.tgAttributes(tg)['deregistration_delay.timeout_seconds']);
    for (const t of targets) {
      const q = this.db('lb_targets')
        .where({ target_group_id: tg.id, target_id: t.Id ?? '' })
        .whereNull('draining_until');
      if (t.Port !== undefined) q.where('port', t.Port);
      const n = await q.update({ draining_until: this.db.raw(`now() + make_interval(secs => ?)`, [delay]) });
      if (
        !n &&
        !(await this.db('lb_targets')
          .where({ target_group_id: tg.id, target_id: t.Id ?? '' })
          .first())
      )
        throw errors.invalidTarget(`The following targets are not registered in target group: '${t.Id}'`);
    }
    changeSignal.raise();
  }

  /** Targets whose drain is over leave their group; returns whether any did. */
  async forgetDrained(): Promise<boolean> {
    return (await this.db('lb_targets').where('draining_until', '<=', this.db.fn.now()).delete()) > 0;
  }

  async targetHealth(
    accountId: string,
    arn: string,
    asked: { Id?: string; Port?: number }[] | undefined,
    probe: (lbId: string, tgId: string, key: string) => TargetProbe | undefined,
  ): Promise<TargetHealthView[]> {
    const tg = await this.targetGroup(accountId, arn);
    const rows: (TargetRow & { state: string | null; zone: string | null })[] = await this.db('lb_targets as t')
      .leftJoin('instances as i', 'i.id', 't.target_id')
      .where('t.target_group_id', tg.id)
      .orderBy(['t.registered_at', 't.target_id'])
      .select('t.*', 'i.state', 'i.availability_zone as zone');
    const healthPort = (port: number) => (tg.health_check.port === 'traffic-port' ? String(port) : tg.health_check.port);
    const views: TargetHealthView[] = [];
    const wanted = asked?.length ? asked : rows.map((r) => ({ Id: r.target_id, Port: r.port }));
    for (const w of wanted) {
      const r = rows.find((x) => x.target_id === w.Id && (w.Port === undefined || x.port === w.Port));
      if (!r) {
        views.push({
          id: w.Id ?? '',
          port: w.Port ?? tg.port,
          state: 'unused',
          reason: 'Target.NotRegistered',
          description: 'Target is not registered to the target group',
          healthCheckPort: healthPort(w.Port ?? tg.port),
        });
        continue;
      }
      const base = { id: r.target_id, port: r.port, zone: r.zone ?? undefined, healthCheckPort: healthPort(r.port) };
      if (r.draining_until) {
        views.push({ ...base, state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' });
      } else if (!tg.load_balancer_ids!.length) {
        views.push({
          ...base,
          state: 'unused',
          reason: 'Target.NotInUse',
          description: 'Target group is not configured to receive traffic from the load balancer',
        });
      } else if (tg.target_type === 'instance' && r.state !== 'running') {
        views.push({ ...base, state: 'unused', reason: 'Target.InvalidState', description: `Target is in the ${r.state ?? 'terminated'} state` });
      } else if (!tg.health_check.enabled) {
        views.push({ ...base, state: 'unavailable', reason: 'Target.HealthCheckDisabled', description: 'Health checks are disabled' });
      } else {
        const p = probe(tg.load_balancer_ids![0], tg.id, targetKey(r.target_id, r.port));
        views.push({ ...base, ...healthOf(p) });
      }
    }
    return views;
  }

  // -------------------------------------------------------------------------------------------------- listeners

  private async checkActions(accountId: string, lb: LoadBalancerRow, protocol: string, actions: LbAction[]): Promise<LbAction[]> {
    if (!actions.length) throw errors.validationError('At least one action must be specified');
    const terminal = actions.filter((a) => ['forward', 'fixed-response', 'redirect'].includes(a.Type));
    if (terminal.length !== 1 || actions.length !== 1)
      throw errors.validationError('Exactly one action (forward, fixed-response or redirect) must be specified; authentication actions are not supported.');
    const action = { ...actions[0] };
    if (action.Type === 'forward') {
      const arns = forwardTargets([action]);
      if (!arns.length) throw errors.validationError('A target group ARN must be specified for a forward action');
      if (new Set(arns).size > 1) throw errors.validationError('Forwarding to several target groups is not supported here: give one.');
      const tg = await this.targetGroup(accountId, arns[0]);
      if (tg.vpc_id !== lb.vpc_id) throw errors.validationError(`Target group '${arns[0]}' is not in the load balancer's VPC`);
      const wantsHttp = protocol === 'HTTP';
      if (wantsHttp !== (tg.protocol === 'HTTP'))
        throw errors.invalidConfigurationRequest(`The listener protocol '${protocol}' is not compatible with the target group protocol '${tg.protocol}'`);
      const users = tg.load_balancer_ids!.filter((id) => id !== lb.id);
      if (users.length) throw errors.targetGroupAssociationLimit(`The target group '${arns[0]}' is already used by another load balancer`);
    } else if (lb.type === 'network') {
      throw errors.validationError(`Action type '${action.Type}' is for application load balancers only`);
    } else if (action.Type === 'fixed-response') {
      const code = action.FixedResponseConfig?.StatusCode ?? '';
      if (!/^[2-5]\d\d$/.test(code)) throw errors.validationError(`Fixed-response status code '${code}' must be 2XX, 4XX or 5XX.`);
      if ((action.FixedResponseConfig?.MessageBody ?? '').length > 1024) throw errors.validationError('The fixed response body is at most 1024 characters.');
    } else {
      const code = action.RedirectConfig?.StatusCode ?? '';
      if (!['HTTP_301', 'HTTP_302'].includes(code)) throw errors.validationError(`Redirect status code '${code}' must be HTTP_301 or HTTP_302.`);
    }
    action.Order ??= 1;
    return [action];
  }

  async createListener(
    accountId: string,
    req: { loadBalancerArn: string; protocol?: string; port?: number; defaultActions: LbAction[]; tags: { key: string; value: string }[] },
  ): Promise<ListenerRow> {
    const lb = await this.loadBalancer(accountId, req.loadBalancerArn);
    const protocol = req.protocol || (lb.type === 'application' ? 'HTTP' : 'TCP');
    if (lb.type === 'application' && protocol !== 'HTTP')
      throw errors.unsupportedProtocol(`Protocol '${protocol}' is not supported here for application load balancers: use HTTP (no certificates).`);
    if (lb.type === 'network' && protocol !== 'TCP')
      throw errors.unsupportedProtocol(`Protocol '${protocol}' is not supported here for network load balancers: use TCP.`);
    if (req.port === undefined || req.port < 1 || req.port > 65535) throw errors.validationError('A listener port from 1 to 65535 must be specified');
    const actions = await this.checkActions(accountId, lb, protocol, req.defaultActions);
    const id = hex16();
    await this.db.transaction(async (trx) => {
      if (await trx('listeners').where({ load_balancer_id: lb.id, port: req.port }).first('id'))
        throw errors.duplicateListener('A listener already exists on this port for this load balancer');
      const [{ n }] = await trx('listeners').where('load_balancer_id', lb.id).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.limits.listenersPerLoadBalancer)
        throw errors.tooManyListeners(`A load balancer has at most ${this.limits.listenersPerLoadBalancer} listeners`);
      await trx('listeners').insert({ id, account_id: accountId, load_balancer_id: lb.id, protocol, port: req.port, default_actions: JSON.stringify(actions) });
      await this.insertTags(trx, accountId, [id], req.tags);
    });
    changeSignal.raise();
    return (await this.listeners(accountId, { ids: [id] }))[0];
  }

  async listeners(accountId: string, by: { loadBalancerArn?: string; arns?: string[]; ids?: string[] }): Promise<ListenerRow[]> {
    const q = this.db('listeners').where('account_id', accountId).orderBy('port');
    if (by.loadBalancerArn) q.where('load_balancer_id', (await this.loadBalancer(accountId, by.loadBalancerArn)).id);
    const ids = by.ids ?? by.arns?.map((a) => this.idOf(accountId, a, 'listener') ?? '');
    if (ids?.length) q.whereIn('id', ids);
    const rows: ListenerRow[] = await q.select('*');
    if (ids?.length && rows.length < new Set(ids).size) throw errors.listenerNotFound('One or more listeners not found');
    return rows;
  }

  async listener(accountId: string, arn: string): Promise<{ listener: ListenerRow; lb: LoadBalancerRow }> {
    const [listener] = await this.listeners(accountId, { arns: [arn] });
    const [lb] = await this.loadBalancers(accountId, { ids: [listener.load_balancer_id] });
    return { listener, lb };
  }

  async modifyListener(accountId: string, arn: string, change: { port?: number; protocol?: string; defaultActions?: LbAction[] }): Promise<ListenerRow> {
    const { listener, lb } = await this.listener(accountId, arn);
    const protocol = change.protocol || listener.protocol;
    if (protocol !== listener.protocol) throw errors.unsupportedProtocol(`A listener keeps its protocol (${listener.protocol}) here.`);
    const update: Record<string, unknown> = {};
    if (change.port !== undefined && change.port !== listener.port) {
      if (change.port < 1 || change.port > 65535) throw errors.validationError('The listener port must be from 1 to 65535');
      if (await this.db('listeners').where({ load_balancer_id: lb.id, port: change.port }).first('id'))
        throw errors.duplicateListener('A listener already exists on this port for this load balancer');
      update.port = change.port;
    }
    if (change.defaultActions?.length) update.default_actions = JSON.stringify(await this.checkActions(accountId, lb, protocol, change.defaultActions));
    if (Object.keys(update).length) await this.db('listeners').where('id', listener.id).update(update);
    changeSignal.raise();
    return (await this.listeners(accountId, { ids: [listener.id] }))[0];
  }

  async deleteListener(accountId: string, arn: string): Promise<void> {
    const { listener } = await this.listener(accountId, arn);
    const rules = await this.db('listener_rules').where('listener_id', listener.id).pluck('id');
    await this.db.transaction(async (trx) => {
      await trx('elb_tags')
        .whereIn('resource_id', [listener.id, ...rules])
        .delete();
      await trx('listeners').where('id', listener.id).delete();
    });
    changeSignal.raise();
  }

  listenerAttributes(listener: ListenerRow): Record<string, string> {
    return { ...LISTENER_ATTRIBUTES, ...listener.attributes };
  }

  async modifyListenerAttributes(accountId: string, arn: string, changes: { Key?: string; Value?: string }[]): Promise<Record<string, string>> {
    const { listener } = await this.listener(accountId, arn);
    const next = mergeAttributes(LISTENER_ATTRIBUTES, listener.attributes, changes, 'listener');
    await this.db('listeners').where('id', listener.id).update({ attributes: next });
    return { ...LISTENER_ATTRIBUTES, ...next };
  }

  // ------------------------------------------------------------------------------------------------------ rules

  private checkConditions(conditions: LbCondition[]): LbCondition[] {
    if (!conditions.length) throw errors.validationError('At least one condition must be specified');
    return conditions.map((c) => {
      const field = c.Field ?? '';
      if (field !== 'path-pattern' && field !== 'host-header')
        throw errors.validationError(`Condition field '${field}' is not supported here: use path-pattern or host-header.`);
      const values = [...(c.Values ?? []), ...((field === 'path-pattern' ? c.PathPatternConfig : c.HostHeaderConfig)?.Values ?? [])];
      if (!values.length) throw errors.validationError(`A ${field} condition needs at least one value`);
      if (values.some((v) => v.length > 128 || /[\s"\\]/.test(v)))
        throw errors.validationError(`A ${field} value is at most 128 characters, without spaces, quotes or backslashes`);
      return field === 'path-pattern' ? { Field: field, PathPatternConfig: { Values: values } } : { Field: field, HostHeaderConfig: { Values: values } };
    });
  }

  async createRule(
    accountId: string,
    req: { listenerArn: string; priority?: number; conditions: LbCondition[]; actions: LbAction[]; tags: { key: string; value: string }[] },
  ): Promise<RuleRow> {
    const { listener, lb } = await this.listener(accountId, req.listenerArn);
    if (lb.type !== 'application') throw errors.validationError('Rules are for the listeners of application load balancers');
    if (req.priority === undefined || req.priority < 1 || req.priority > 50000) throw errors.validationError('A priority from 1 to 50000 must be specified');
    const conditions = this.checkConditions(req.conditions);
    const actions = await this.checkActions(accountId, lb, listener.protocol, req.actions);
    const id = hex16();
    await this.db.transaction(async (trx) => {
      if (await trx('listener_rules').where({ listener_id: listener.id, priority: req.priority }).first('id'))
        throw errors.priorityInUse(`Priority '${req.priority}' is currently in use`);
      const [{ n }] = await trx('listener_rules').where('listener_id', listener.id).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.limits.rulesPerListener) throw errors.tooManyRules(`A listener has at most ${this.limits.rulesPerListener} rules`);
      await trx('listener_rules').insert({
        id,
        account_id: accountId,
        listener_id: listener.id,
        priority: req.priority,
        conditions: JSON.stringify(conditions),
        actions: JSON.stringify(actions),
      });
      await this.insertTags(trx, accountId, [id], req.tags);
    });
    changeSignal.raise();
    return (await this.db('listener_rules').where('id', id).first()) as RuleRow;
  }

  /**
   * The rules of a listener, or those named, each with its listener and load balancer; a listener's default rule
   * (its default actions, `rule` null) comes after its numbered ones.
   */
  async rules(
    accountId: string,
    by: { listenerArn?: string; arns?: string[] },
  ): Promise<{ rule: RuleRow | null; listener: ListenerRow; lb: LoadBalancerRow }[]> {
    let listeners: ListenerRow[];
    let rules: RuleRow[];
    let defaults: Set<string>;
    if (by.listenerArn) {
      listeners = await this.listeners(accountId, { arns: [by.listenerArn] });
      rules = await this.db('listener_rules').where('listener_id', listeners[0].id).orderBy('priority');
      defaults = new Set([listeners[0].id]);
    } else {
      const ids = [...new Set((by.arns ?? []).map((a) => this.idOf(accountId, a, 'listener-rule') ?? ''))];
      const explicit = ids.filter((i) => !i.startsWith('default-'));
      defaults = new Set(ids.filter((i) => i.startsWith('default-')).map((i) => i.slice('default-'.length)));
      rules = explicit.length ? await this.db('listener_rules').where('account_id', accountId).whereIn('id', explicit).orderBy('priority') : [];
      const wanted = [...new Set([...rules.map((r) => r.listener_id), ...defaults])];
      listeners = wanted.length ? await this.db('listeners').where('account_id', accountId).whereIn('id', wanted) : [];
      if (rules.length < explicit.length || [...defaults].some((d) => !listeners.some((l) => l.id === d)))
        throw errors.listenerRuleNotFound('One or more rules not found');
    }
    const lbs = new Map((await this.loadBalancers(accountId)).map((l) => [l.id, l]));
    const out: { rule: RuleRow | null; listener: ListenerRow; lb: LoadBalancerRow }[] = [];
    for (const listener of listeners) {
      const lb = lbs.get(listener.load_balancer_id)!;
      for (const rule of rules.filter((r) => r.listener_id === listener.id)) out.push({ rule, listener, lb });
      if (defaults.has(listener.id)) out.push({ rule: null, listener, lb });
    }
    return out;
  }

  async modifyRule(accountId: string, arn: string, change: { conditions?: LbCondition[]; actions?: LbAction[] }): Promise<void> {
    const id = this.idOf(accountId, arn, 'listener-rule');
    const rule: RuleRow | undefined = id ? await this.db('listener_rules').where({ account_id: accountId, id }).first() : undefined;
    if (!rule) throw errors.listenerRuleNotFound('One or more rules not found');
    const { listener, lb } = await this.listener(accountId, arn.replace(/^(.*):listener-rule\/(.*)\/[0-9a-f]+$/, '$1:listener/$2'));
    const update: Record<string, string> = {};
    if (change.conditions?.length) update.conditions = JSON.stringify(this.checkConditions(change.conditions));
    if (change.actions?.length) update.actions = JSON.stringify(await this.checkActions(accountId, lb, listener.protocol, change.actions));
    if (Object.keys(update).length) await this.db('listener_rules').where('id', rule.id).update(update);
    changeSignal.raise();
  }

  async deleteRule(accountId: string, arn: string): Promise<void> {
    const id = this.idOf(accountId, arn, 'listener-rule');
    if (id?.startsWith('default-')) throw errors.operationNotPermitted('A default rule cannot be deleted');
    const n = id ? await this.db('listener_rules').where({ account_id: accountId, id }).delete() : 0;
    if (!n) throw errors.listenerRuleNotFound('One or more rules not found');
    await this.db('elb_tags').where('resource_id', id).delete();
    changeSignal.raise();
  }

  // ------------------------------------------------------------------------------------------------------- tags

  private async insertTags(trx: Knex, accountId: string, ids: string[], tags: { key: string; value: string }[]): Promise<void> {
    if (!tags.length) return;
    await trx('elb_tags')
      .insert(ids.flatMap((id) => tags.map((t) => ({ resource_id: id, account_id: accountId, key: t.key, value: t.value }))))
      .onConflict(['resource_id', 'key'])
      .merge(['value']);
    for (const id of ids) {
      const [{ n }] = await trx('elb_tags').where('resource_id', id).count<{ n: string }[]>('* as n');
      if (Number(n) > this.limits.tagsPerResource) throw errors.tooManyTags(`A resource has at most ${this.limits.tagsPerResource} tags`);
    }
  }

  /** The row id an ARN names, checking that the caller owns it (any ELBv2 kind). */
  private async ownedId(accountId: string, arn: string): Promise<string> {
    const kind = /:(loadbalancer|targetgroup|listener-rule|listener)\//.exec(arn)?.[1] as
      'loadbalancer' | 'targetgroup' | 'listener' | 'listener-rule' | undefined;
    if (!kind) throw errors.validationError(`'${arn.slice(0, 300)}' is not a valid ARN`);
    const id = this.idOf(accountId, arn, kind);
    const table = { loadbalancer: 'load_balancers', targetgroup: 'target_groups', listener: 'listeners', 'listener-rule': 'listener_rules' }[kind];
    const found = id && (await this.db(table).where({ account_id: accountId, id }).first('id'));
    if (!found) {
      const notFound = {
        loadbalancer: errors.loadBalancerNotFound,
        targetgroup: errors.targetGroupNotFound,
        listener: errors.listenerNotFound,
        'listener-rule': errors.listenerRuleNotFound,
      }[kind];
      throw notFound(`The resource '${arn.slice(0, 300)}' was not found`);
    }
    return id;
  }

  async addTags(accountId: string, arns: string[], tags: { key: string; value: string }[]): Promise<void> {
    const ids: string[] = [];
    for (const arn of arns) ids.push(await this.ownedId(accountId, arn));
    await this.db.transaction((trx) => this.insertTags(trx, accountId, ids, tags));
  }

  async removeTags(accountId: string, arns: string[], keys: string[]): Promise<void> {
    for (const arn of arns) {
      const id = await this.ownedId(accountId, arn);
      await this.db('elb_tags').where('resource_id', id).whereIn('key', keys).delete();
    }
  }

  async tagsOf(accountId: string, arns: string[]): Promise<{ arn: string; tags: { Key: string; Value: string }[] }[]> {
    const out = [];
    for (const arn of arns) {
      const id = await this.ownedId(accountId, arn);
      const rows = await this.db('elb_tags').where('resource_id', id).orderBy('key');
      out.push({ arn, tags: rows.map((r) => ({ Key: r.key, Value: r.value })) });
    }
    return out;
  }

  limitsView(): { name: string; max: number }[] {
    return [
      { name: 'application-load-balancers', max: this.limits.loadBalancers },
      { name: 'network-load-balancers', max: this.limits.loadBalancers },
      { name: 'target-groups', max: this.limits.targetGroups },
      { name: 'listeners-per-application-load-balancer', max: this.limits.listenersPerLoadBalancer },
      { name: 'listeners-per-network-load-balancer', max: this.limits.listenersPerLoadBalancer },
      { name: 'rules-per-application-load-balancer', max: this.limits.rulesPerListener },
      { name: 'targets-per-application-load-balancer', max: this.limits.targetsPerGroup },
    ];
  }

  // --------------------------------------------------------------------------------------------- the data plane

  /** Every load balancer as its proxy must serve it, with the addresses of the targets it can reach. */
  async desired(): Promise<LoadBalancerSpec[]> {
    const lbs: LoadBalancerRow[] = await this.db('load_balancers as l')
      .whereNotNull('l.private_ip')
      .orderBy('l.created_at')
      .select(
        'l.*',
        this.db.raw('host(l.private_ip) as private_ip'),
        this.db.raw('(select host(e.public_ip) from elastic_ips e where e.load_balancer_id = l.id) as public_ip'),
      );
    if (!lbs.length) return [];
    const listeners: ListenerRow[] = await this.db('listeners')
      .whereIn(
        'load_balancer_id',
        lbs.map((l) => l.id),
      )
      .orderBy('port');
    const rules: RuleRow[] = listeners.length
      ? await this.db('listener_rules')
          .whereIn(
            'listener_id',
            listeners.map((l) => l.id),
          )
          .orderBy('priority')
      : [];
    const groups: TargetGroupRow[] = await this.db('target_groups').whereIn('account_id', [...new Set(lbs.map((l) => l.account_id))]);
    const targets: (TargetRow & { ip: string | null; state: string | null })[] = groups.length
      ? await this.db('lb_targets as t')
          .leftJoin('instances as i', 'i.id', 't.target_id')
          .whereIn(
            't.target_group_id',
            groups.map((g) => g.id),
          )
          .select('t.*', this.db.raw('host(i.private_ip) as ip'), 'i.state')
      : [];
    return lbs.map((lb) => {
      const own = listeners
        .filter((l) => l.load_balancer_id === lb.id)
        .map((listener) => ({ listener, rules: rules.filter((r) => r.listener_id === listener.id) }));
      const arns = new Set(
        own.flatMap(({ listener, rules: rs }) => [...forwardTargets(listener.default_actions), ...rs.flatMap((r) => forwardTargets(r.actions))]),
      );
      const used = groups.filter((g) => arns.has(this.tgArn(g)));
      return {
        lb,
        listeners: own,
        dnsName: this.dnsName(lb),
        publicIp: lb.public_ip ?? null,
        targetGroups: used.map((group) => ({
          group,
          servers: targets
            .filter((t) => t.target_group_id === group.id)
            .flatMap((t) => {
              const ip = group.target_type === 'ip' ? t.target_id : t.state === 'running' ? t.ip : null;
              return ip ? [{ key: targetKey(t.target_id, t.port), ip, port: t.port, draining: t.draining_until !== null }] : [];
            }),
        })),
      };
    });
  }
}

/** The target group ARNs a list of actions forwards to. */
export function forwardTargets(actions: LbAction[]): string[] {
  return actions
    .filter((a) => a.Type === 'forward')
    .flatMap((a) => [a.TargetGroupArn, ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn)])
    .filter((a): a is string => Boolean(a));
}

/** How a target is named in its proxy's backend. */
export function targetKey(targetId: string, port: number): string {
  return `${targetId.replace(/[^\w.-]/g, '_')}_${port}`;
}

/** ELB's health state from what HAProxy says of a target. */
function healthOf(p: TargetProbe | undefined): Pick<TargetHealthView, 'state' | 'reason' | 'description'> {
  if (!p || !p.checked) return { state: 'initial', reason: 'Elb.RegistrationInProgress', description: 'Target registration is in progress' };
  if (p.up) return { state: 'healthy' };
  if (p.check === 'L7STS')
    return { state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: `Health checks failed with these codes: [${p.code ?? ''}]` };
  if (p.check.endsWith('TOUT')) return { state: 'unhealthy', reason: 'Target.Timeout', description: 'Request timed out' };
  return { state: 'unhealthy', reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };
}
