/** The REST-JSON codec, driven by the EventBridge Scheduler model: where members travel, constraints, errors. */
import { expect } from 'chai';
import { decodeRestJson, encodeRestJson, encodeRestJsonError, restRoutes } from '../../src/protocol/rest-json';
import { schedulerModel } from '../../src/protocol/model';
import { schedulerActionRegistry } from '../../src/actions/scheduler';

const GROUP_ARN = 'arn:aws:scheduler:us-east-1:123456789012:schedule-group/g';
const request = (labels: Record<string, string>, query = '', body = '') => ({
  labels,
  query: new URLSearchParams(query),
  headers: {},
  body: Buffer.from(body),
});

describe('REST-JSON codec', () => {
  it('routes every implemented operation by its method and path', () => {
    const routes = restRoutes(schedulerModel);
    expect(routes.find((r) => r.operation === 'CreateSchedule')).to.deep.equal({ method: 'POST', path: '/schedules/:Name', operation: 'CreateSchedule' });
    expect(routes.find((r) => r.operation === 'UntagResource')).to.deep.equal({ method: 'DELETE', path: '/tags/:ResourceArn', operation: 'UntagResource' });
    expect([...schedulerActionRegistry().keys()].sort()).to.deep.equal(routes.map((r) => r.operation).sort());
  });

  it('takes members from the path, the query string (lists repeated, numbers parsed) and the body', () => {
    const create = decodeRestJson(
      schedulerModel,
      'CreateSchedule',
      request(
        { Name: 'nightly' },
        '',
        JSON.stringify({
          ScheduleExpression: 'rate(1 hour)',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: 'a', RoleArn: 'arn:aws:iam::123456789012:role/r' },
          StartDate: 1796650000,
        }),
      ),
    );
    expect(create).to.deep.include({ Name: 'nightly', ScheduleExpression: 'rate(1 hour)' });
    expect((create.StartDate as Date).toISOString()).to.equal(new Date(1796650000_000).toISOString());
    expect(decodeRestJson(schedulerModel, 'ListSchedules', request({}, 'MaxResults=5&ScheduleGroup=g&State=ENABLED'))).to.deep.equal({
      MaxResults: 5,
      GroupName: 'g',
      State: 'ENABLED',
    });
    expect(decodeRestJson(schedulerModel, 'UntagResource', request({ ResourceArn: GROUP_ARN }, 'TagKeys=a&TagKeys=b'))).to.deep.equal({
      ResourceArn: GROUP_ARN,
      TagKeys: ['a', 'b'],
    });
  });

  it("answers every input fault with ValidationException, in AWS's words", () => {
    const fault = (fn: () => unknown) => {
      try {
        fn();
      } catch (err: any) {
        return `${err.code}: ${err.message}`;
      }
      return 'no error';
    };
    expect(fault(() => decodeRestJson(schedulerModel, 'GetSchedule', request({ Name: 'a b' })))).to.equal(
      "ValidationException: 1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$",
    );
    expect(fault(() => decodeRestJson(schedulerModel, 'ListSchedules', request({}, 'MaxResults=500')))).to.equal(
      "ValidationException: 1 validation error detected: Value '500' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    expect(fault(() => decodeRestJson(schedulerModel, 'ListSchedules', request({}, 'MaxResults=many')))).to.match(
      /^ValidationException: .*Member must be an integer$/,
    );
    expect(fault(() => decodeRestJson(schedulerModel, 'CreateScheduleGroup', request({ Name: 'g' }, '', '{"Name":"h"}')))).to.match(
      /^ValidationException: The member Name belongs in the path/,
    );
    expect(fault(() => decodeRestJson(schedulerModel, 'CreateSchedule', request({ Name: 'n' }, '', '{}')))).to.match(
      /^ValidationException: .*FlexibleTimeWindow/,
    );
    expect(fault(() => decodeRestJson(schedulerModel, 'CreateScheduleGroup', request({ Name: 'g' }, '', '[1]')))).to.equal(
      'ValidationException: The request body must be a JSON object.',
    );
  });

  it('answers with JSON (timestamps in epoch seconds) and errors with X-Amzn-ErrorType', () => {
    const created = new Date('2026-12-07T10:00:00.250Z');
    const out = encodeRestJson(schedulerModel, 'GetScheduleGroup', { Name: 'g', CreationDate: created, State: 'ACTIVE' });
    expect(out.status).to.equal(200);
    expect(JSON.parse(out.body)).to.deep.equal({ Name: 'g', CreationDate: created.getTime() / 1000, State: 'ACTIVE' });
    expect(encodeRestJsonError('ConflictException', 'It exists.')).to.deep.equal({
      body: '{"Message":"It exists."}',
      headers: { 'x-amzn-errortype': 'ConflictException' },
    });
    expect(schedulerModel.errorStatus).to.include({ ValidationException: 400, ResourceNotFoundException: 404, ConflictException: 409 });
  });
});
