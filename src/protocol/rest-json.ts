/**
 * The REST-JSON protocol (EventBridge Scheduler), driven by the model: an operation is named by its method and path
 * template (`POST /schedules/{Name}`), its input members travel in the path, the query string, headers or the JSON
 * body as each member's `location` says; the answer is the output as JSON (timestamps in epoch seconds) with the
 * operation's status. Errors: `{"Message": ..}` with the code in `X-Amzn-ErrorType`, which is where the Go SDK
 * (Terraform), botocore and the JS SDK v3 read it. Every input fault, including the model's constraints (lengths,
 * patterns, ranges), answers the service's own `ValidationException` in AWS's words.
 */
import { DomainError, errors } from '../domain/errors';
import { decodeDocument, encodeDocument, parseBody } from './document-codec';
import type { ServiceModel, Shape } from './model';

export const REST_JSON_CONTENT_TYPE = 'application/json';

/** What an HTTP request brings for one operation: path labels (decoded), query string, headers and raw body. */
export interface RestRequest {
  labels: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const validation = errors.validationException;

/** A string from the path, query or a header as the member's type (JSON's), for the document decoder to check. */
function fromText(shape: Shape, text: string, name: string): unknown {
  switch (shape.type) {
    case 'integer':
    case 'long': {
      if (!/^-?\d+$/.test(text))
        throw validation(`1 validation error detected: Value '${text.slice(0, 100)}' at '${name}' failed to satisfy constraint: Member must be an integer`);
      return Number(text);
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false')
        throw validation(`1 validation error detected: Value '${text.slice(0, 100)}' at '${name}' failed to satisfy constraint: Member must be true or false`);
      return text === 'true';
    default:
      return text;
  }
}

/** AWS writes constraint faults with the member path in lower camel case (`target.roleArn`). */
const awsPath = (path: string) => path.replace(/(^|\.)([A-Z])/g, (_, dot: string, c: string) => dot + c.toLowerCase());

/** The model's bounds and patterns on a decoded value; the first fault, in AWS's words. */
function checkConstraints(model: ServiceModel, shapeName: string, value: unknown, path: string): void {
  const s = model.shape(shapeName);
  const fault = (what: string) => {
    const shown = typeof value === 'string' || typeof value === 'number' ? `'${String(value).slice(0, 200)}'` : 'null';
    return validation(`1 validation error detected: Value ${shown} at '${awsPath(path)}' failed to satisfy constraint: Member must ${what}`);
  };
  switch (s.type) {
    case 'structure':
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
        const ref = s.members![name];
        checkConstraints(model, ref.shape, v, path ? `${path}.${name}` : name);
      }
      return;
    case 'list': {
      const list = value as unknown[];
      if (s.min !== undefined && list.length < s.min) throw fault(`have length greater than or equal to ${s.min}`);
      if (s.max !== undefined && list.length > s.max) throw fault(`have length less than or equal to ${s.max}`);
      list.forEach((v, i) => checkConstraints(model, s.member!.shape, v, `${path}.${i + 1}.member`));
      return;
    }
    case 'map':
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) checkConstraints(model, s.value!.shape, v, `${path}.${k}`);
      return;
    case 'string': {
      const text = value as string;
      if (s.min !== undefined && text.length < s.min) throw fault(`have length greater than or equal to ${s.min}`);
      if (s.max !== undefined && text.length > s.max) throw fault(`have length less than or equal to ${s.max}`);
      if (s.pattern && !matches(s.pattern, text)) throw fault(`satisfy regular expression pattern: ${s.pattern}`);
      return;
    }
    case 'integer':
    case 'long':
      if (s.min !== undefined && (value as number) < s.min) throw fault(`have value greater than or equal to ${s.min}`);
      if (s.max !== undefined && (value as number) > s.max) throw fault(`have value less than or equal to ${s.max}`);
      return;
    default:
      return;
  }
}

const patterns = new Map<string, RegExp | null>();
/** Java-flavoured model patterns; one JavaScript cannot compile is not enforced rather than refusing everything. */
function matches(pattern: string, text: string): boolean {
  if (!patterns.has(pattern)) {
    try {
      patterns.set(pattern, new RegExp(pattern));
    } catch {
      patterns.set(pattern, null);
    }
  }
  return patterns.get(pattern)?.test(text) ?? true;
}

/** The operation's input from the request, checked against the model. */
export function decodeRestJson(model: ServiceModel, operation: string, req: RestRequest): Record<string, unknown> {
  const op = model.operation(operation)!;
  if (!op.input) return {};
  const shape = model.shape(op.input);
  try {
    const document = parseBody('json', req.body);
    if (typeof document !== 'object' || document === null || Array.isArray(document)) throw validation('The request body must be a JSON object.');
    const input = { ...(document as Record<string, unknown>) };
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      if (!ref.location) continue;
      if (name in input) throw validation(`The member ${name} belongs in the ${ref.location === 'uri' ? 'path' : ref.location}, not the body.`);
      const key = ref.locationName ?? name;
      const member = model.shape(ref.shape);
      if (ref.location === 'uri') {
        if (req.labels[key] !== undefined) input[name] = fromText(member, req.labels[key], name);
      } else if (ref.location === 'querystring') {
        const values = req.query.getAll(key);
        if (values.length === 0) continue;
        input[name] = member.type === 'list' ? values.map((v) => fromText(model.shape(member.member!.shape), v, name)) : fromText(member, values[0], name);
      } else if (ref.location === 'header') {
        const header = req.headers[key.toLowerCase()];
        if (header !== undefined) input[name] = fromText(member, Array.isArray(header) ? header.join(',') : header, name);
      }
    }
    const decoded = decodeDocument(model, op.input, input);
    checkConstraints(model, op.input, decoded, '');
    return decoded;
  } catch (err) {
    // the document decoder speaks the Query codes (MissingParameter, SerializationException): this service has one
    if (err instanceof DomainError && err.kind === 'invalid' && err.code !== 'ValidationException') throw validation(err.message);
    throw err;
  }
}

/** The output as the body, and the status the operation answers with. */
export function encodeRestJson(model: ServiceModel, operation: string, value: object): { status: number; body: string } {
  const op = model.operation(operation)!;
  return { status: op.http?.responseCode ?? 200, body: encodeDocument(model, operation, value, 'json') as string };
}

export function encodeRestJsonError(code: string, message: string): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify({ Message: message }), headers: { 'x-amzn-errortype': code } };
}

/** The routes an operation answers on, as Koa paths (`/schedules/:Name`). */
export function restRoutes(model: ServiceModel): { method: string; path: string; operation: string }[] {
  return model.modelledOperations().map((operation) => {
    const { method, requestUri } = model.operation(operation)!.http!;
    if (/[?+]/.test(requestUri)) throw new Error(`${operation}: ${requestUri} needs query literals or greedy labels, which are not routed yet`);
    return { method, path: requestUri.replace(/\{(\w+)\}/g, ':$1'), operation };
  });
}
