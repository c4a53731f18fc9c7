/** Keeps the benchmark from rotting: its quick mode runs every part against the real services and reports. */
import { expect } from 'chai';
import { runBench } from '../../bench/run';

describe('bench --quick (real services)', function () {
  this.timeout(600_000);

  it('measures launch, the raw floor, the API next to moto, the admin snapshot, CreateImage, memory and monitoring, and writes a report', async () => {
    const r = await runBench({ quick: true, write: false });
    expect(r.launch.samples).to.have.length(2);
    for (const s of r.launch.samples) expect(s.total).to.be.above(0);
    expect(r.launch.floorOar[0]).to.be.above(0);
    expect(r.launch.floorVirsh[0]).to.be.above(0);
    expect(Number.isFinite(r.launch.burst.ranAll), 'every instance of the burst ran').to.equal(true);
    const rows = r.api.results as { server: string; rps?: number; errors?: number; error?: string }[];
    expect(rows.filter((x) => x.server === 'oarcloud').every((x) => x.rps! > 0 && x.errors === 0)).to.equal(true);
    expect(
      rows.some((x) => x.server === 'moto' && x.rps! > 0),
      JSON.stringify(rows.filter((x) => x.error)),
    ).to.equal(true);
    expect(r.api.snapshots[0].p50).to.be.above(0);
    expect(r.api.snapshots[0].bytes).to.be.above(1000);
    expect(r.images[0].runs[0]).to.be.above(0);
    expect(r.load.serverErrors).to.equal(0);
    expect(r.text).to.contain('## Targets');
    expect(r.text).to.contain('## Load');
    expect(r.text).to.contain('## Admin dashboard');
    expect(
      r.cluster.perNode.reduce((a, b) => a + b, 0),
      'the cluster burst ran on the simulated nodes',
    ).to.equal(r.cluster.n);
    expect(r.cluster.pass.total).to.be.above(0);
    expect(r.text).to.contain('## Cluster');
    expect(r.monitoring.collector.cpuMs.every((ms) => ms > 0)).to.equal(true);
    expect(r.monitoring.week.queries.map((q) => q.datapoints)).to.deep.equal([168, 1008]);
    expect(r.monitoring.alarm.breachMs.every((ms) => ms > 0)).to.equal(true);
    expect(r.text).to.contain('## Monitoring');
    expect(r.resize.liveUpMs.every((ms) => ms > 0) && r.resize.stopModifyStartMs.every((ms) => ms > 0)).to.equal(true);
    expect(r.text).to.contain('## Live resize');
  });
});
