/**
 * Load balancers as HAProxy processes on this machine, each in a network namespace of its own (`olb…`) whose
 * `eth0` is a veth on its VPC's bridge, with its own MAC and address, like an instance's port. HAProxy runs in
 * master-worker mode: a configuration change is checked (`haproxy -c`), then the master reloads on SIGUSR2, and the
 * old worker finishes the connections it holds. Target health is read from HAProxy's runtime API (`show stat` on
 * the stats socket). Knows HAProxy and Linux namespaces, nothing of ELB.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { run, runOk } from './exec';

export type ProxyAction =
  | { kind: 'forward'; backend: string }
  | { kind: 'fixed'; status: number; contentType: string; body: string }
  | { kind: 'redirect'; location: string; code: number };

export interface ProxyFrontend {
  name: string;
  port: number;
  mode: 'http' | 'tcp';
  /** In order: the first whose conditions all hold decides (host and path patterns are regexes). */
  rules: { hosts: string[]; paths: string[]; action: ProxyAction }[];
  fallback: ProxyAction;
}

export interface ProxyBackend {
  name: string;
  mode: 'http' | 'tcp';
  check: {
    http: boolean;
    path: string;
    expect: string;
    port: number | null;
    intervalSeconds: number;
    timeoutSeconds: number;
    rise: number;
    fall: number;
  } | null;
  /** `draining`: no new connections (weight 0), the open ones go on. */
  servers: { name: string; ip: string; port: number; draining: boolean }[];
}

export interface ProxyModel {
  address: string;
  idleTimeoutSeconds: number;
  frontends: ProxyFrontend[];
  backends: ProxyBackend[];
}

/** A double-quoted HAProxy string: backslash, quote and `$` (environment variables) escaped. */
const quote = (s: string) => `"${s.replace(/[\\"$]/g, '\\$&')}"`;

function actionLines(a: ProxyAction, condition: string): string[] {
  const when = condition ? ` if ${condition}` : '';
  switch (a.kind) {
    case 'forward':
      return [`    http-request set-var(txn.backend) str(${a.backend})${when}`];
    case 'fixed':
      return [`    http-request return status ${a.status} content-type ${quote(a.contentType)} string ${quote(a.body)}${when}`];
    case 'redirect':
      return [`    http-request redirect location ${quote(a.location)} code ${a.code}${when}`];
  }
}

