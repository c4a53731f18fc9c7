/** The one error catalogue and its mapping to the wire, kept in step by this test (as fastify keeps its own). */
import { expect } from 'chai';
import { DomainError, errors } from '../../src/domain/errors';
import { toWire } from '../../src/protocol/errors';

const KINDS = ['invalid', 'not-found', 'conflict', 'forbidden', 'unauthenticated', 'unavailable', 'internal'];

/** Every entry of the catalogue, built with placeholder arguments (a list where the entry takes ids). */
function everyError(): [string, DomainError][] {
  return Object.entries(errors).map(([name, make]) => {
    const args = name === 'instanceNotFound' ? [['i-0123456789abcdef0']] : name === 'instanceTypesNotFound' ? [['x9.huge']] : ['x', 'y', 'z'];
    return [name, (make as (...a: unknown[]) => DomainError)(...args)];
  });
}

describe('error catalogue', () => {
  it('every entry is a DomainError of a known kind, with a message, that each wire can carry', () => {
    for (const [name, err] of everyError()) {
      expect(err, name).to.be.instanceOf(DomainError);
      expect(KINDS, name).to.include(err.kind);
      expect(err.message, name).to.be.a('string').and.not.equal('');
      for (const format of ['ec2-xml', 'json'] as const) {
        const wire = toWire(err, format);
        expect(wire.status, `${name} on ${format}`).to.be.within(400, 599);
        expect(wire.code, `${name} on ${format}`).to.match(/^[A-Z][A-Za-z0-9.]+$/);
      }
    }
  });

  it('EC2 answers 400 for client errors but for the codes it sets apart', () => {
    const expected: Record<string, number> = {
      AuthFailure: 401,
      MissingAuthenticationToken: 401,
      SignatureDoesNotMatch: 403,
      UnauthorizedOperation: 403,
      DryRunOperation: 412,
      RequestEntityTooLarge: 413,
      InsufficientInstanceCapacity: 500,
      InternalError: 500,
      OarCommandFailed: 502,
      Unavailable: 503,
    };
    for (const [name, err] of everyError()) {
      const { status, code } = toWire(err, 'ec2-xml');
      expect(status, `${name} (${code})`).to.equal(expected[code] ?? 400);
    }
  });

  it('the admin JSON API says what happened with the status, and names errors without an EC2 code by their kind', () => {
    expect(toWire(errors.notFound('There is no instance.'), 'json')).to.deep.equal({ status: 404, code: 'NotFound', message: 'There is no instance.' });
    expect(toWire(errors.conflict('It is stopped already.'), 'json')).to.deep.equal({ status: 409, code: 'IncorrectState', message: 'It is stopped already.' });
    expect(toWire(errors.instanceNotFound(['i-0123456789abcdef0']), 'json').status).to.equal(404);
    expect(toWire(errors.instanceNotFound(['i-0123456789abcdef0']), 'ec2-xml').status).to.equal(400);
    expect(toWire(errors.invalidParameterValue('node', '', 'bad'), 'json')).to.include({ status: 400, code: 'InvalidParameterValue' });
  });
});
