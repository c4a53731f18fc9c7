/**
 * libvirt's LXC driver through virsh: one container (domain) per instance, named after the instance id so an
 * admin's `virsh list` and `oarstat` speak the same names. Domain lifecycle events stream from one long-lived
 * `virsh event --loop` process, so state changes are seen without polling each domain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  /** The libvirt network to join on this machine, or (remote nodes) the bridge the node agent made. */
  network: string;
  bridge?: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
  /** Maps the container's ids 0..count-1 to host ids base.. (an unprivileged container). */
  idmap?: { base: number; count: number };
}

/** The host-side name of an instance's veth (at most 15 characters), set in its domain XML: the packet filter's key. */
export function hostPortName(instanceId: string): string {
  return `oc${instanceId.replace(/^i-/, '').slice(0, 13)}`;
}

const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', suppressEmptyNode: true, format: true });

/** What a running container may use: memory, host CPUs, and as many CPUs' worth of time as it has vCPUs. */
export interface ContainerLimits {
  memoryMib: number;
  cpuset: string;
  vcpus: number;
}

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
      ...(d.idmap
        ? {
            idmap: {
              uid: { '@start': 0, '@target': d.idmap.base, '@count': d.idmap.count },
              gid: { '@start': 0, '@target': d.idmap.base, '@count': d.idmap.count },
            },
          }
        : {}),
      devices: {
        emulator: '/usr/lib/libvirt/libvirt_lxc',
        filesystem: [
          { '@type': 'mount', '@accessmode': 'passthrough', source: { '@dir': d.rootfs }, target: { '@dir': '/' } },
          // containers get no /dev/shm otherwise
          { '@type': 'ram', '@accessmode': 'passthrough', source: { '@usage': 65536, '@units': 'KiB' }, target: { '@dir': '/dev/shm' } },
        ],
        interface: {
          '@type': d.bridge ? 'bridge' : 'network',
          source: d.bridge ? { '@bridge': d.bridge } : { '@network': d.network },
          // a host-side name we know in advance: the isolation rules match frames by the port they came from
          target: { '@dev': hostPortName(d.name) },
          mac: { '@address': d.mac },
          ip: { '@address': d.ip, '@prefix': d.prefix },
          route: { '@family': 'ipv4', '@address': '0.0.0.0', '@prefix': 0, '@gateway': d.gateway },
        },
        console: { '@type': 'pty' },
      },
    },
  });
}

/** Our pids cgroups, one per container (the v1 pids hierarchy, which libvirt 9.0 leaves alone). */
export const PIDS_ROOT = '/sys/fs/cgroup/pids/oarcloud';

const NO_DOMAIN = /failed to get domain|Domain not found|no domain with matching name/i;

export class Libvirt {
  private watcher?: ChildProcess;
  private stopped = false;

  /**
   * `via`: a command that runs virsh on another node (ssh), where it talks to that node's libvirtd locally: one
   * process over a shared ssh connection costs a third of a remote libvirt connection (lxc+ssh://) per call.
   */
  constructor(
    private readonly uri: string,
    private readonly via: string[] = [],
  ) {}

  /** Runs virsh with these arguments (all plain words, as every caller passes) here or through `via`. */
  private command(args: string[], flags = ['-q']): [string, string[]] {
    const argv = ['virsh', ...flags, '-c', this.uri, ...args];
    return this.via.length ? [this.via[0], [...this.via.slice(1), ...argv]] : [argv[0], argv.slice(1)];
  }

  private run(args: string[], input?: string) {
    const [cmd, argv] = this.command(args);
    return run(cmd, argv, { timeoutMs: 30_000, input });
  }

