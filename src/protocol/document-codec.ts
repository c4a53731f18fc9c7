/**
 * The two document protocols CloudWatch speaks beside Query, driven by the same model:
 * - JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`; what the aws CLI, boto3 and the JS SDK v3 send):
 *   timestamps as epoch seconds, blobs as base64;
 * - Smithy RPC v2 CBOR (`POST /service/<prefix>/operation/<Op>`, `smithy-protocol: rpc-v2-cbor`; what newer SDKs
 *   pick first): timestamps as CBOR tag 1, blobs as byte strings (node-cbor).
 * Both decode into the same input object the Query decoder gives (Dates, numbers, member names) and check it against
 * the model: types, enums, required members; unknown members are refused by name.
 * Errors: `{"__type": Code, "message": ..}` plus `x-amzn-query-error: Code;Sender|Receiver`, with which
 * awsQueryCompatible clients recover the Query error code.
 */
import cbor from 'cbor';
import { errors } from '../domain/errors';
import type { ServiceModel } from './model';

export type DocumentFormat = 'json' | 'cbor';

export const CONTENT_TYPE: Record<DocumentFormat, string> = { json: 'application/x-amz-json-1.0', cbor: 'application/cbor' };

/** The body as a document: `{}` for an empty body, as clients send for operations without input. */
export function parseBody(format: DocumentFormat, raw: Buffer): unknown {
  if (raw.length === 0) return {};
  try {
    return format === 'json' ? JSON.parse(raw.toString('utf8')) : cbor.decodeFirstSync(raw);
  } catch {
    throw errors.serializationException(format === 'json' ? 'The request body is not valid JSON.' : 'The request body is not valid CBOR.');
  }
}

function decodeValue(model: ServiceModel, shapeName: string, value: unknown, path: string): unknown {
  if (value === null || value === undefined) return undefined;
  const s = model.shape(shapeName);
  const wrong = (what: string) => errors.serializationException(`${path || 'The request'} must be ${what}.`);
  switch (s.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value) || value instanceof Date || Buffer.isBuffer(value)) throw wrong('an object');
      const out: Record<string, unknown> = {};
      const members = s.members ?? {};
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
        const ref = Object.prototype.hasOwnProperty.call(members, name) ? members[name] : undefined;
        if (!ref) throw errors.unknownParameter(path ? `${path}.${name}` : name);
        const decoded = decodeValue(model, ref.shape, v, path ? `${path}.${name}` : name);
        if (decoded !== undefined) out[name] = decoded;
      }
      for (const req of s.required ?? []) if (out[req] === undefined) throw errors.missingParameter(path ? `${path}.${req}` : req);
      return out;
    }
    case 'list':
      if (!Array.isArray(value)) throw wrong('a list');
      return value.map((v, i) => decodeValue(model, s.member!.shape, v, `${path}[${i}]`)).filter((v) => v !== undefined);
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) throw wrong('a map');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = decodeValue(model, s.value!.shape, v, `${path}.${k}`);
      return out;
    }
    case 'string':
      if (typeof value !== 'string') throw wrong('a string');
      if (value.includes('\u0000')) throw errors.invalidParameterValue(path, value.replaceAll('\u0000', '\\0'), 'It must not contain NUL characters.');
      if (s.enum && !s.enum.includes(value)) throw errors.invalidParameterValue(path, value);
      return value;
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrong('an integer');
      return value;
    case 'double':
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrong('a number');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong('true or false');
      return value;
    case 'timestamp': {
      const d = value instanceof Date ? value : typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : null;
      if (!d || Number.isNaN(d.getTime())) throw wrong('a timestamp (epoch seconds)');
      return d;
    }
    case 'blob':
      if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value);
      if (typeof value === 'string') return Buffer.from(value, 'base64');
      throw wrong('a blob');
    default:
      throw errors.unknownParameter(path);
  }
}

export function decodeDocument(model: ServiceModel, inputShape: string | undefined, document: unknown): Record<string, unknown> {
  if (!inputShape) {
    if (document && typeof document === 'object') for (const name of Object.keys(document)) throw errors.unknownParameter(name);
    return {};
  }
  return decodeValue(model, inputShape, document, '') as Record<string, unknown>;
}

function encodeValue(model: ServiceModel, shapeName: string, value: unknown, format: DocumentFormat, path: string): unknown {
  const s = model.shape(shapeName);
  switch (s.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null) throw new Error(`${path}: expected an object for ${shapeName}`);
      const out: Record<string, unknown> = {};
      for (const [name, v] of Object.entries(value)) {
        if (v === undefined || v === null) continue;
        const ref = s.members?.[name];
        if (!ref) throw new Error(`${path}: ${name} is not a member of ${shapeName}`);
        out[name] = encodeValue(model, ref.shape, v, format, `${path}.${name}`);
      }
      return out;
    }
    case 'list':
      if (!Array.isArray(value)) throw new Error(`${path}: expected an array for ${shapeName}`);
      return value.map((v, i) => encodeValue(model, s.member!.shape, v, format, `${path}[${i}]`));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as object))
        if (v !== undefined && v !== null) out[k] = encodeValue(model, s.value!.shape, v, format, `${path}.${k}`);
      return out;
    }
    case 'timestamp': {
      const d = value instanceof Date ? value : new Date(value as string);
      return format === 'cbor' ? d : d.getTime() / 1000;
    }
    case 'blob':
      return format === 'cbor' ? value : Buffer.from(value as Buffer).toString('base64');
    case 'integer':
    case 'long':
    case 'double':
    case 'float':
      return Number(value);
    case 'boolean':
      return Boolean(value);
    default:
      return String(value);
  }
}

export function encodeDocument(model: ServiceModel, action: string, value: object, format: DocumentFormat): Buffer | string {
  const op = model.operation(action)!;
  const document = op.output ? encodeValue(model, op.output, value, format, action) : {};
  return format === 'json' ? JSON.stringify(document) : cbor.encode(document);
}

/** An error as a document, and the headers that carry its Query code. */
export function encodeDocumentError(
  format: DocumentFormat,
  code: string,
  message: string,
  sender: boolean,
): { body: Buffer | string; headers: Record<string, string> } {
  const document = { __type: code, message };
  return {
    body: format === 'json' ? JSON.stringify(document) : cbor.encode(document),
    headers: { 'x-amzn-query-error': `${code};${sender ? 'Sender' : 'Receiver'}`, 'x-amzn-errortype': code },
  };
}
