/** CloudWatch's three wires and SNS's maps: JSON 1.0 and RPC v2 CBOR documents, Query `entry` maps, error documents. */
import { expect } from 'chai';
import cbor from 'cbor';
import { cloudwatchModel, snsModel } from '../../src/protocol/model';
import { decodeDocument, encodeDocument, encodeDocumentError, parseBody } from '../../src/protocol/document-codec';
import { decodeQuery } from '../../src/protocol/query-decoder';
import { encodeResponse } from '../../src/protocol/xml-encoder';
import { DomainError } from '../../src/domain/errors';
import { toWire } from '../../src/protocol/errors';
import { errors } from '../../src/domain/errors';

function fails(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(DomainError);
    expect((err as DomainError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('CloudWatch JSON 1.0 and RPC v2 CBOR', () => {
  it('decodes a JSON request as the CLI sends it: epoch-second timestamps become dates, members checked against the model', () => {
    const input = decodeDocument(
      cloudwatchModel,
      'GetMetricStatisticsInput',
      parseBody(
        'json',
        Buffer.from(
          JSON.stringify({
            Namespace: 'AWS/EC2',
            MetricName: 'CPUUtilization',
            StartTime: 1767225600,
            EndTime: 1767229200.5,
            Period: 300,
            Statistics: ['Average'],
          }),
        ),
      ),
    );
    expect(input).to.deep.equal({
      Namespace: 'AWS/EC2',
      MetricName: 'CPUUtilization',
      StartTime: new Date(1767225600_000),
      EndTime: new Date(1767229200_500),
      Period: 300,
      Statistics: ['Average'],
    });
  });

  it('refuses unknown members, wrong types, bad enums and missing required members by name', () => {
    fails(() => decodeDocument(cloudwatchModel, 'DeleteAlarmsInput', { AlarmNames: ['a'], Extra: 1 }), 'UnknownParameter');
    fails(() => decodeDocument(cloudwatchModel, 'DeleteAlarmsInput', { AlarmNames: 'a' }), 'SerializationException');
    fails(() => decodeDocument(cloudwatchModel, 'DeleteAlarmsInput', {}), 'MissingParameter');
    fails(() => decodeDocument(cloudwatchModel, 'PutMetricAlarmInput', { AlarmName: 'a', Period: 1.5 }), 'SerializationException');
    fails(() => decodeDocument(cloudwatchModel, 'SetAlarmStateInput', { AlarmName: 'a', StateValue: 'MAYBE', StateReason: 'x' }), 'InvalidParameterValue');
    fails(() => parseBody('json', Buffer.from('{not json')), 'SerializationException');
    fails(() => parseBody('cbor', Buffer.from([0xff, 0xff])), 'SerializationException');
  });

  it('decodes CBOR with tag-1 timestamps and encodes answers with them', () => {
    const body = cbor.encode({
      Namespace: 'App',
      MetricName: 'M',
      StartTime: new Date(1767225600_000),
      EndTime: new Date(1767225660_000),
      Period: 60,
      Statistics: ['Sum'],
    });
    const input = decodeDocument(cloudwatchModel, 'GetMetricStatisticsInput', parseBody('cbor', Buffer.from(body)));
    expect(input.StartTime).to.deep.equal(new Date(1767225600_000));
    const out = cbor.decodeFirstSync(
      encodeDocument(
        cloudwatchModel,
        'GetMetricStatistics',
        { Label: 'M', Datapoints: [{ Timestamp: new Date(1767225600_000), Sum: 3, Unit: 'Count' }] },
        'cbor',
      ) as Buffer,
    );
    expect(out).to.deep.equal({ Label: 'M', Datapoints: [{ Timestamp: new Date(1767225600_000), Sum: 3, Unit: 'Count' }] });
  });

  it('encodes JSON answers with epoch-second timestamps, and omits absent members', () => {
    const json = JSON.parse(
      encodeDocument(
        cloudwatchModel,
        'DescribeAlarms',
        { MetricAlarms: [{ AlarmName: 'a', StateUpdatedTimestamp: new Date(1767225600_250), Threshold: 80, AlarmDescription: undefined }] },
        'json',
      ) as string,
    );
    expect(json).to.deep.equal({ MetricAlarms: [{ AlarmName: 'a', StateUpdatedTimestamp: 1767225600.25, Threshold: 80 }] });
  });

  it('writes errors as {"__type", "message"} with the Query code in x-amzn-query-error, at the status the model gives', () => {
    const { body, headers } = encodeDocumentError('json', 'ResourceNotFound', 'Could not find alarm a.', true);
    expect(JSON.parse(body as string)).to.deep.equal({ __type: 'ResourceNotFound', message: 'Could not find alarm a.' });
    expect(headers['x-amzn-query-error']).to.equal('ResourceNotFound;Sender');
    expect(toWire(errors.alarmNotFound('a'), 'modelled', cloudwatchModel.errorStatus).status).to.equal(404);
    expect(toWire(errors.snsNotFound('Topic does not exist'), 'modelled', snsModel.errorStatus).status).to.equal(404);
    expect(toWire(errors.topicLimitExceeded('Topic limit exceeded'), 'modelled', snsModel.errorStatus).status).to.equal(403);
    // codes the model does not list answer as EC2's
    expect(toWire(errors.signatureDoesNotMatch(), 'modelled', snsModel.errorStatus).status).to.equal(403);
  });
});

describe('Query maps (SNS)', () => {
  it('decodes Attributes.entry.N.key/value and MessageAttributes with their Name/Value location names', () => {
    const input = decodeQuery(snsModel, 'CreateTopicInput', {
      Name: 't',
      'Attributes.entry.1.key': 'DisplayName',
      'Attributes.entry.1.value': 'Ops',
      'Attributes.entry.2.key': 'DeliveryPolicy',
      'Attributes.entry.2.value': '{}',
    });
    expect(input).to.deep.equal({ Name: 't', Attributes: { DisplayName: 'Ops', DeliveryPolicy: '{}' } });
    const publish = decodeQuery(snsModel, 'PublishInput', {
      Message: 'm',
      'MessageAttributes.entry.1.Name': 'kind',
      'MessageAttributes.entry.1.Value.DataType': 'String',
      'MessageAttributes.entry.1.Value.StringValue': 'alarm',
    });
    expect(publish.MessageAttributes).to.deep.equal({ kind: { DataType: 'String', StringValue: 'alarm' } });
    fails(() => decodeQuery(snsModel, 'CreateTopicInput', { Name: 't', 'Attributes.entry.1.key': 'DisplayName' }), 'MissingParameter');
    fails(
      () =>
        decodeQuery(snsModel, 'CreateTopicInput', {
          Name: 't',
          'Attributes.entry.1.key': 'a',
          'Attributes.entry.1.value': 'b',
          'Attributes.entry.1.other': 'c',
        }),
      'UnknownParameter',
    );
  });

  it('encodes maps as <entry><key/><value/></entry>', () => {
    const xml = encodeResponse(snsModel, 'GetTopicAttributes', 'req-1', { Attributes: { Owner: '123456789012', DisplayName: 'Ops' } });
    expect(xml).to.contain(
      '<GetTopicAttributesResult><Attributes><entry><key>Owner</key><value>123456789012</value></entry><entry><key>DisplayName</key><value>Ops</value></entry></Attributes></GetTopicAttributesResult>',
    );
  });
});
