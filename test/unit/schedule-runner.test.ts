/** The schedule runner against a store and targets faked at their boundary: once per run, retries, late runs. */
import { expect } from 'chai';
import pino from 'pino';
import { ScheduleRunner } from '../../src/domain/schedule-runner';
import { DomainError, errors } from '../../src/domain/errors';
import type { ScheduleRecord, Schedules } from '../../src/domain/schedules';
import type { EventLog } from '../../src/domain/events';

/** One schedule in a store that records what the runner did with it. */
class FakeStore {
  claims: { next: Date | null }[] = [];
  finished: { outcome: string; error?: string; completed: boolean }[] = [];
  constructor(public schedule: ScheduleRecord) {}
  async due(now: Date) {
    return this.schedule.nextRunAt && this.schedule.nextRunAt <= now ? [this.schedule] : [];
  }
  async claimRun(s: ScheduleRecord, next: Date | null) {
    if (this.schedule.nextRunAt?.getTime() !== s.nextRunAt?.getTime()) return undefined;
    this.claims.push({ next });
    this.schedule = { ...this.schedule, nextRunAt: next ?? undefined };
    return this.claims.length;
  }
  async finishRun(_s: ScheduleRecord, _run: number, outcome: string, error: string | undefined, completed: boolean) {
    this.finished.push({ outcome, error, completed });
  }
}

const schedule = (over: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
  id: 1,
  accountId: '123456789012',
  groupName: 'default',
  name: 'nightly',
  arn: 'arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly',
  expression: 'rate(1 minute)',
  timezone: 'UTC',
  state: 'ENABLED',
  flexibleMode: 'OFF',
  actionAfterCompletion: 'NONE',
  target: { Arn: 'arn:aws:scheduler:::aws-sdk:ec2:stopInstances', RoleArn: 'arn:aws:iam::123456789012:role/r', Input: '{}' },
  createdAt: new Date('2026-12-07T10:00:00Z'),
  modifiedAt: new Date('2026-12-07T10:00:00Z'),
  nextRunAt: new Date('2026-12-07T10:01:00Z'),
  ...over,
});

function runner(store: FakeStore, invoke: () => Promise<void>) {
  const events: string[] = [];
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const eventLog = { record: async (kind: string, _a: unknown, _r: unknown, message: string) => void events.push(`${kind}: ${message}`) };
  const r = new ScheduleRunner(store as unknown as Schedules, invoke, eventLog as unknown as EventLog, log, 5);
  return { r, events, lines };
}

describe('schedule runner', () => {
  it('fires a due run once, moves the next run past now, and records it', async () => {
    const store = new FakeStore(schedule());
    let calls = 0;
    const { r, events } = runner(store, async () => void calls++);
    const now = new Date('2026-12-07T10:01:00.400Z');
    await r.fireDue(now);
    await r.fireDue(now);
    await r.stop();
    expect(calls).to.equal(1);
    expect(store.claims.map((c) => c.next?.toISOString())).to.deep.equal(['2026-12-07T10:02:00.000Z']);
    expect(store.finished).to.deep.equal([{ outcome: 'succeeded', error: undefined, completed: false }]);
    expect(events).to.deep.equal(['schedule: schedule default/nightly ran arn:aws:scheduler:::aws-sdk:ec2:stopInstances']);
  });

  it('fires a run missed for five periods once, says how late, and goes on from the next period after now', async () => {
    const store = new FakeStore(schedule());
    let calls = 0;
    const { r, events, lines } = runner(store, async () => void calls++);
    await r.fireDue(new Date('2026-12-07T10:06:30Z'));
    await r.stop();
    expect(calls).to.equal(1);
    expect(store.claims[0].next?.toISOString()).to.equal('2026-12-07T10:07:00.000Z');
    expect(events[0]).to.match(/ran .* 330\.0 s late \(missed while no server led\)$/);
    expect(lines.some((l) => l.includes('"lateMs":330000') && l.includes('schedule run missed'))).to.equal(true);
  });

  it('retries a target that failed for want of capacity, not one that refused the call', async () => {
    const flaky = new FakeStore(schedule());
    let attempts = 0;
    const { r } = runner(flaky, async () => {
      if (++attempts < 3) throw errors.unavailable();
    });
    await r.fireDue(new Date('2026-12-07T10:01:01Z'));
    await r.idle();
    expect(attempts).to.equal(3);
    expect(flaky.finished[0].outcome).to.equal('succeeded');

    const refused = new FakeStore(schedule());
    let tries = 0;
    const second = runner(refused, async () => {
      tries++;
      throw new DomainError('conflict', 'IncorrectInstanceState', 'The instance is not running.');
    });
    await second.r.fireDue(new Date('2026-12-07T10:01:01Z'));
    await second.r.stop();
    expect(tries).to.equal(1);
    expect(refused.finished[0]).to.deep.include({ outcome: 'failed', error: 'IncorrectInstanceState: The instance is not running.' });
    expect(second.events[0]).to.match(/^schedule: schedule default\/nightly failed to run .*: IncorrectInstanceState/);
  });

  it("drops a run older than the target's MaximumEventAgeInSeconds, and completes an at() schedule", async () => {
    const old = new FakeStore(schedule({ target: { ...schedule().target, RetryPolicy: { MaximumEventAgeInSeconds: 60 } } }));
    let calls = 0;
    const { r } = runner(old, async () => void calls++);
    await r.fireDue(new Date('2026-12-07T10:03:00Z'));
    await r.stop();
    expect(calls).to.equal(0);
    expect(old.finished[0].error).to.match(/^Dropped: the run was due 120 s ago/);

    const once = new FakeStore(schedule({ expression: 'at(2026-12-07T10:01:00)', actionAfterCompletion: 'DELETE' }));
    const second = runner(once, async () => undefined);
    await second.r.fireDue(new Date('2026-12-07T10:01:00.200Z'));
    await second.r.stop();
    expect(once.claims).to.deep.equal([{ next: null }]);
    expect(once.finished[0].completed).to.equal(true);
  });
});
