/** Which alarms an admin gets, from what the dashboard sees. */
import { expect } from 'chai';
import { alarmsFor, LONG_PENDING_MS, RECENT_ERRORS_MS } from '../../src/domain/alarms';

const now = Date.parse('2026-11-27T12:00:00Z');
const ago = (ms: number) => new Date(now - ms).toISOString();
const healthy = { almighty: true, libvirtd: true, oarDatabase: true, isolation: true };
const node = (host: string, state = 'Alive', drain = false) => ({ host, state, drain, cores: 2, freeCores: 2, usedCores: 0 });
const base = { now, components: healthy, nodes: [node('localhost')], instances: [], events: [] };

describe('alarms', () => {
  it('raises none on a healthy cluster', () => {
    expect(alarmsFor(base)).to.deep.equal([]);
  });

  it('raises critical alarms for services that are down, and for a cluster with nowhere to run', () => {
    const down = alarmsFor({ ...base, components: { ...healthy, almighty: false, libvirtd: false, isolation: false } });
    expect(down.map((a) => [a.level, a.subject])).to.deep.equal([
      ['critical', 'OAR'],
      ['critical', 'libvirt'],
      ['critical', 'network'],
    ]);
    const drained = alarmsFor({ ...base, nodes: [node('localhost', 'Alive', true)] });
    expect(drained).to.have.length(1);
    expect(drained[0]).to.include({ level: 'critical', subject: 'cluster' });
  });

  it('tells a node OAR found failing (critical) from one an admin set Absent (warning)', () => {
    const alarms = alarmsFor({ ...base, nodes: [node('localhost'), node('n2', 'Absent'), node('n3', 'Suspected')] });
    expect(alarms.map((a) => [a.level, a.subject])).to.deep.equal([
      ['critical', 'n3'],
      ['warning', 'n2'],
    ]);
    expect(alarms[0].message).to.match(/n3 is Suspected \(OAR found it failing\)/);
  });

  it('warns of instances pending too long and of recent errors, not of old ones', () => {
    const alarms = alarmsFor({
      ...base,
      instances: [
        { id: 'i-old', state: 'pending', launchTime: ago(LONG_PENDING_MS + 1000) },
        { id: 'i-new', state: 'pending', launchTime: ago(1000) },
      ],
      events: [
        { at: ago(1000), kind: 'error', message: 'container start failed' },
        { at: ago(RECENT_ERRORS_MS + 1000), kind: 'error', message: 'old' },
      ],
    });
    expect(alarms.map((a) => a.subject)).to.deep.equal(['instances', 'errors']);
    expect(alarms[0].message).to.contain('i-old').and.not.contain('i-new');
    expect(alarms[1].message).to.match(/^1 error\(s\).*container start failed/);
  });

  it('does not blame nodes when OAR cannot be read', () => {
    const alarms = alarmsFor({ ...base, components: { ...healthy, oarDatabase: false }, nodes: [] });
    expect(alarms.map((a) => a.subject)).to.deep.equal(['OAR']);
  });
});
