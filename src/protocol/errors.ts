/**
 * How a DomainError (domain/errors.ts) goes on the wire: its HTTP status and code for the EC2 XML API, for the
 * other AWS services (the status their model gives the code) and for the admin JSON API, decided here once. EC2 answers every client error with 400 but for a few codes of its own; the
 * admin API is a REST API and says what happened with the status itself.
 */
import type { DomainError, ErrorKind } from '../domain/errors';

/** EC2's XML; the admin JSON API; and the AWS protocols whose statuses the service model gives (Query, JSON 1.0, CBOR). */
export type WireFormat = 'ec2-xml' | 'json' | 'modelled';

const EC2_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  'not-found': 400,
  conflict: 400,
  forbidden: 403,
  unauthenticated: 401,
  unavailable: 503,
  internal: 500,
};
const JSON_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  forbidden: 403,
  unauthenticated: 401,
  unavailable: 503,
  internal: 500,
};
/** Codes whose status EC2 (and so every client's retry logic) knows apart from their kind's. */
const STATUS_BY_CODE: Record<string, number> = {
  RequestEntityTooLarge: 413,
  DryRunOperation: 412,
  IncompleteSignature: 400,
  InsufficientInstanceCapacity: 500,
  OarCommandFailed: 502,
};
/** The code a kind goes by where the error has no EC2 code of its own. */
const CODE_BY_KIND: Record<ErrorKind, string> = {
  invalid: 'InvalidParameterValue',
  'not-found': 'NotFound',
  conflict: 'IncorrectState',
  forbidden: 'UnauthorizedOperation',
  unauthenticated: 'AuthFailure',
  unavailable: 'Unavailable',
  internal: 'InternalError',
};

export interface WireError {
  status: number;
  code: string;
  message: string;
}

/**
 * `modelStatus`: for 'modelled', the status the service's model gives each of its error codes (SNS `NotFound` 404,
 * CloudWatch `ResourceNotFound` 404); codes it does not list (signature, protocol) answer as EC2 would.
 */
export function toWire(err: DomainError, format: WireFormat, modelStatus: Readonly<Record<string, number>> = {}): WireError {
  const code = err.code ?? CODE_BY_KIND[err.kind];
  const status = (format === 'modelled' ? modelStatus[code] : undefined) ?? STATUS_BY_CODE[code] ?? (format === 'json' ? JSON_STATUS : EC2_STATUS)[err.kind];
  return { status, code, message: err.message };
}
