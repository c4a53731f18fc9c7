/**
 * Network isolation between accounts on the one instance bridge. The bridge hands frames between containers
 * through iptables (br_netfilter), where the mangle table's FORWARD chain sends them to our chain first:
 *
 *   OARCLOUD-ISOLATE: per instance, "from its own host-side port AND its own address" → its account's chain;
 *                     anything else between two ports (a spoofed address, a port we do not know) is dropped
 *   OC-<account>:     to an address of the same account → accept; anything else → drop
 *
 * Traffic to the host and out through NAT is routed, not bridged, and never enters these chains. IPv6 between
 * ports is dropped (instances have IPv4 addresses only). The rules are rewritten whole, atomically, with
 * iptables-restore, whenever the set of (instance, account, address) changes.
 */
import { createHash } from 'node:crypto';
import { run, type ExecResult } from './exec';

export const ISOLATION_CHAIN = 'OARCLOUD-ISOLATE';
const ACCOUNT_CHAIN_PREFIX = 'OC-';

export interface Member {
  instanceId: string;
  accountId: string;
  ip: string;
}

/** The host-side name of an instance's veth (at most 15 characters), set in its domain XML. */
export function hostPortName(instanceId: string): string {
  return `oc${instanceId.replace(/^i-/, '').slice(0, 13)}`;
}

type Runner = (cmd: string, args: string[], opts?: { input?: string }) => Promise<ExecResult>;

export class NetworkIsolation {
  private applied?: string;

  /**
   * `runner` runs iptables where the bridge is (this machine, or a node over ssh; tests pass a fake one).
   * On another node than the gateway's (`remote`), the gateway is across the bridge too: frames from an instance to
   * it, or to anywhere outside the subnet (routed through it), pass. Frames that arrive through `remote.overlayPort`
   * (the VXLAN port to the other nodes) were checked on the node they came from, against the same rules: they pass.
   */
  constructor(
    private readonly bridge: string,
    private readonly runner: Runner = run,
    private readonly remote?: { overlayPort: string; gateway: string; subnet: string; where: string },
    private readonly overlayPort = remote?.overlayPort,
  ) {}

  /** Rewrites the rules if the members changed since the last call; returns whether it did. */
  async sync(members: Member[]): Promise<boolean> {
    const sorted = [...members].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    const digest = createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
    if (digest === this.applied) return false;
    await this.ensureHooks();
    const existing = (await this.ok('iptables', ['-t', 'mangle', '-S']))
      .split('\n')
      .map((l) => /^-N (OC-\d+)$/.exec(l)?.[1])
      .filter((c): c is string => !!c);
    const accounts = [...new Set(sorted.map((m) => m.accountId))].sort();
    const chain = (account: string) => `${ACCOUNT_CHAIN_PREFIX}${account}`;
    const lines = ['*mangle', `:${ISOLATION_CHAIN} - [0:0]`, ...accounts.map((a) => `:${chain(a)} - [0:0]`), `-F ${ISOLATION_CHAIN}`];
    if (this.overlayPort) lines.push(`-A ${ISOLATION_CHAIN} -m physdev --physdev-in ${this.overlayPort} -j RETURN`);
    for (const m of sorted) lines.push(`-A ${ISOLATION_CHAIN} -s ${m.ip}/32 -m physdev --physdev-in ${hostPortName(m.instanceId)} -j ${chain(m.accountId)}`);
    lines.push(`-A ${ISOLATION_CHAIN} -j DROP`);
    for (const a of accounts) {
      lines.push(`-F ${chain(a)}`);
      for (const m of sorted.filter((x) => x.accountId === a)) lines.push(`-A ${chain(a)} -d ${m.ip}/32 -j ACCEPT`);
      if (this.remote) lines.push(`-A ${chain(a)} -d ${this.remote.gateway}/32 -j ACCEPT`, `-A ${chain(a)} ! -d ${this.remote.subnet} -j ACCEPT`);
      lines.push(`-A ${chain(a)} -j DROP`);
    }
    // chains of accounts with no instance left: unreferenced once the dispatch chain is rewritten
    for (const old of existing.filter((c) => !accounts.includes(c.slice(ACCOUNT_CHAIN_PREFIX.length)))) lines.push(`-F ${old}`, `-X ${old}`);
    lines.push('COMMIT', '');
    await this.ok('iptables-restore', ['--noflush'], lines.join('\n'));
    this.applied = digest;
    return true;
  }

  /** Where the rules apply, for logs. */
  describe(): string {
    return this.remote ? `${this.bridge}@${this.remote.where}` : this.bridge;
  }

  /** Makes the next sync rewrite the rules even if nothing changed (someone may have flushed them). */
  forget(): void {
    this.applied = undefined;
  }

  /** The jumps from FORWARD (first, before anything libvirt adds), for IPv4 and a plain drop for IPv6. */
  private async ensureHooks(): Promise<void> {
    const v4 = ['FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', ISOLATION_CHAIN];
    await this.runner('iptables', ['-t', 'mangle', '-N', ISOLATION_CHAIN]); // exists already: fine
    if ((await this.runner('iptables', ['-t', 'mangle', '-C', ...v4])).code !== 0)
      await this.ok('iptables', ['-t', 'mangle', '-I', 'FORWARD', '1', ...v4.slice(1)]);
    const v6 = ['FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', 'DROP'];
    if ((await this.runner('ip6tables', ['-t', 'mangle', '-C', ...v6])).code !== 0)
      await this.ok('ip6tables', ['-t', 'mangle', '-I', 'FORWARD', '1', ...v6.slice(1)]);
  }

  private async ok(cmd: string, args: string[], input?: string): Promise<string> {
    const r = await this.runner(cmd, args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
    return r.stdout;
  }
}