  private virsh(args: string[], input?: string) {
    const [cmd, argv] = this.command(args);
    return runOk(cmd, argv, { timeoutMs: 30_000, input });
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
    const r = await this.run(['domstate', name]);
    if (r.code === 0) return r.stdout.trim() as DomainState;
    // while libvirtd is down the containers keep running: never read that as "the domain is gone"
    if (NO_DOMAIN.test(r.stderr)) return undefined;
    throw new Error(`virsh domstate ${name}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  /** Defines the domain from its XML and starts it. */
  async defineAndStart(spec: DomainSpec): Promise<void> {
    if (this.via.length) {
      // there, virsh reads the XML from its stdin, the ssh channel's pipe
      await this.virsh(['define', '/dev/stdin'], domainXml(spec));
      await this.virsh(['start', spec.name]);
      return;
    }
    // here, from a file: virsh cannot reopen a socket stdin
    const dir = await mkdtemp(path.join(tmpdir(), 'oarcloud-domain-'));
    try {
      const xmlFile = path.join(dir, `${spec.name}.xml`);
      await writeFile(xmlFile, domainXml(spec));
      await this.virsh(['define', xmlFile]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await this.virsh(['start', spec.name]);
  }

  /** Stops the container: SIGTERM to its init (ours exits at once), then a hard stop if it lingers. */
  async shutdown(name: string, graceMs = 5000): Promise<void> {
    await this.run(['shutdown', name, '--mode', 'signal']);
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
    const r = await this.run(['destroy', name]);
    if (r.code !== 0 && !/not running/i.test(r.stderr) && !NO_DOMAIN.test(r.stderr)) throw new Error(`virsh destroy ${name}: ${r.stderr.trim()}`);
  }

  async undefine(name: string): Promise<void> {
    const r = await this.run(['undefine', name]);
    if (r.code !== 0 && !NO_DOMAIN.test(r.stderr)) throw new Error(`virsh undefine ${name}: ${r.stderr.trim()}`);
  }

  async remove(name: string): Promise<void> {
    await this.destroy(name);
    await this.undefine(name);
    await rmdir(path.join(PIDS_ROOT, name)).catch(() => undefined);
  }

  // What follows reads this machine's /proc and cgroups: meaningful for a Libvirt of this machine only (another node's
  // containers are reached through its node agent, see compute-node.ts).

  /** PID (on the host) of the container's init: the child of its libvirt_lxc controller. */
  async initPid(name: string): Promise<number> {
    const controller = (await this.virsh(['domid', name])).trim();
    const children = (await readFile(`/proc/${controller}/task/${controller}/children`, 'utf8')).trim().split(/\s+/);
    if (!children[0]) throw new Error(`container ${name} has no init process`);
    return Number(children[0]);
  }

  /**
   * Runs a shell command inside the container, as its root. nsenter joins every namespace of its init, the user
   * namespace included (libvirt's lxc-enter-namespace would run as an unmapped nobody in an unprivileged container).
   */
  async exec(name: string, command: string): Promise<string> {
    const pid = await this.initPid(name);
    // join the container's cgroups first, so that what runs is held to its limits like its own processes
    const procs: string[] = [];
    for (const line of (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n')) {
      const [, controllers, cgroupPath] = line.split(':');
      if (!controllers || cgroupPath === undefined) continue;
      for (const dir of [controllers, controllers.split(',')[0]]) {
        const file = path.join('/sys/fs/cgroup', dir, cgroupPath, 'cgroup.procs');
        if (existsSync(file)) {
          procs.push(file);
          break;
        }
      }
    }
    const join = procs.map((f) => `echo $$ > '${f}' 2>/dev/null;`).join(' ');
    return runOk('sh', ['-c', `${join} exec nsenter -t ${pid} -a /bin/sh -c "$0"`, command], { timeoutMs: 120_000 });
  }

  /** Sets the MTU of the container's eth0 (libvirt's LXC driver does not apply the interface's <mtu>). */
  async setMtu(name: string, mtu: number): Promise<void> {
    await runOk('nsenter', ['-t', String(await this.initPid(name)), '-n', 'ip', 'link', 'set', 'eth0', 'mtu', String(mtu)]);
  }

  /**
   * Moves a running container onto new limits without restarting it, in its cgroups as domainXml sets them at start:
   * the memory limit (the container's /proc/meminfo follows), the host CPUs (nproc follows), the CPU shares and CFS
   * quota. libvirt's setmem cannot go above the memory the domain was defined with, so the cgroups are written here.
   */
  async setLimits(name: string, limits: ContainerLimits): Promise<void> {
    const memory = await this.cgroupDir(name, 'memory');
    const cpu = await this.cgroupDir(name, 'cpu');
    await writeFile(path.join(memory, 'memory.limit_in_bytes'), String(limits.memoryMib * 1024 * 1024));
    await writeFile(path.join(await this.cgroupDir(name, 'cpuset'), 'cpuset.cpus'), limits.cpuset);
    await writeFile(path.join(cpu, 'cpu.shares'), String(1024 * limits.vcpus));
    await writeFile(path.join(cpu, 'cpu.cfs_quota_us'), String(100000 * limits.vcpus));
  }

  /**
   * The memory the container uses now and cannot give back, in MiB: its memory cgroup's usage less the inactive file
   * cache the kernel would reclaim (the "working set").
   */
  async memoryUsedMib(name: string): Promise<number> {
    const dir = await this.cgroupDir(name, 'memory');
    const usage = Number((await readFile(path.join(dir, 'memory.usage_in_bytes'), 'utf8')).trim());
    const inactiveFile = Number(/^total_inactive_file (\d+)$/m.exec(await readFile(path.join(dir, 'memory.stat'), 'utf8'))?.[1] ?? 0);
    return Math.ceil(Math.max(0, usage - inactiveFile) / 1024 / 1024);
  }

  /** The container's cgroup (v1) path under a controller, e.g. memory → /sys/fs/cgroup/memory/machine/lxc-…. */
  async cgroupDir(name: string, controller: string): Promise<string> {
    const pid = await this.initPid(name);
    const line = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
    if (!line) throw new Error(`no ${controller} cgroup for ${name}`);
    return path.join('/sys/fs/cgroup', controller, line.split(':')[2]);
  }

  /**
   * Caps the number of processes in the container. libvirt 9.0 does not use the pids controller, so the
   * container's processes are moved into a pids cgroup of ours; processes they fork later stay in it.
   */
  async limitPids(name: string, max: number): Promise<void> {
    const dir = path.join(PIDS_ROOT, name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'pids.max'), String(max));
    const source = path.join(await this.cgroupDir(name, 'memory'), 'cgroup.procs');
    const inside = new Set<string>();
    // processes may fork while we move them: repeat until every one of them is inside
    for (let round = 0; round < 5; round++) {
      const pids = (await readFile(source, 'utf8')).split('\n').filter((p) => p && !inside.has(p));
      if (!pids.length) return;
      for (const p of pids) {
        await writeFile(path.join(dir, 'cgroup.procs'), p).catch(() => undefined); // it may have exited
        inside.add(p);
      }
    }
  }

  /** Calls `onEvent(domain, event)` for every lifecycle event until stop(); restarts virsh if it dies. */
  watch(onEvent: (domain: string, event: string) => void, onError: (err: Error) => void): void {
    this.stopped = false;
    this.follow(onEvent, onError);
  }

  private follow(onEvent: (domain: string, event: string) => void, onError: (err: Error) => void): void {
    if (this.stopped) return;
    const [cmd, argv] = this.command(['event', '--all', '--loop'], []);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.watcher = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /event '([\w-]+)' for domain '?([^':]+)'?: (.*)$/.exec(line);
      if (m) onEvent(m[2], `${m[1]} ${m[3]}`);
    });
    child.on('error', onError);
    child.on('exit', () => {
      if (!this.stopped && this.watcher === child) setTimeout(() => this.follow(onEvent, onError), 1000);
    });
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.kill();
  }
}
