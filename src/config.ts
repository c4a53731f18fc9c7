/** Server and CLI configuration, from the environment with defaults that match docker/provision.sh. */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  dataDir: string;
  masterKeyFile: string;
  regions: string[];
  /** Unix user that owns the OAR jobs (oarsub refuses root and oar). */
  jobUser: string;
  /** Command each instance's OAR job runs: it holds the cores until oardel or walltime. */
  jobCommand: string;
  walltime: string;
  oarDatabaseUrl: string;
  oarServerPort: number;
  /**
   * OAR resources per core (the overcommit ratio, as OpenStack's cpu_allocation_ratio): a burstable instance holds
   * one slot per vCPU at least, and as many as its memory needs (the node's memory is shared among its slots).
   */
  slotsPerCore: number;
  /** Cores and memory this machine offers as the OAR node `localhost`. */
  localCores: number;
  localMemoryMib: number;
  libvirtUri: string;
  network: string;
  /** The libvirt network's bridge, where accounts are isolated from each other. */
  bridge: string;
  subnetPrefix: string;
  /**
   * The instance network spans the nodes as one VXLAN segment: this machine's bridge gets port `overlayPort`, each
   * other node a bridge `nodeBridge` with its own; instance interfaces on other nodes use `overlayMtu`.
   */
  overlayVni: number;
  overlayPort: string;
  nodeBridge: string;
  overlayMtu: number;
  /** The port of the instance metadata service (on every address: instances reach it through NAT or a relay). */
  metadataPort: number;
  /** The public addresses elastic IPs are allocated from (an admin-configured block routed to this machine). */
  publicPool: string;
  /** Where load balancers' names are written for this machine's resolver (a marked block). */
  hostsFile: string;
  /** First and last host number handed to instances in the subnet. */
  addressRange: [number, number];
  /** Container uid/gid 0 maps to this host id (libvirt <idmap>): containers are unprivileged. null: privileged. */
  idmapBase: number | null;
  idmapCount: number;
  /** Most processes one container may hold (its own pids cgroup). */
  pidsMax: number;
  logLevel: string;
  logFile?: string;
  pidFile: string;
  maxBodyBytes: number;
  clockSkewSeconds: number;
  /** How long terminated instances stay visible (clients' waiters need them). */
  terminatedRetentionSeconds: number;
  /** When the records of terminated instances (and their tags and emptied reservations) are deleted. */
  terminatedPurgeSeconds: number;
  /** How long after an instance's last live resize an alarm's resize action waits (against flapping). */
  resizeCooldownSeconds: number;
}

const env = process.env;
const int = (v: string | undefined, d: number) => (v && /^\d+$/.test(v) ? Number(v) : d);
export const DATABASE_SECRETS_FILE = '/etc/oarcloud/database.env';

/** The database passwords docker/provision.sh generated (KEY=value lines, root-only); none before provisioning. */
function databaseSecrets(file = env.OARCLOUD_SECRETS_FILE ?? DATABASE_SECRETS_FILE): Record<string, string> {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    return Object.fromEntries(
      lines
        .map((l) => /^([A-Z_]+)=([A-Za-z0-9]+)$/.exec(l.trim()))
        .filter((m) => m !== null)
        .map((m) => [m![1], m![2]]),
    );
  } catch {
    return {};
  }
}

export function loadConfig(): Config {
  const dataDir = env.OARCLOUD_DATA_DIR ?? '/var/lib/oarcloud';
  const secrets = databaseSecrets();
  return {
    host: env.OARCLOUD_HOST ?? '127.0.0.1',
    port: int(env.OARCLOUD_PORT, 8773),
    databaseUrl: env.OARCLOUD_DATABASE_URL ?? `postgres://oarcloud:${secrets.OARCLOUD_DB_PASSWORD ?? 'oarcloud'}@127.0.0.1:5432/oarcloud`,
    dataDir,
    masterKeyFile: env.OARCLOUD_MASTER_KEY_FILE ?? '/etc/oarcloud/master.key',
    regions: (env.OARCLOUD_REGIONS ?? 'us-east-1')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    jobUser: env.OARCLOUD_JOB_USER ?? 'oarcloud',
    jobCommand: env.OARCLOUD_JOB_COMMAND ?? '/usr/lib/oarcloud/instance-job',
    walltime: env.OARCLOUD_WALLTIME ?? '720:00:00',
    oarDatabaseUrl: env.OARCLOUD_OAR_DATABASE_URL ?? `postgres://oar_ro:${secrets.OAR_DB_RO_PASSWORD ?? 'oarropw'}@127.0.0.1:5432/oar`,
    oarServerPort: int(env.OARCLOUD_OAR_SERVER_PORT, 6666),
    slotsPerCore: int(env.OARCLOUD_SLOTS_PER_CORE, 20),
    localCores: int(env.OARCLOUD_OAR_CORES, availableParallelism()),
    localMemoryMib: int(env.OARCLOUD_NODE_MEMORY_MIB, Math.floor(totalmem() / 1048576)),
    libvirtUri: env.OARCLOUD_LIBVIRT_URI ?? 'lxc:///',
    network: env.OARCLOUD_NETWORK ?? 'oarcloud',
    bridge: env.OARCLOUD_BRIDGE ?? 'virbr-oarcloud',
    subnetPrefix: env.OARCLOUD_SUBNET_PREFIX ?? '10.77.0',
    overlayVni: int(env.OARCLOUD_OVERLAY_VNI, 4077),
    overlayPort: 'ocvx0',
    nodeBridge: 'ocbr0',
    overlayMtu: 1450,
    addressRange: [10, 254],
    publicPool: env.OARCLOUD_PUBLIC_POOL ?? '198.51.100.0/24',
    hostsFile: env.OARCLOUD_HOSTS_FILE ?? '/etc/hosts',
    metadataPort: int(env.OARCLOUD_METADATA_PORT, 8779),
    idmapBase: env.OARCLOUD_IDMAP_BASE === 'off' ? null : int(env.OARCLOUD_IDMAP_BASE, 100_000),
    idmapCount: 65_536,
    pidsMax: int(env.OARCLOUD_PIDS_MAX, 1024),
    logLevel: env.OARCLOUD_LOG_LEVEL ?? 'info',
    logFile: env.OARCLOUD_LOG_FILE,
    pidFile: env.OARCLOUD_PID_FILE ?? '/run/oarcloud/server.pid',
    maxBodyBytes: int(env.OARCLOUD_MAX_BODY_BYTES, 1024 * 1024),
    clockSkewSeconds: 15 * 60,
    terminatedRetentionSeconds: int(env.OARCLOUD_TERMINATED_RETENTION, 3600),
    terminatedPurgeSeconds: int(env.OARCLOUD_TERMINATED_PURGE, 7 * 24 * 3600),
    resizeCooldownSeconds: int(env.OARCLOUD_RESIZE_COOLDOWN, 300),
  };
}

export function endpointUrl(config: Config): string {
  return `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
}
