/** The isolation rules NetworkIsolation writes, with iptables faked at the adapter's boundary. */
import { expect } from 'chai';
import { NetworkIsolation, hostPortName, ISOLATION_CHAIN } from '../../src/adapters/isolation';

/** A fake iptables: remembers calls, answers `-S` with the given chains, and `-C` as "rule missing" until inserted. */
function fakeIptables(existingChains: string[] = []) {
  const calls: { cmd: string; args: string[]; input?: string }[] = [];
  const inserted = new Set<string>();
  const runner = async (cmd: string, args: string[], opts: { input?: string } = {}) => {
    calls.push({ cmd, args, input: opts.input });
    if (args.includes('-S')) return { code: 0, stdout: existingChains.map((c) => `-N ${c}`).join('\n'), stderr: '' };
    if (args.includes('-C')) return { code: inserted.has(`${cmd} ${args.slice(3).join(' ')}`) ? 0 : 1, stdout: '', stderr: '' };
    if (args.includes('-I')) inserted.add(`${cmd} FORWARD ${args.slice(5).join(' ')}`);
    return { code: 0, stdout: '', stderr: '' };
  };
  return { calls, runner, restores: () => calls.filter((c) => c.cmd === 'iptables-restore').map((c) => c.input!) };
}

const A = '111111111111';
const B = '222222222222';

describe('network isolation rules', () => {
  it('names host ports within the 15 characters Linux allows', () => {
    expect(hostPortName('i-0123456789abcdef0')).to.equal('oc0123456789abc').and.have.length(15);
  });

  it('sends each instance, by port and address, to its account chain, which accepts only that account', async () => {
    const ipt = fakeIptables();
    const iso = new NetworkIsolation('br0', ipt.runner);
    await iso.sync([
      { instanceId: 'i-aaaaaaaaaaaaaaaa1', accountId: A, ip: '10.0.0.10' },
      { instanceId: 'i-aaaaaaaaaaaaaaaa2', accountId: A, ip: '10.0.0.11' },
      { instanceId: 'i-bbbbbbbbbbbbbbbb1', accountId: B, ip: '10.0.0.12' },
    ]);
    const [rules] = ipt.restores();
    const lines = rules.split('\n');
    expect(lines).to.include(`-A ${ISOLATION_CHAIN} -s 10.0.0.10/32 -m physdev --physdev-in ${hostPortName('i-aaaaaaaaaaaaaaaa1')} -j OC-${A}`);
    expect(lines).to.include(`-A ${ISOLATION_CHAIN} -s 10.0.0.12/32 -m physdev --physdev-in ${hostPortName('i-bbbbbbbbbbbbbbbb1')} -j OC-${B}`);
    // the account chains: own addresses accepted, the rest dropped; the dispatch chain drops what it does not know
    const chain = (name: string) => lines.filter((l) => l.startsWith(`-A ${name} `));
    expect(chain(`OC-${A}`)).to.deep.equal([`-A OC-${A} -d 10.0.0.10/32 -j ACCEPT`, `-A OC-${A} -d 10.0.0.11/32 -j ACCEPT`, `-A OC-${A} -j DROP`]);
    expect(chain(`OC-${B}`)).to.deep.equal([`-A OC-${B} -d 10.0.0.12/32 -j ACCEPT`, `-A OC-${B} -j DROP`]);
    expect(chain(ISOLATION_CHAIN).at(-1)).to.equal(`-A ${ISOLATION_CHAIN} -j DROP`);
    expect(lines[0]).to.equal('*mangle');
    // hooked first in FORWARD, for IPv4 and (dropping) IPv6
    const inserts = ipt.calls.filter((c) => c.args.includes('-I')).map((c) => `${c.cmd} ${c.args.join(' ')}`);
    expect(inserts).to.deep.equal([
      `iptables -t mangle -I FORWARD 1 -i br0 -o br0 -j ${ISOLATION_CHAIN}`,
      'ip6tables -t mangle -I FORWARD 1 -i br0 -o br0 -j DROP',
    ]);
  });

  it('rewrites nothing when nothing changed, and everything after forget()', async () => {
    const ipt = fakeIptables();
    const iso = new NetworkIsolation('br0', ipt.runner);
    const members = [{ instanceId: 'i-aaaaaaaaaaaaaaaa1', accountId: A, ip: '10.0.0.10' }];
    expect(await iso.sync(members)).to.equal(true);
    expect(await iso.sync([...members])).to.equal(false);
    iso.forget();
    expect(await iso.sync(members)).to.equal(true);
    expect(ipt.restores()).to.have.length(2);
    expect(
      ipt.calls.filter((c) => c.args.includes('-I')),
      'the FORWARD hooks are inserted once',
    ).to.have.length(2);
  });

  it('deletes the chains of accounts that have no instance any more', async () => {
    const ipt = fakeIptables([`OC-${A}`, `OC-${B}`]);
    await new NetworkIsolation('br0', ipt.runner).sync([{ instanceId: 'i-bbbbbbbbbbbbbbbb1', accountId: B, ip: '10.0.0.12' }]);
    const lines = ipt.restores()[0].split('\n');
    expect(lines).to.include.members([`-F OC-${A}`, `-X OC-${A}`]);
    expect(lines).not.to.include(`-X OC-${B}`);
  });

  it('fails loudly when iptables refuses (the reconciler then starts no container)', async () => {
    const iso = new NetworkIsolation('br0', async (cmd) => ({ code: cmd === 'iptables-restore' ? 2 : 0, stdout: '', stderr: 'bad rule' }));
    const err = await iso.sync([{ instanceId: 'i-aaaaaaaaaaaaaaaa1', accountId: A, ip: '10.0.0.10' }]).catch((e) => e);
    expect(String(err.message)).to.match(/iptables-restore --noflush exited 2: bad rule/);
  });
});
