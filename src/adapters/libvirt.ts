/**
 * libvirt's LXC driver through virsh: one container (domain) per instance, named after the instance id so an
 * admin's `virsh list` and `oarstat` speak the same names. Domain lifecycle events stream from one long-lived
 * `virsh event --loop` process, so state changes are seen without polling each domain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { XMLBuilder } from 'fast-xml-parser';
import { run, runOk } from './exec';

export type DomainState = 'running' | 'paused' | 'shut off' | 'crashed' | 'in shutdown' | 'idle' | 'pmsuspended' | 'blocked';

export interface DomainSpec {
  name: string;
  rootfs: string;
  vcpus: number;
  memoryMib: number;
  /** Host CPUs the container may use (the OAR job's cpuset), e.g. "0,1". */
  cpuset?: string;
  network: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
}

const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', suppressEmptyNode: true, format: true });

export function domainXml(d: DomainSpec): string {
  return xml.build({
    domain: {
      '@type': 'lxc',
      name: d.name,
      memory: { '@unit': 'MiB', '#text': d.memoryMib },
      currentMemory: { '@unit': 'MiB', '#text': d.memoryMib },
      vcpu: { '@placement': 'static', ...(d.cpuset ? { '@cpuset': d.cpuset } : {}), '#text': d.vcpus },
      cputune: { shares: 1024 * d.vcpus, period: 100000, quota: 100000 * d.vcpus },
      os: { type: { '@arch': 'x86_64', '#text': 'exe' }, init: '/sbin/ec2-init' },
      clock: { '@offset': 'utc' },
      on_poweroff: 'destroy',
      on_reboot: 'restart',
      on_crash: 'destroy',
      devices: {
        emulator: '/usr/lib/libvirt/libvirt_lxc',
        filesystem: [
          { '@type': 'mount', '@accessmode': 'passthrough', source: { '@dir': d.rootfs }, target: { '@dir': '/' } },
          // containers get no /dev/shm otherwise
          { '@type': 'ram', '@accessmode': 'passthrough', source: { '@usage': 65536, '@units': 'KiB' }, target: { '@dir': '/dev/shm' } },
        ],
        interface: {
          '@type': 'network',
          source: { '@network': d.network },
          mac: { '@address': d.mac },
          ip: { '@address': d.ip, '@prefix': d.prefix },
          route: { '@family': 'ipv4', '@address': '0.0.0.0', '@prefix': 0, '@gateway': d.gateway },
        },
        console: { '@type': 'pty' },
      },
    },
  });
}

const NO_DOMAIN = /failed to get domain|Domain not found|no domain with matching name/i;

export class Libvirt {
  private watcher?: ChildProcess;
  private stopped = false;

  constructor(private readonly uri: string) {}

  private virsh(args: string[]) {
    return runOk('virsh', ['-q', '-c', this.uri, ...args], { timeoutMs: 30_000 });
  }

  /** Every domain and its state, in one call. */
  async list(): Promise<Map<string, DomainState>> {
    const out = await this.virsh(['list', '--all']);
    const states = new Map<string, DomainState>();
    for (const line of out.split('\n')) {
      const m = /^\s*(\S+)\s+(\S+)\s+(.+?)\s*$/.exec(line);
      if (m) states.set(m[2], m[3] as DomainState);
    }
    return states;
  }

  /** The domain's state, undefined when no such domain exists; throws when libvirtd cannot be reached. */
  async state(name: string): Promise<DomainState | undefined> {
    const r = await run('virsh', ['-q', '-c', this.uri, 'domstate', name]);
    if (r.code === 0) return r.stdout.trim() as DomainState;
    // while libvirtd is down the containers keep running: never read that as "the domain is gone"
    if (NO_DOMAIN.test(r.stderr)) return undefined;
    throw new Error(`virsh domstate ${name}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  /** Defines the domain from `xmlFile` (written there first: virsh cannot reopen a socket stdin) and starts it. */
  async defineAndStart(spec: DomainSpec, xmlFile: string): Promise<void> {
    await writeFile(xmlFile, domainXml(spec));
    await this.virsh(['define', xmlFile]);
    await this.virsh(['start', spec.name]);
  }

  /** Stops the container: SIGTERM to its init (ours exits at once), then a hard stop if it lingers. */
  async shutdown(name: string, graceMs = 5000): Promise<void> {
    await run('virsh', ['-q', '-c', this.uri, 'shutdown', name, '--mode', 'signal']);
    for (let waited = 0; waited < graceMs; waited += 100) {
      const s = await this.state(name);
      if (s !== 'running' && s !== 'in shutdown') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.destroy(name);
  }

  /** Freezes every process of the container (cgroup freezer) / thaws it. */
  async suspend(name: string): Promise<void> {
    await this.virsh(['suspend', name]);
  }

  async resume(name: string): Promise<void> {
    await this.virsh(['resume', name]);
  }

  async reboot(name: string): Promise<void> {
    await this.virsh(['reboot', name, '--mode', 'signal']);
  }

  async destroy(name: string): Promise<void> {
    const r = await run('virsh', ['-q', '-c', this.uri, 'destroy', name]);
    if (r.code !== 0 && !/not running/i.test(r.stderr) && !NO_DOMAIN.test(r.stderr)) throw new Error(`virsh destroy ${name}: ${r.stderr.trim()}`);
  }

  async undefine(name: string): Promise<void> {
    const r = await run('virsh', ['-q', '-c', this.uri, 'undefine', name]);
    if (r.code !== 0 && !NO_DOMAIN.test(r.stderr)) throw new Error(`virsh undefine ${name}: ${r.stderr.trim()}`);
  }

  async remove(name: string): Promise<void> {
    await this.destroy(name);
    await this.undefine(name);
  }

  /** Calls `onEvent(domain, event)` for every lifecycle event until stop(); restarts virsh if it dies. */
  watch(onEvent: (domain: string, event: string) => void, onError: (err: Error) => void): void {
    if (this.stopped) return;
    const child = spawn('virsh', ['-c', this.uri, 'event', '--all', '--loop'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.watcher = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /event '([\w-]+)' for domain '?([^':]+)'?: (.*)$/.exec(line);
      if (m) onEvent(m[2], `${m[1]} ${m[3]}`);
    });
    child.on('error', onError);
    child.on('exit', () => {
      if (!this.stopped) setTimeout(() => this.watch(onEvent, onError), 1000);
    });
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.kill();
  }
}
