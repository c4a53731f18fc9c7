/** Alarm evaluation as AWS documents it, the collector's arithmetic, SNS signing and back-off, admin notices. */
import { expect } from 'chai';
import { generateKeyPairSync, createVerify } from 'node:crypto';
import { evaluateAlarm, type AlarmRule, type PeriodValue } from '../../src/domain/alarm-evaluation';
import { instanceMetrics } from '../../src/domain/metric-collector';
import { backoffSeconds, stringToSign } from '../../src/domain/deliveries';
import { signSha256 } from '../../src/adapters/signing-certificate';
import { parseUsage } from '../../src/adapters/compute-node';
import { noticeKey } from '../../src/domain/admin-notifier';
import { dimensionsKey } from '../../src/domain/metrics';

const t0 = Date.UTC(2026, 11, 7, 4, 0, 0);
const periods = (...values: (number | null)[]): PeriodValue[] => values.map((value, i) => ({ at: new Date(t0 + i * 60_000), value }));
const rule = (extra: Partial<AlarmRule> = {}): AlarmRule => ({
  threshold: 80,
  comparisonOperator: 'GreaterThanThreshold',
  evaluationPeriods: 3,
  treatMissingData: 'missing',
  period: 60,
  statisticName: 'Average',
  ...extra,
});
const now = new Date(t0 + 180_000);

describe('alarm evaluation (AWS: "Evaluating an alarm", "treat missing data")', () => {
  it('goes to ALARM when M of the last N periods breach, OK otherwise', () => {
    expect(evaluateAlarm(rule(), periods(90, 95, 99), 'OK', now).state).to.equal('ALARM');
    expect(evaluateAlarm(rule(), periods(90, 10, 99), 'OK', now).state).to.equal('OK');
    // DatapointsToAlarm 2 of 3
    expect(evaluateAlarm(rule({ datapointsToAlarm: 2 }), periods(90, 10, 99), 'OK', now).state).to.equal('ALARM');
    // only the last N periods count
    expect(evaluateAlarm(rule({ evaluationPeriods: 2 }), periods(99, 10, 10), 'ALARM', now).state).to.equal('OK');
  });

  it('compares as each operator says, the threshold itself included or not', () => {
    const one = (op: string, v: number) => evaluateAlarm(rule({ comparisonOperator: op, evaluationPeriods: 1 }), periods(v), 'OK', now).state;
    expect(one('GreaterThanThreshold', 80)).to.equal('OK');
    expect(one('GreaterThanOrEqualToThreshold', 80)).to.equal('ALARM');
    expect(one('LessThanThreshold', 79.9)).to.equal('ALARM');
    expect(one('LessThanOrEqualToThreshold', 80.1)).to.equal('OK');
  });

  it('treats missing data as AWS does: missing, ignore, breaching, notBreaching', () => {
    const none = periods(null, null, null);
    expect(evaluateAlarm(rule(), none, 'OK', now).state).to.equal('INSUFFICIENT_DATA');
    expect(evaluateAlarm(rule({ treatMissingData: 'ignore' }), none, 'ALARM', now).state).to.equal('ALARM');
    expect(evaluateAlarm(rule({ treatMissingData: 'breaching' }), none, 'OK', now).state).to.equal('ALARM');
    expect(evaluateAlarm(rule({ treatMissingData: 'notBreaching' }), none, 'ALARM', now).state).to.equal('OK');
    // with some data: missing periods are skipped ('missing'), or count as breaching
    expect(evaluateAlarm(rule(), periods(null, 90, 95), 'OK', now).state).to.equal('OK');
    expect(evaluateAlarm(rule({ datapointsToAlarm: 2 }), periods(null, 90, 95), 'OK', now).state).to.equal('ALARM');
    expect(evaluateAlarm(rule({ treatMissingData: 'breaching' }), periods(null, 90, 95), 'OK', now).state).to.equal('ALARM');
    expect(evaluateAlarm(rule({ treatMissingData: 'notBreaching' }), periods(null, 90, 95), 'OK', now).state).to.equal('OK');
  });

  it("writes CloudWatch's reason and reason data", () => {
    const e = evaluateAlarm(rule({ evaluationPeriods: 2 }), periods(90, 95.5), 'OK', now);
    expect(e.reason).to.equal(
      'Threshold Crossed: 2 out of the last 2 datapoints [95.5 (07/12/26 04:01:00), 90.0 (07/12/26 04:00:00)] were greater than the threshold (80.0) (minimum 2 datapoints for OK -> ALARM transition).',
    );
    const data = JSON.parse(e.reasonData);
    expect(data).to.include({ version: '1.0', statistic: 'Average', period: 60, threshold: 80 });
    expect(data.recentDatapoints).to.deep.equal([90, 95.5]);
  });
});

