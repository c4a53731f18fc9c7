/**
 * Brings the HAProxy of every load balancer in line with the state (LoadBalancers.desired): its port in the VPC is
 * readied by the network sync like an instance's (bridge, router, packet filter, its security groups), its proxy
 * configured and reloaded when that changes, and what HAProxy's checks say of each target is kept for
 * DescribeTargetHealth. Proxies of deleted load balancers are stopped and their namespaces removed. Runs on the
 * leader, every second and at once on a change; each load balancer's DNS name is written to this machine's hosts
 * file, so that it resolves here as it does inside its VPC.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../log';
import { compileHaproxy, type ProxyAction, type ProxyHost, type ProxyModel, type ServerStat } from '../adapters/haproxy';
import { hostPortName } from '../adapters/libvirt';
import type { ComputeNode } from '../adapters/compute-node';
import { changeSignal } from './change-signal';
import { globToRegex, matcherRegex, type LbAction, type LoadBalancerSpec, type LoadBalancers, type TargetProbe } from './load-balancers';
import { LOAD_BALANCER_PORT_PREFIX } from './network-state';
import type { InterfacePlan, NetworkSync } from './network-sync';

const SYNC_INTERVAL_MS = 1000;
const HOSTS_BEGIN = '# oarcloud load balancers: begin (written by the API server)';
const HOSTS_END = '# oarcloud load balancers: end';

/** The proxy model of one load balancer: a frontend per listener, a backend per target group it uses. */
export function proxyModel(spec: LoadBalancerSpec, tgArn: (g: LoadBalancerSpec['targetGroups'][number]['group']) => string): ProxyModel {
  const backendOf = new Map(spec.targetGroups.map(({ group }) => [tgArn(group), `tg_${group.id}`]));
  const action = (actions: LbAction[]): ProxyAction => {
    const a = actions[0];
    if (a.Type === 'fixed-response') {
      const c = a.FixedResponseConfig!;
      return { kind: 'fixed', status: Number(c.StatusCode), contentType: c.ContentType || 'text/plain', body: c.MessageBody ?? '' };
    }
    if (a.Type === 'redirect') {
      const c = a.RedirectConfig!;
      const protocol = !c.Protocol || c.Protocol === '#{protocol}' ? 'http' : c.Protocol.toLowerCase();
      const expand = (s: string) =>
        s
          .replaceAll('#{host}', '%[req.hdr(host),field(1,:)]')
          .replaceAll('#{port}', '%[dst_port]')
          .replaceAll('/#{path}', '%[path]')
          .replaceAll('#{path}', '%[path,regsub(^/,)]')
          .replaceAll('#{query}', '%[query]')
          .replaceAll('#{protocol}', protocol);
      const port = expand(c.Port || '#{port}');
      const query = c.Query === undefined ? '#{query}' : c.Query;
      const location = `${protocol}://${expand(c.Host || '#{host}')}:${port}${expand(c.Path || '/#{path}')}${query ? `?${expand(query)}` : ''}`;
      return { kind: 'redirect', location, code: c.StatusCode === 'HTTP_302' ? 302 : 301 };
    }
    const arn = a.TargetGroupArn ?? a.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn ?? '';
    return { kind: 'forward', backend: backendOf.get(arn) ?? 'tg_missing' };
  };
  const attributes = { 'idle_timeout.timeout_seconds': '60', ...spec.lb.attributes };
  return {
    address: spec.lb.private_ip!,
    idleTimeoutSeconds: spec.lb.type === 'network' ? 350 : Number(attributes['idle_timeout.timeout_seconds']) || 60,
    frontends: spec.listeners.map(({ listener, rules }) => ({
      name: `listener_${listener.id}`,
      port: listener.port,
      mode: listener.protocol === 'HTTP' ? 'http' : 'tcp',
      rules: rules.map((r) => ({
        hosts: r.conditions.flatMap((c) => c.HostHeaderConfig?.Values ?? []).map(globToRegex),
        paths: r.conditions.flatMap((c) => c.PathPatternConfig?.Values ?? []).map(globToRegex),
        action: action(r.actions),
      })),
      fallback: action(listener.default_actions),
    })),
    backends: [
      ...spec.targetGroups.map(({ group, servers }) => {
        const hc = group.health_check;
        return {
          name: `tg_${group.id}`,
          mode: group.protocol === 'HTTP' ? ('http' as const) : ('tcp' as const),
          check: hc.enabled
            ? {
                http: hc.protocol === 'HTTP',
                path: hc.path ?? '/',
                expect: matcherRegex(hc.matcher ?? '200'),
                port: hc.port === 'traffic-port' ? null : Number(hc.port),
                intervalSeconds: hc.intervalSeconds,
                timeoutSeconds: hc.timeoutSeconds,
                rise: hc.healthyThreshold,
                fall: hc.unhealthyThreshold,
              }
            : null,
          servers: servers.map((s) => ({ name: s.key, ip: s.ip, port: s.port, draining: s.draining })),
        };
      }),
      // a forward to a group that is gone answers 503 rather than failing the whole configuration
      { name: 'tg_missing', mode: 'http' as const, check: null, servers: [] },
    ],
  };
}

