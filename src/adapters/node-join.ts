/**
 * Turning a host into a compute node, over ssh as root with the server's node key: copies a payload (the node
 * setup script and the node agent from docker/, the job command, the server's oar.conf and OAR's ssh keys), runs
 * docker/node-setup.sh there (packages, job user, libvirtd, OAR's node sshd; idempotent), and then joins the node
 * to the instance network's VXLAN segment. Also simulated nodes (docker/sim-node.sh): namespaces on this machine.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk } from './exec';
import { NODE_SSH, localAgent } from './compute-node';

const NODE_KEY = '/etc/oarcloud/node_key';
const KNOWN_HOSTS = '/etc/oarcloud/known_hosts';
const PAYLOAD_DIR = '/var/lib/oarcloud-node/join';
const OAR_SSH_FILES = ['id_rsa', 'id_rsa.pub', 'authorized_keys', 'config'];

export class NodeJoinError extends Error {}

/** The address of this machine that `address` is reached from (the server's end of the overlay). */
export async function localAddressToward(address: string): Promise<string> {
  const out = await runOk('ip', ['-o', '-4', 'route', 'get', address]);
  const src = /\bsrc (\S+)/.exec(out)?.[1];
  if (!src) throw new NodeJoinError(`no route from this machine to ${address}`);
  return src;
}