describe('metric collector arithmetic', () => {
  const container = { cpuNs: 0, rssBytes: 0, limitBytes: 1 << 30, readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
  const port = { rxBytes: 0, rxPackets: 0, txBytes: 0, txPackets: 0 };
  it('turns counters into CPUUtilization of the vCPUs, bytes and packets per interval, and memory use', () => {
    const prev = { at: 0, container, port };
    const m = instanceMetrics(
      prev,
      10_000,
      { ...container, cpuNs: 10e9, rssBytes: 256 << 20 },
      { rxBytes: 100, rxPackets: 2, txBytes: 5000, txPackets: 7 },
      2,
      512,
    );
    expect(m.CPUUtilization.value).to.equal(50); // 10 s of CPU in 10 s on 2 vCPUs
    expect(m.NetworkIn.value).to.equal(5000); // what the host side sends, the instance receives
    expect(m.NetworkOut.value).to.equal(100);
    expect(m.NetworkPacketsIn.value).to.equal(7);
    expect(m.mem_used_percent).to.deep.equal({ value: 50, unit: 'Percent', namespace: 'CWAgent' });
  });
  it('parses the node agent usage lines and skips garbage', () => {
    const u = parseUsage('instance i-0a 12 34 56 1 2 3 4\nport oc0a 1 2 3 4 \ninstance i-bad x y\nnoise\n');
    expect(u.containers.get('i-0a')).to.deep.equal({ cpuNs: 12, rssBytes: 34, limitBytes: 56, readBytes: 1, writeBytes: 2, readOps: 3, writeOps: 4 });
    expect(u.ports.get('oc0a')).to.deep.equal({ rxBytes: 1, rxPackets: 2, txBytes: 3, txPackets: 4 });
    expect(u.containers.size).to.equal(1);
  });
  it('identifies a metric by its sorted dimension set', () => {
    expect(
      dimensionsKey([
        { Name: 'b', Value: '2' },
        { Name: 'a', Value: '1' },
      ]),
    ).to.equal(
      dimensionsKey([
        { Name: 'a', Value: '1' },
        { Name: 'b', Value: '2' },
      ]),
    );
  });
});

describe('SNS deliveries', () => {
  it('signs the fields AWS lists, in order, and the signature verifies with the public key (SignatureVersion 2)', () => {
    const notification = {
      Type: 'Notification',
      MessageId: 'm-1',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:t',
      Subject: 's',
      Message: 'hello',
      Timestamp: '2026-12-07T04:00:00.000Z',
    };
    expect(stringToSign(notification)).to.equal(
      'Message\nhello\nMessageId\nm-1\nSubject\ns\nTimestamp\n2026-12-07T04:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nNotification\n',
    );
    const { Subject: _subject, ...withoutSubject } = notification;
    expect(stringToSign(withoutSubject)).not.to.contain('Subject');
    const confirmation = {
      Type: 'SubscriptionConfirmation',
      MessageId: 'm',
      Token: 'tok',
      TopicArn: 't',
      Message: 'm',
      SubscribeURL: 'http://x/',
      Timestamp: 'ts',
    };
    expect(stringToSign(confirmation)).to.equal(
      'Message\nm\nMessageId\nm\nSubscribeURL\nhttp://x/\nTimestamp\nts\nToken\ntok\nTopicArn\nt\nType\nSubscriptionConfirmation\n',
    );
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signature = signSha256(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, stringToSign(notification));
    expect(createVerify('RSA-SHA256').update(stringToSign(notification)).verify(publicKey, signature, 'base64')).to.equal(true);
  });
  it('backs off exponentially up to five minutes', () => {
    expect([1, 2, 3, 4, 9, 10, 12].map(backoffSeconds)).to.deep.equal([1, 2, 4, 8, 256, 300, 300]);
  });
  it('knows an admin alarm by level and subject, whatever its counts', () => {
    expect(noticeKey({ level: 'warning', subject: 'errors' })).to.equal('warning|errors');
  });
});