export class LoadBalancerSync {
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private running: Promise<void> = Promise.resolve();
  /** The pass asked for last, with its outcome (what callers of sync() get). */
  private queued: Promise<void> = Promise.resolve();
  private pending = false;
  /** Per load balancer, where its port is (its subnet's gateway and prefix), once the network sync readied it. */
  private readonly plans = new Map<string, InterfacePlan>();
  /** Per load balancer, what HAProxy last said of each backend's servers. */
  private readonly stats = new Map<string, Map<string, Map<string, ServerStat>>>();

  constructor(
    private readonly balancers: LoadBalancers,
    private readonly network: NetworkSync,
    private readonly host: ProxyHost,
    private readonly local: () => ComputeNode,
    private readonly options: { mtu: number; hostsFile: string },
    private readonly log: Logger,
  ) {}

  start(): void {
    const kick = () => void this.sync().catch((err) => this.log.warn({ err: String(err?.message ?? err) }, 'load balancers not updated'));
    this.timer = setInterval(kick, SYNC_INTERVAL_MS);
    this.unsubscribe = changeSignal.onChange(kick);
    kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.running;
  }

  /**
   * One pass at a time; a call during a pass asks for one more after it. The caller gets the pass's failure; the chain
   * itself never rejects, so that one failed pass (the database restarting) neither stops the next ones nor fails
   * stop().
   */
  sync(): Promise<void> {
    if (this.pending) return this.queued;
    this.pending = true;
    this.queued = this.running.then(async () => {
      this.pending = false;
      await this.pass();
    });
    this.running = this.queued.catch(() => undefined);
    return this.queued;
  }

  /** What HAProxy's checks say of a target of a group behind a load balancer (undefined: not known yet). */
  probe(lbId: string, tgId: string, key: string): TargetProbe | undefined {
    const s = this.stats.get(lbId)?.get(`tg_${tgId}`)?.get(key);
    if (!s) return undefined;
    const checked = s.check !== '' && !s.check.startsWith('INI') && s.check !== '* INI';
    return { checked, up: s.status.startsWith('UP') || s.status === 'NOLB', check: s.check.replace(/^\* /, ''), code: s.code };
  }

  private async pass(): Promise<void> {
    if (await this.balancers.forgetDrained()) changeSignal.raise();
    const specs = await this.balancers.desired();
    const node = this.local();
    for (const spec of specs) {
      const { lb } = spec;
      const port = `${LOAD_BALANCER_PORT_PREFIX}${lb.id}`;
      try {
        // the first time (or after a failure) the network sync readies its port; then its regular passes keep it
        let plan = this.plans.get(lb.id);
        if (!plan) {
          plan = await this.network.prepare(port, node);
          this.network.placed(port);
          this.plans.set(lb.id, plan);
        }
        if (plan.network === 'shared') throw new Error('a load balancer needs a VPC subnet');
        const model = proxyModel(spec, (g) => this.balancers.tgArn(g));
        const config = spec.listeners.length ? compileHaproxy(model, this.host.statsSocket(lb.id)) : null;
        await this.host.apply(
          {
            id: lb.id,
            hostPort: hostPortName(port),
            bridge: node.bridgeOf(plan.network),
            ip: lb.private_ip!,
            prefix: plan.prefix,
            mac: lb.mac,
            gateway: plan.gateway,
            mtu: this.options.mtu,
          },
          config,
        );
        this.stats.set(lb.id, await this.host.stats(lb.id));
        await this.balancers.setState(lb.id, 'active');
      } catch (err: any) {
        this.plans.delete(lb.id);
        this.log.warn({ loadBalancer: lb.id, err: String(err?.message ?? err) }, 'load balancer not set up');
        await this.balancers.setState(lb.id, lb.state === 'active' ? 'active' : 'provisioning', String(err?.message ?? err).slice(0, 500));
      }
    }
    const wanted = new Set(specs.map((s) => s.lb.id));
    // files carry the whole id, namespaces its first 12 characters
    const files = await this.host.list();
    const orphans = (await this.host.namespaces()).map((ns) => ns.slice(3)).filter((short) => !files.some((f) => f.startsWith(short)));
    for (const id of [...files, ...orphans]) {
      if ([...wanted].some((w) => w === id || w.startsWith(id))) continue;
      await this.host.remove(id);
      this.stats.delete(id);
      this.log.info({ loadBalancer: id }, 'load balancer removed');
    }
    for (const id of [...this.plans.keys(), ...this.stats.keys()])
      if (!wanted.has(id)) {
        this.plans.delete(id);
        this.stats.delete(id);
      }
    this.writeHosts(specs.map((s) => ({ name: s.dnsName, ip: (s.lb.scheme === 'internet-facing' && s.publicIp) || s.lb.private_ip! })));
  }

  /** This machine resolves each load balancer's name: internet-facing ones to their public address. */
  private writeHosts(entries: { name: string; ip: string }[]): void {
    let text = '';
    try {
      text = readFileSync(this.options.hostsFile, 'utf8');
    } catch {
      return;
    }
    const start = text.indexOf(HOSTS_BEGIN);
    const end = text.indexOf(HOSTS_END);
    const kept = start >= 0 && end > start ? text.slice(0, start) + text.slice(end + HOSTS_END.length + 1) : text;
    const block = entries.length ? [HOSTS_BEGIN, ...entries.map((e) => `${e.ip} ${e.name}`), HOSTS_END, ''].join('\n') : '';
    const next = (kept.endsWith('\n') || !kept ? kept : `${kept}\n`) + block;
    if (next !== text) writeFileSync(this.options.hostsFile, next);
  }
}
