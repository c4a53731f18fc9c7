/**
 * Two API servers on one database: both answer, one leads the loops (a PostgreSQL advisory lock). The leader is
 * SIGKILLed in the middle of a RunInstances burst; the client retries with the same ClientToken on the other
 * server, which takes over within 5 s: the burst completes, no instance is lost or started twice.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { Config } from '../../src/config';
import { Oar } from '../../src/adapters/oar';
import { serverHealth, startServerInBackground, stopServer } from '../../src/cli/bootstrap';
import { config, dropAccount, IMAGES, newAccount, region, sleep, terminateAll, waitForStates, type TestAccount } from '../support/live';

const second: Config = { ...config, port: config.port + 1, pidFile: '/run/oarcloud/server-second.pid' };
const secondEndpoint = `http://127.0.0.1:${second.port}`;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('two API servers, one leader (real)', function () {
  this.timeout(600_000);
  let account: TestAccount;
  let child: ChildProcess | undefined;
  let viaSecond: EC2Client;

  before(async () => {
    account = await newAccount('failover');
    const log = openSync('/var/log/oarcloud/server-second.log', 'a');
    child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'src', 'cli', 'main.js'), 'serve'], {
      env: { ...process.env, OARCLOUD_PORT: String(second.port), OARCLOUD_PID_FILE: second.pidFile },
      stdio: ['ignore', log, log],
    });
    await waitFor('the second server', async () => (await serverHealth(second)) !== undefined, 30_000);
    viaSecond = new EC2Client({ endpoint: secondEndpoint, region, credentials: account, maxAttempts: 1 });
  });

  after(async () => {
    // the suite's own server comes back (as a follower while the second one leads), cleans up, then leads again
    await startServerInBackground(config, true);
    await terminateAll(account);
    await dropAccount(account);
    await stopServer(second);
    child?.kill('SIGKILL');
    await waitFor('the suite server to lead', async () => (await serverHealth(config))?.leader === true, 10_000);
  });

  it('both answer; only one leads, and instances launched through the other run', async () => {
    const [first, other] = [await serverHealth(config), await serverHealth(second)];
    expect([first?.leader, other?.leader].filter(Boolean)).to.have.length(1);
    expect(first?.leader).to.equal(true); // it was there first
    const run = await viaSecond.send(new RunInstancesCommand({ ImageId: IMAGES.busybox, InstanceType: 't2.nano', MinCount: 2, MaxCount: 2 }));
    await waitForStates(
      account.ec2,
      run.Instances!.map((i) => i.InstanceId!),
      ['running'],
      60_000,
    );
  });

  it('the leader killed mid-burst: the other takes over within 5 s, and the burst completes once with its ClientToken', async () => {
    const token = `failover-${Date.now()}`;
    const params = { ImageId: IMAGES.busybox, InstanceType: 't2.nano' as const, MinCount: 5, MaxCount: 5, ClientToken: token };
    const sent = account.ec2.send(new RunInstancesCommand(params)).catch((err) => err);
    await sleep(5);
    const killedAt = Date.now();
    process.kill(Number(readFileSync(config.pidFile, 'utf8')), 'SIGKILL');
    const takeover = await waitFor('the second server to lead', async () => (await serverHealth(second))?.leader === true, 5_000);
    expect(Date.now() - killedAt).to.be.below(5_000);
    await sent;
    // the client retries on the other server with the same token, as the SDKs do
    const answer = await viaSecond.send(new RunInstancesCommand(params));
    expect(answer.Instances).to.have.length(5);
    const ids = answer.Instances!.map((i) => i.InstanceId!);
    await waitForStates(viaSecond, ids, ['running'], 120_000);
    const described = await viaSecond.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] }));
    expect(
      described
        .Reservations!.flatMap((r) => r.Instances!)
        .map((i) => i.InstanceId)
        .sort(),
    ).to.deep.equal([...ids].sort());
    // started once: one OAR job per instance
    const oar = new Oar(config);
    try {
      const jobs = (await oar.activeJobs()).filter((j) => ids.includes(j.name ?? ''));
      expect(jobs.map((j) => j.name).sort()).to.deep.equal([...ids].sort());
    } finally {
      await oar.close();
    }
    console.log(`      took over in ${takeover} ms after the kill`);
  });
});
