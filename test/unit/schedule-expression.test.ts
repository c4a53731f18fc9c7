/** EventBridge Scheduler's expressions: AWS's cron dialect, rate() from the start date, at() in a time zone. */
import { expect } from 'chai';
import { nextRun, parseScheduleExpression, type ScheduleWindow } from '../../src/domain/schedule-expression';

const utc = (text: string) => new Date(`${text}Z`);
const window = (over: Partial<ScheduleWindow> = {}): ScheduleWindow => ({ timezone: 'UTC', createdAt: utc('2026-12-07T10:00:30'), ...over });
const next = (expression: string, after: string, over: Partial<ScheduleWindow> = {}) =>
  nextRun(parseScheduleExpression(expression), window(over), utc(after))?.toISOString() ?? null;

describe('schedule expressions', () => {
  it("reads AWS's cron: weekdays 1-7 from Sunday, ? in one day field, L, W, #, a year", () => {
    // 2026-12-07 is a Monday
    expect(next('cron(0 8 ? * MON-FRI *)', '2026-12-07T09:00:00')).to.equal('2026-12-08T08:00:00.000Z');
    expect(next('cron(0 8 ? * 2 *)', '2026-12-07T09:00:00')).to.equal('2026-12-14T08:00:00.000Z'); // 2 = Monday
    expect(next('cron(0 10 ? * 6#3 *)', '2026-12-07T09:00:00')).to.equal('2026-12-18T10:00:00.000Z'); // third Friday
    expect(next('cron(0 10 ? * 6L *)', '2026-12-07T09:00:00')).to.equal('2026-12-25T10:00:00.000Z'); // last Friday
    expect(next('cron(0 12 15W * ? *)', '2026-12-07T09:00:00')).to.equal('2026-12-15T12:00:00.000Z');
    expect(next('cron(0 0 L * ? *)', '2026-12-07T09:00:00')).to.equal('2026-12-31T00:00:00.000Z');
    expect(next('cron(0/15 * * * ? *)', '2026-12-07T09:07:00')).to.equal('2026-12-07T09:15:00.000Z');
    expect(next('cron(0 8 1 * ? 2027)', '2026-12-07T09:00:00')).to.equal('2027-01-01T08:00:00.000Z');
  });

  it('fires cron in the schedule time zone, daylight saving included', () => {
    expect(next('cron(0 8 * * ? *)', '2026-12-07T09:00:00', { timezone: 'Europe/Paris' })).to.equal('2026-12-08T07:00:00.000Z'); // CET
    expect(next('cron(0 8 * * ? *)', '2027-07-01T09:00:00', { timezone: 'Europe/Paris' })).to.equal('2027-07-02T06:00:00.000Z'); // CEST
  });

  it('counts rate() periods from the start date, or one period after creation', () => {
    expect(next('rate(5 minutes)', '2026-12-07T10:01:00')).to.equal('2026-12-07T10:05:30.000Z');
    expect(next('rate(5 minutes)', '2026-12-07T10:05:30')).to.equal('2026-12-07T10:10:30.000Z');
    expect(next('rate(1 hour)', '2026-12-07T10:01:00', { startDate: utc('2026-12-07T12:00:00') })).to.equal('2026-12-07T12:00:00.000Z');
    expect(next('rate(1 day)', '2026-12-09T13:00:00', { startDate: utc('2026-12-07T12:00:00') })).to.equal('2026-12-10T12:00:00.000Z');
  });

  it('fires at() once, at its wall-clock time in the time zone', () => {
    expect(next('at(2026-12-24T18:00:00)', '2026-12-07T10:00:00', { timezone: 'America/New_York' })).to.equal('2026-12-24T23:00:00.000Z');
    expect(next('at(2026-12-24T18:00:00)', '2026-12-25T00:00:00', { timezone: 'America/New_York' })).to.equal(null);
  });

  it('never fires after the end date', () => {
    expect(next('rate(1 day)', '2026-12-07T11:00:00', { endDate: utc('2026-12-08T10:00:00') })).to.equal(null);
    expect(next('cron(0 8 * * ? *)', '2026-12-07T09:00:00', { endDate: utc('2026-12-09T00:00:00') })).to.equal('2026-12-08T08:00:00.000Z');
  });

  it('refuses what AWS refuses, in its words', () => {
    for (const [text, why] of [
      ['cron(0 8 * * MON *)', /either the day of the month or the day of the week/],
      ['cron(0 8 * * ?)', /six fields/],
      ['cron(0 25 ? * MON *)', /Invalid Schedule Expression/],
      ['rate(0 minutes)', /positive/],
      ['rate(2 minute)', /write 2 minutes/],
      ['rate(1 week)', /Invalid Schedule Expression/],
      ['at(2026-13-01T00:00:00)', /Invalid Schedule Expression/],
    ] as const) {
      expect(() => parseScheduleExpression(text), text).to.throw(why);
    }
  });
});