/** The whole configuration of one load balancer's HAProxy. */
export function compileHaproxy(model: ProxyModel, statsSocket: string): string {
  const lines = [
    'global',
    '    master-worker',
    `    stats socket ${statsSocket} mode 600 level admin`,
    '    maxconn 4096',
    '',
    'defaults',
    '    timeout connect 5s',
    `    timeout client ${model.idleTimeoutSeconds}s`,
    `    timeout server ${model.idleTimeoutSeconds}s`,
    // a target that refuses the connection is tried again on another before its checks have caught up
    '    retries 2',
    '    option redispatch 1',
    '',
  ];
  for (const f of model.frontends) {
    lines.push(`frontend ${f.name}`, `    bind ${model.address}:${f.port}`, `    mode ${f.mode}`);
    if (f.mode === 'tcp') {
      if (f.fallback.kind !== 'forward') throw new Error(`TCP frontend ${f.name} can only forward`);
      lines.push(`    default_backend ${f.fallback.backend}`, '');
      continue;
    }
    lines.push('    option forwardfor', '    http-request set-header X-Forwarded-Proto http', `    http-request set-header X-Forwarded-Port ${f.port}`);
    // an action decides once: later rules skip when a backend was chosen (return and redirect end the request)
    const undecided = '!{ var(txn.backend) -m found }';
    f.rules.forEach((r, i) => {
      const acls: string[] = [];
      if (r.hosts.length) {
        lines.push(`    acl rule${i}_host req.hdr(host),field(1,:) -m reg -i ${r.hosts.map(quote).join(' ')}`);
        acls.push(`rule${i}_host`);
      }
      if (r.paths.length) {
        lines.push(`    acl rule${i}_path path -m reg ${r.paths.map(quote).join(' ')}`);
        acls.push(`rule${i}_path`);
      }
      lines.push(...actionLines(r.action, [undecided, ...acls].join(' ')));
    });
    lines.push(...actionLines(f.fallback, undecided), '    use_backend %[var(txn.backend)]', '');
  }
  for (const b of model.backends) {
    lines.push(`backend ${b.name}`, `    mode ${b.mode}`, '    balance roundrobin');
    if (b.check) {
      if (b.check.http) lines.push(`    option httpchk GET ${b.check.path}`, `    http-check expect rstatus ${quote(b.check.expect)}`);
      lines.push(
        `    timeout check ${b.check.timeoutSeconds}s`,
        `    default-server inter ${b.check.intervalSeconds}s rise ${b.check.rise} fall ${b.check.fall}${b.check.port ? ` port ${b.check.port}` : ''}`,
      );
    }
    for (const s of b.servers) lines.push(`    server ${s.name} ${s.ip}:${s.port}${b.check ? ' check' : ''}${s.draining ? ' weight 0' : ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

export interface ProxyPlacement {
  /** The load balancer's id: its namespace, files and process are named after it. */
  id: string;
  /** The host side of its veth, on `bridge`. */
  hostPort: string;
  bridge: string;
  ip: string;
  prefix: number;
  mac: string;
  gateway: string;
  mtu: number;
}

/** What the runtime API says of one server: its state and last check. */
export interface ServerStat {
  status: string;
  check: string;
  code: string;
}

export class ProxyHost {
  constructor(readonly runDir = '/run/oarcloud/lb') {}

  static namespace(id: string): string {
    return `olb${id.slice(0, 12)}`;
  }
  private file(id: string, ext: 'cfg' | 'pid' | 'sock'): string {
    return path.join(this.runDir, `${id}.${ext}`);
  }
  /** Where its HAProxy's runtime API listens (the configuration names it). */
  statsSocket(id: string): string {
    return this.file(id, 'sock');
  }

  /** The load balancers that have a namespace or files here. */
  async list(): Promise<string[]> {
    const out = new Set<string>();
    if (existsSync(this.runDir)) for (const f of readdirSync(this.runDir)) out.add(f.replace(/\.(cfg|pid|sock)(\.next)?$/, ''));
    return [...out];
  }

  async namespaces(): Promise<string[]> {
    const r = await run('ip', ['netns', 'list']);
    return r.stdout
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith('olb'));
  }

  /** Its namespace and port, then its HAProxy with this configuration (null: no listener, no process). */
  async apply(p: ProxyPlacement, config: string | null): Promise<void> {
    mkdirSync(this.runDir, { recursive: true });
    const ns = ProxyHost.namespace(p.id);
    if (!(await this.namespaces()).includes(ns)) await runOk('ip', ['netns', 'add', ns]);
    const inNs = (...args: string[]) => runOk('ip', ['netns', 'exec', ns, ...args]);
    if ((await run('ip', ['link', 'show', p.hostPort])).code !== 0) {
      await runOk('ip', ['link', 'add', p.hostPort, 'mtu', String(p.mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    }
    await runOk('ip', ['link', 'set', p.hostPort, 'master', p.bridge, 'mtu', String(p.mtu), 'up']);
    await inNs('ip', 'link', 'set', 'lo', 'up');
    await inNs('ip', 'link', 'set', 'eth0', 'address', p.mac, 'mtu', String(p.mtu), 'up');
    await inNs('ip', 'addr', 'replace', `${p.ip}/${p.prefix}`, 'dev', 'eth0');
    await inNs('ip', 'route', 'replace', 'default', 'via', p.gateway);
    const cfgFile = this.file(p.id, 'cfg');
    const master = this.masterPid(p.id);
    if (config === null) {
      if (master) await this.stopProcess(p.id, master);
      rmSync(cfgFile, { force: true });
      return;
    }
    const previous = existsSync(cfgFile) ? readFileSync(cfgFile, 'utf8') : null;
    if (master && previous === config) return;
    const next = `${cfgFile}.next`;
    writeFileSync(next, config);
    await runOk('haproxy', ['-c', '-q', '-f', next]);
    writeFileSync(cfgFile, config);
    rmSync(next, { force: true });
    if (master) process.kill(master, 'SIGUSR2');
    else await runOk('ip', ['netns', 'exec', ns, 'haproxy', '-W', '-D', '-p', this.file(p.id, 'pid'), '-f', cfgFile]);
  }

  /** The master process, if it runs. */
  masterPid(id: string): number | undefined {
    try {
      const pid = Number(readFileSync(this.file(id, 'pid'), 'utf8').trim().split('\n')[0]);
      if (!pid) return undefined;
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  private async stopProcess(id: string, pid: number): Promise<void> {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
    for (let i = 0; i < 50 && this.masterPid(id); i++) await new Promise((r) => setTimeout(r, 100));
    rmSync(this.file(id, 'pid'), { force: true });
    rmSync(this.file(id, 'sock'), { force: true });
  }

  async remove(id: string): Promise<void> {
    const master = this.masterPid(id);
    if (master) await this.stopProcess(id, master);
    const ns = ProxyHost.namespace(id);
    if ((await this.namespaces()).includes(ns)) await runOk('ip', ['netns', 'del', ns]);
    for (const ext of ['cfg', 'pid', 'sock'] as const) rmSync(this.file(id, ext), { force: true });
  }

  /** `show stat` from the runtime API: backend → server → its state (empty when the process does not answer). */
  async stats(id: string): Promise<Map<string, Map<string, ServerStat>>> {
    const out = new Map<string, Map<string, ServerStat>>();
    const socket = this.file(id, 'sock');
    if (!existsSync(socket)) return out;
    const text = await new Promise<string>((resolve) => {
      let data = '';
      const s = connect(socket);
      s.setTimeout(1000, () => s.destroy());
      s.on('connect', () => s.write('show stat\n'));
      s.on('data', (d) => (data += d.toString()));
      s.on('close', () => resolve(data));
      s.on('error', () => resolve(''));
    });
    const [header, ...rows] = text.split('\n').filter(Boolean);
    if (!header?.startsWith('# ')) return out;
    const columns = header.slice(2).split(',');
    const at = (name: string) => columns.indexOf(name);
    for (const row of rows) {
      const f = row.split(',');
      const [backend, server] = [f[at('pxname')], f[at('svname')]];
      if (server === 'FRONTEND' || server === 'BACKEND') continue;
      if (!out.has(backend)) out.set(backend, new Map());
      out.get(backend)!.set(server, { status: f[at('status')], check: f[at('check_status')] ?? '', code: f[at('check_code')] ?? '' });
    }
    return out;
  }
}
