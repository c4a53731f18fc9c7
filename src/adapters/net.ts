/** Liveness of local services by port or socket (daemons are checked this way, never by pid), and host network facts. */
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { run, runOk } from './exec';

function connectable(target: net.NetConnectOpts, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(target);
    s.setTimeout(timeoutMs, () => (s.destroy(), resolve(false)));
    s.on('connect', () => (s.end(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/** Whether something accepts TCP connections on a loopback port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return connectable({ port, host }, timeoutMs);
}

/** Whether a Unix socket accepts connections (libvirtd's, without spawning virsh). */
export function socketOpen(path: string, timeoutMs = 1000): Promise<boolean> {
  return connectable({ path }, timeoutMs);
}

/** Whether frames crossing a bridge go through iptables (br_netfilter), which account isolation needs. */
export function bridgedTrafficFiltered(): Promise<boolean> {
  return readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').then(
    (v) => v.trim() === '1',
    () => false,
  );
}

/** Routes of ours to other nodes carry this protocol number, so that they can be told from anyone else's. */
const PUBLIC_ROUTE_PROTO = '77';

/** Makes this machine's routes for public addresses exactly `routes` (each a /32 via a node's address). */
export async function syncPublicRoutes(routes: { ip: string; via: string }[]): Promise<void> {
  const have: { dst: string; gateway?: string }[] = JSON.parse((await runOk('ip', ['-j', 'route', 'show', 'proto', PUBLIC_ROUTE_PROTO])) || '[]');
  const want = new Map(routes.map((r) => [r.ip, r.via]));
  // gone meanwhile (its device removed) is as good as deleted
  for (const r of have) if (want.get(r.dst) !== r.gateway) await run('ip', ['route', 'del', `${r.dst}/32`, 'proto', PUBLIC_ROUTE_PROTO]);
  for (const [ip, via] of want)
    if (!have.some((r) => r.dst === ip && r.gateway === via)) await runOk('ip', ['route', 'replace', `${ip}/32`, 'via', via, 'proto', PUBLIC_ROUTE_PROTO]);
}