async function onNode(address: string, command: string, input?: string): Promise<string> {
  const r = await run(NODE_SSH, [`root@${address}`, '--', command], { input, timeoutMs: 900_000 });
  if (r.code !== 0) throw new NodeJoinError(`on ${address}: ${command.split(' ')[0]} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
  return r.stdout;
}

/**
 * Makes `address` a compute node (everything but its OAR resources). Idempotent. `repoRoot` holds docker/;
 * `jobUser` is the Unix user that owns the instances' jobs.
 */
export async function joinNode(address: string, repoRoot: string, jobUser: string): Promise<string> {
  const login = await run(NODE_SSH, [`root@${address}`, '--', 'true'], { timeoutMs: 20_000 });
  if (login.code !== 0) {
    throw new NodeJoinError(
      `cannot log in to root@${address} with ${NODE_KEY}: ${login.stderr.trim().split('\n').pop()}. Authorise the server's key first: ssh-copy-id -i ${NODE_KEY}.pub root@${address}`,
    );
  }
  const stage = await mkdtemp(path.join(tmpdir(), 'oarcloud-join-'));
  try {
    for (const f of ['node-setup.sh', 'host-lib.sh', 'node-agent.sh']) await copyFile(path.join(repoRoot, 'docker', f), path.join(stage, f));
    await copyFile('/usr/lib/oarcloud/instance-job', path.join(stage, 'instance-job'));
    await copyFile('/etc/oar/oar.conf', path.join(stage, 'oar.conf'));
    await mkdir(path.join(stage, 'oar-ssh'));
    for (const f of OAR_SSH_FILES) if (existsSync(`/var/lib/oar/.ssh/${f}`)) await copyFile(`/var/lib/oar/.ssh/${f}`, path.join(stage, 'oar-ssh', f));
    const tar = spawn('tar', ['-C', stage, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const receive = spawn(NODE_SSH, [`root@${address}`, '--', `rm -rf ${PAYLOAD_DIR} && mkdir -p ${PAYLOAD_DIR} && tar -C ${PAYLOAD_DIR} -xf -`], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    tar.stdout.pipe(receive.stdin);
    const code = await new Promise<number | null>((resolve) => receive.on('close', resolve));
    if (code !== 0) throw new NodeJoinError(`copying the node payload to ${address} failed (exit ${code})`);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  const uid = (await runOk('id', ['-u', jobUser])).trim();
  const group = (await runOk('id', ['-g', jobUser])).trim();
  const server = await localAddressToward(address);
  return onNode(address, `bash ${PAYLOAD_DIR}/node-setup.sh ${jobUser} ${uid} ${group} ${hostname()} ${server}`);
}

export interface OverlayNames {
  bridge: string;
  overlayPort: string;
  nodeBridge: string;
  overlayVni: number;
  overlayMtu: number;
}

/**
 * Joins this machine's instance bridge and every remote node's to one VXLAN segment: each end floods to all the
 * others (head-end replication, no multicast). Rerun whenever the set of nodes changes; an unreachable node is
 * reported and skipped; with no remote node, this machine's VXLAN port is removed.
 */
export async function syncOverlay(names: OverlayNames, remotes: string[]): Promise<string[]> {
  if (!remotes.length) {
    // no node left: this machine's VXLAN port goes too (the single host as it was)
    await run('ip', ['link', 'del', names.overlayPort]);
    return [];
  }
  const server = await localAddressToward(remotes[0]);
  const problems: string[] = [];
  await localAgent(['net-setup', names.bridge, names.overlayPort, String(names.overlayVni), server, String(names.overlayMtu), ...remotes]);
  await Promise.all(
    remotes.map(async (node) => {
      const peers = [server, ...remotes.filter((r) => r !== node)];
      const args = ['net-setup', names.nodeBridge, names.overlayPort, String(names.overlayVni), node, String(names.overlayMtu), ...peers];
      await onNode(node, `/usr/lib/oarcloud/node-agent ${args.join(' ')}`).catch((err) => problems.push(String(err.message)));
    }),
  );
  return problems;
}

// ------------------------------------------------------------------------------------------------ simulated nodes

const SIM_STATE = '/var/lib/oarcloud-nodes';

export function simulatedNodeAddress(n: number): string {
  return `172.30.99.${n + 1}`;
}

/** Whether simulated node `n` runs (its PID 1 is alive). */
async function simulatedNodeRuns(repoRoot: string, n: number): Promise<boolean> {
  return (await runOk('bash', [path.join(repoRoot, 'docker', 'sim-node.sh'), 'pid', String(n)])).trim() !== '';
}

/** The numbers of the simulated nodes that exist (whether or not they run). */
export function simulatedNodes(): number[] {
  try {
    return readdirSync(SIM_STATE)
      .map((d) => /^node(\d+)$/.exec(d)?.[1])
      .filter((d): d is string => d !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/**
 * Starts simulated node `n` if it does not run (its namespaces and sshd); returns its address. Its PID 1 is a child of
 * this process (which reaps it when it ends), in a session of its own.
 */
export async function startSimulatedNode(repoRoot: string, n: number, logFile: string): Promise<string> {
  const script = path.join(repoRoot, 'docker', 'sim-node.sh');
  const address = (await runOk('bash', [script, 'prepare', String(n), hostname(), `${NODE_KEY}.pub`])).trim();
  if (!(await simulatedNodeRuns(repoRoot, n))) {
    await run('ssh-keygen', ['-R', address, '-f', KNOWN_HOSTS]);
    const out = openSync(logFile, 'a');
    const child = spawn(
      'nsenter',
      [
        `--net=/run/netns/ocn${n}`,
        'unshare',
        '--mount',
        '--uts',
        '--pid',
        '--fork',
        '--mount-proc',
        '--propagation',
        'private',
        'bash',
        script,
        'init',
        String(n),
      ],
      { detached: true, stdio: ['ignore', out, out] },
    );
    child.unref();
  }
  for (let i = 0; i < 100; i++) {
    if ((await run(NODE_SSH, [`root@${address}`, '--', 'true'], { timeoutMs: 10_000 })).code === 0) return address;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new NodeJoinError(`simulated node ${n} (${address}) does not answer ssh`);
}

/** Stops simulated node `n` and removes everything it had (containers, namespaces, state). */
export async function destroySimulatedNode(repoRoot: string, n: number): Promise<void> {
  await runOk('bash', [path.join(repoRoot, 'docker', 'sim-node.sh'), 'destroy', String(n)], { timeoutMs: 60_000 });
  await run('ssh-keygen', ['-R', simulatedNodeAddress(n), '-f', KNOWN_HOSTS]);
  // the shared ssh connection to it (its master exits on its own after 10 s of silence)
  await run('ssh', ['-o', `ControlPath=/run/oarcloud/ssh/root@${simulatedNodeAddress(n)}:22`, '-O', 'exit', simulatedNodeAddress(n)]);
}
