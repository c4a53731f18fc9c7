/** Liveness of local services by port or socket (daemons are checked this way, never by pid), and host network facts. */
import net from 'node:net';
import { readFile } from 'node:fs/promises';

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
