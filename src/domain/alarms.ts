/**
 * Alarms for admins, derived from what the dashboard already sees (nodes, instances, events) and from the state of
 * the services the cloud needs. The dashboard shows them as a banner; `oarcloud alarms` prints them and exits with
 * the worst level, for a cron job or a monitoring system.
 */
import { bridgedTrafficFiltered, portOpen, socketOpen } from '../adapters/net';

export type AlarmLevel = 'critical' | 'warning';
export interface Alarm {
  level: AlarmLevel;
  subject: string;
  message: string;
}
export interface Components {
  almighty: boolean;
  libvirtd: boolean;
  oarDatabase: boolean;
  isolation: boolean;
}

/** Pending longer than this is worth an admin's look (the cluster is full, or OAR is stuck). */
export const LONG_PENDING_MS = 5 * 60_000;
/** Errors this recent raise an alarm. */
export const RECENT_ERRORS_MS = 15 * 60_000;

interface Inputs {
  now: number;
  components: Components;
  nodes: { host: string; state: string; drain: boolean; cores: number; freeCores: number; usedCores: number }[];
  instances: { id: string; state: string; launchTime: string }[];
  events: { at: string; kind: string; message: string }[];
}

export function alarmsFor({ now, components, nodes, instances, events }: Inputs): Alarm[] {
  const alarms: Alarm[] = [];
  const down = (subject: string, message: string) => alarms.push({ level: 'critical', subject, message });
  if (!components.oarDatabase) down('OAR', "OAR's database does not answer: nodes and jobs cannot be read.");
  if (!components.almighty) down('OAR', 'Almighty (oar-server) does not listen: no job starts or ends. Run bin/oarcloud up.');
  if (!components.libvirtd) down('libvirt', 'libvirtd does not answer: containers cannot start or stop. Run bin/oarcloud up.');
  if (!components.isolation) down('network', 'Bridged traffic bypasses iptables (br_netfilter): accounts are not isolated.');
  if (components.oarDatabase) {
    const usable = nodes.filter((n) => n.state === 'Alive' && !n.drain).reduce((sum, n) => sum + n.cores, 0);
    if (usable === 0) down('cluster', 'No Alive, undrained core: RunInstances has nowhere to run anything.');
    for (const n of nodes) {
      if (n.state === 'Alive') continue;
      const failed = /Suspected|Dead/.test(n.state);
      alarms.push({
        level: failed ? 'critical' : 'warning',
        subject: n.host,
        message: `${n.host} is ${n.state}${failed ? ' (OAR found it failing)' : ''}: its ${n.cores} core(s) are not available.`,
      });
    }
  }
  const waiting = instances.filter((i) => i.state === 'pending' && now - Date.parse(i.launchTime) > LONG_PENDING_MS);
  if (waiting.length) {
    alarms.push({
      level: 'warning',
      subject: 'instances',
      message: `${waiting.length} instance(s) pending for more than ${LONG_PENDING_MS / 60_000} minutes (cluster full or OAR stuck): ${waiting
        .slice(0, 3)
        .map((i) => i.id)
        .join(', ')}${waiting.length > 3 ? ', …' : ''}.`,
    });
  }
  const errors = events.filter((e) => e.kind === 'error' && now - Date.parse(e.at) < RECENT_ERRORS_MS);
  if (errors.length) {
    alarms.push({
      level: 'warning',
      subject: 'errors',
      message: `${errors.length} error(s) in the last ${RECENT_ERRORS_MS / 60_000} minutes; latest: ${errors[0].message.slice(0, 160)}`,
    });
  }
  return alarms.sort((a, b) => (a.level === b.level ? 0 : a.level === 'critical' ? -1 : 1));
}

/** The services' liveness, by port and socket (never by pid file), as `oarcloud doctor` checks them. */
export async function probeServices(oarServerPort: number): Promise<Omit<Components, 'oarDatabase'>> {
  const [almighty, libvirtd, isolation] = await Promise.all([portOpen(oarServerPort), socketOpen('/var/run/libvirt/libvirt-sock'), bridgedTrafficFiltered()]);
  return { almighty, libvirtd, isolation };
}
