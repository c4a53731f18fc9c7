/**
 * Compute nodes from the shell: `node join root@HOST` (a fresh Debian 12 host becomes a node), and the simulated
 * nodes of `up --nodes N` / `down` (namespaces on this machine, joined through the very same code path).
 */
import path from 'node:path';
import type { Config } from '../config';
import type { Administration } from '../domain/administration';
import { runOk } from '../adapters/exec';
import { NODE_SSH, isThisMachine } from '../adapters/compute-node';
import { destroySimulatedNode, joinNode, simulatedNodeAddress, simulatedNodes, startSimulatedNode, syncOverlay } from '../adapters/node-join';
import { ROOT } from './bootstrap';

export interface JoinOptions {
  cores?: number;
  memoryMib?: number;
  slotsPerCore?: number;
}

/** What the node says it has: its cores and memory (MiB). */
async function nodeSize(address: string): Promise<{ cores: number; memoryMib: number }> {
  const out = await runOk(NODE_SSH, [`root@${address}`, '--', "nproc; awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo"]);
  const [cores, memoryMib] = out.trim().split('\n').map(Number);
  return { cores, memoryMib };
}

/** The remote nodes OAR knows (every address that is not this machine). */
async function remoteNodes(admin: Administration): Promise<string[]> {
  return (await admin.nodes()).map((n) => n.host).filter((h) => !isThisMachine(h));
}

/** Joins the host (idempotent), adds it to OAR unless it is there, and connects every node's instance bridge. */
export async function joinAndAdd(config: Config, admin: Administration, who: string, target: string, opts: JoinOptions, say = console.log): Promise<void> {
  const address = target.replace(/^root@/, '');
  if (isThisMachine(address)) throw new Error(`${address} is this machine, which is a node already (localhost)`);
  const started = Date.now();
  say(`== ${address}: setting up (packages, OAR node, libvirtd, node agent)`);
  say((await joinNode(address, ROOT, config.jobUser)).trim());
  if (!(await admin.nodes()).some((n) => n.host === address)) {
    const size = await nodeSize(address);
    const cores = opts.cores ?? size.cores;
    const memoryMib = opts.memoryMib ?? size.memoryMib;
    const node = await admin.addNode(who, address, cores, memoryMib, opts.slotsPerCore ?? config.slotsPerCore);
    say(`== ${address}: added to OAR: ${node.cores} core(s) of ${node.slots / node.cores} slots, ${node.memoryMib} MiB`);
  } else {
    const node = (await admin.nodes()).find((n) => n.host === address)!;
    // joined again after a repair (or a reboot of a simulated node): it answers now, so OAR may use it again
    if (/Dead|Suspected/.test(node.state)) {
      await admin.setNodeState(who, address, 'Alive');
      say(`== ${address}: was ${node.state} in OAR, now Alive`);
    } else say(`== ${address}: already an OAR node`);
  }
  for (const problem of await syncOverlay(config, await remoteNodes(admin))) say(`WARNING: ${problem}`);
  say(`== ${address}: joined in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Rejoins every remote node to this machine's end of the instance network (gone after a reboot of this machine). */
export async function reconnectNodes(config: Config, admin: Administration, say = console.log): Promise<void> {
  const remotes = await remoteNodes(admin);
  for (const problem of await syncOverlay(config, remotes)) say(`WARNING: ${problem}`);
}

/** Removes the node from OAR (drained first) and from the instance network. */
export async function removeNode(config: Config, admin: Administration, who: string, host: string, force: boolean): Promise<void> {
  await admin.removeNode(who, host, force);
  await syncOverlay(config, await remoteNodes(admin));
}

/**
 * Makes simulated nodes 1..count exist, run and belong to the cluster (each `cores` cores of `slotsPerCore` slots
 * sharing `memoryMib`). Idempotent; nodes beyond `count` are left alone.
 */
export async function ensureSimulatedNodes(
  config: Config,
  admin: Administration,
  count: number,
  size: Required<JoinOptions>,
  say = console.log,
): Promise<string[]> {
  const addresses: string[] = [];
  const log = path.join(path.dirname(config.pidFile), 'sim-nodes.log');
  await runOk('mkdir', ['-p', path.dirname(config.pidFile)]);
  for (let n = 1; n <= count; n++) {
    const address = await startSimulatedNode(ROOT, n, log);
    await joinAndAdd(config, admin, 'oarcloud@up', address, size, say);
    addresses.push(address);
  }
  return addresses;
}

/** Removes every simulated node: from OAR (ending what runs there), then its namespaces and processes. */
export async function removeSimulatedNodes(config: Config, admin: Administration, say = console.log): Promise<void> {
  const known = new Set((await admin.nodes()).map((n) => n.host));
  for (const n of simulatedNodes()) {
    const address = simulatedNodeAddress(n);
    if (known.has(address)) await admin.removeNode('oarcloud@down', address, true);
    await destroySimulatedNode(ROOT, n);
    say(`simulated node ${n} (${address}) removed`);
  }
  await syncOverlay(config, await remoteNodes(admin));
}
