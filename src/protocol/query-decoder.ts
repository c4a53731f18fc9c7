/**
 * Decodes Query parameters (EC2's `InstanceId.1=..`, `Filter.1.Value.2=..`, `Placement.AvailabilityZone=..`, or the
 * Query protocol's `Subnets.member.1=..`) into a request object keyed by the model's member names, validating types,
 * enums and required members on the way.
 *
 * The flat parameters are first folded into a tree on '.', then the tree is walked alongside the input shape:
 * linear in the number of parameters, and every parameter the shape does not consume is reported by name.
 * EC2's wire name of a member is its queryName, else its locationName with a capital first letter, else its
 * member name, and its lists are always "flattened" (`Name.N`, N ≥ 1, in any order). The Query protocol names a
 * member by its locationName or name, and its lists are `Name.member.N` unless the model flattens them.
 */
import { errors } from '../domain/errors';
import type { MemberRef, ServiceModel, Shape } from './model';

/** Parameters that belong to the protocol or to signing, never to an action's input. */
const ENVELOPE_PARAMETERS = new Set([
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);
export const LIMITS = { parameters: 2000, depth: 12, listIndex: 10_000 } as const;

interface Node {
  value?: string;
  children: Map<string, Node>;
  path: string;
}

function buildTree(params: Record<string, string>): Node {
  const keys = Object.keys(params);
  if (keys.length > LIMITS.parameters) {
    throw errors.invalidParameter(`The request has ${keys.length} parameters; at most ${LIMITS.parameters} are accepted.`);
  }
  const root: Node = { children: new Map(), path: '' };
  for (const key of keys) {
    if (ENVELOPE_PARAMETERS.has(key)) continue;
    const parts = key.split('.');
    if (parts.length > LIMITS.depth || parts.some((p) => p === '')) throw errors.unknownParameter(key);
    let node = root;
    for (const part of parts) {
      let child = node.children.get(part);
      if (!child) {
        child = { children: new Map(), path: node.path ? `${node.path}.${part}` : part };
        node.children.set(part, child);
      }
      node = child;
    }
    node.value = params[key];
  }
  return root;
}

export function wireName(memberName: string, ref: MemberRef, protocol: ServiceModel['protocol'] = 'ec2'): string {
  if (protocol === 'query') return ref.locationName ?? memberName;
  if (ref.queryName) return ref.queryName;
  if (ref.locationName) return ref.locationName[0].toUpperCase() + ref.locationName.slice(1);
  return memberName;
}

/**
 * Enums whose values are a catalogue that grows (instance types): the action checks them against the catalogue and
 * answers as EC2 does for that call (RunInstances' "Invalid value ... for InstanceType", DescribeInstanceTypes'
 * InvalidInstanceType).
 */
const OPEN_ENUMS = new Set(['InstanceType']);

function firstLeaf(node: Node): string {
  if (node.value !== undefined) return node.path;
  for (const child of node.children.values()) return firstLeaf(child);
  return node.path;
}

function decodeScalar(s: Shape, shapeName: string, node: Node): unknown {
  if (node.children.size > 0) throw errors.unknownParameter(firstLeaf([...node.children.values()][0]));
  const raw = node.value ?? '';
  // no EC2 value may hold NUL, and PostgreSQL text cannot store it
  if (raw.includes('\u0000')) throw errors.invalidParameterValue(node.path, raw.replaceAll('\u0000', '\\0'), 'It must not contain NUL characters.');
  switch (s.type) {
    case 'string':
      if (s.enum && raw !== '' && !OPEN_ENUMS.has(shapeName) && !s.enum.includes(raw)) throw errors.invalidParameterValue(node.path, raw);
      return raw;
    case 'integer':
    case 'long': {
      if (raw === '') return undefined;
      if (!/^-?\d{1,15}$/.test(raw)) throw errors.invalidParameterValue(node.path, raw, 'It must be an integer.');
      return Number(raw);
    }
    case 'double':
    case 'float': {
      if (raw === '') return undefined;
      const n = Number(raw);
      if (!Number.isFinite(n)) throw errors.invalidParameterValue(node.path, raw, 'It must be a number.');
      return n;
    }
    case 'boolean': {
      if (raw === '') return undefined;
      const lower = raw.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw errors.invalidParameterValue(node.path, raw, 'It must be true or false.');
      return lower === 'true';
    }
    case 'timestamp': {
      if (raw === '') return undefined;
      const d = /^\d+(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
      if (Number.isNaN(d.getTime())) throw errors.invalidParameterValue(node.path, raw, 'It must be an ISO 8601 date.');
      return d;
    }
    case 'blob': {
      if (!/^[A-Za-z0-9+/=\s_-]*$/.test(raw)) throw errors.invalidParameterValue(node.path, raw, 'It must be base64.');
      return Buffer.from(raw, 'base64');
    }
    default:
      throw errors.unknownParameter(node.path);
  }
}

function decodeNode(
  model: ServiceModel,
  shapeName: string,
  node: Node,
  flattened = model.protocol === 'ec2',
  checkedElsewhere: ReadonlySet<string> = NONE,
): unknown {
  const s = model.shape(shapeName);
  if (s.type === 'structure') {
    if (node.value !== undefined && node.path) throw errors.unknownParameter(node.path);
    const out: Record<string, unknown> = {};
    const consumed = new Set<string>();
    for (const [name, ref] of Object.entries(s.members ?? {})) {
      const wire = wireName(name, ref, model.protocol);
      const child = node.children.get(wire);
      if (!child) continue;
      consumed.add(wire);
      const v = decodeNode(model, ref.shape, child, model.protocol === 'ec2' || Boolean(ref.flattened ?? model.shape(ref.shape).flattened));
      if (v !== undefined) out[name] = v;
    }
    for (const [key, child] of node.children) if (!consumed.has(key)) throw errors.unknownParameter(firstLeaf(child));
    for (const req of s.required ?? []) {
      if (out[req] === undefined && !checkedElsewhere.has(req)) {
        const ref = s.members![req];
        const wire = wireName(req, ref, model.protocol);
        throw errors.missingParameter(node.path ? `${node.path}.${wire}` : wire);
      }
    }
    return out;
  }
  if (s.type === 'list') {
    // botocore sends an empty list as `Name=` with nothing under it
    if (node.value === '' && node.children.size === 0) return [];
    if (node.value !== undefined) throw errors.unknownParameter(node.path);
    const items = flattened ? node : node.children.get(s.member?.locationName ?? 'member');
    if (!flattened) {
      // `Name.member.N`: an empty list is sent as `Name=` (no member at all)
      for (const [key, child] of node.children) if (key !== (s.member?.locationName ?? 'member')) throw errors.unknownParameter(firstLeaf(child));
      if (!items) return [];
      if (items.value !== undefined) throw errors.unknownParameter(items.path);
    }
    const entries: [number, Node][] = [];
    for (const [key, child] of items!.children) {
      if (!/^[1-9]\d{0,4}$/.test(key) || Number(key) > LIMITS.listIndex) throw errors.unknownParameter(firstLeaf(child));
      entries.push([Number(key), child]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    return entries.map(([, child]) => decodeNode(model, s.member!.shape, child)).filter((v) => v !== undefined);
  }
  if (s.type === 'map') return decodeMap(model, s, node, flattened);
  return decodeScalar(s, shapeName, node);
}

/** `Name.entry.N.key=..&Name.entry.N.value=..` (SNS's `Attributes`, `MessageAttributes` with Name/Value). */
function decodeMap(model: ServiceModel, s: Shape, node: Node, flattened: boolean): Record<string, unknown> {
  if (node.value === '' && node.children.size === 0) return {};
  if (node.value !== undefined) throw errors.unknownParameter(node.path);
  const keyName = s.key?.locationName ?? 'key';
  const valueName = s.value?.locationName ?? 'value';
  let entries = node;
  if (!flattened) {
    for (const [key, child] of node.children) if (key !== 'entry') throw errors.unknownParameter(firstLeaf(child));
    const inner = node.children.get('entry');
    if (!inner) return {};
    entries = inner;
  }
  const out: Record<string, unknown> = {};
  for (const [index, entry] of entries.children) {
    if (!/^[1-9]\d{0,4}$/.test(index)) throw errors.unknownParameter(firstLeaf(entry));
    for (const [key, child] of entry.children) if (key !== keyName && key !== valueName) throw errors.unknownParameter(firstLeaf(child));
    const keyNode = entry.children.get(keyName);
    const valueNode = entry.children.get(valueName);
    if (!keyNode) throw errors.missingParameter(`${entry.path}.${keyName}`);
    if (!valueNode) throw errors.missingParameter(`${entry.path}.${valueName}`);
    const key = decodeNode(model, s.key!.shape, keyNode) as string;
    out[key] = decodeNode(model, s.value!.shape, valueNode);
  }
  return out;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Decodes the input of an operation; `inputShape` undefined means the operation takes no parameters.
 * `checkedElsewhere`: required members whose absence the action answers itself, with the code EC2 gives there.
 */
export function decodeQuery(
  model: ServiceModel,
  inputShape: string | undefined,
  params: Record<string, string>,
  checkedElsewhere: ReadonlySet<string> = NONE,
): Record<string, unknown> {
  const tree = buildTree(params);
  if (!inputShape) {
    for (const child of tree.children.values()) throw errors.unknownParameter(firstLeaf(child));
    return {};
  }
  return decodeNode(model, inputShape, tree, undefined, checkedElsewhere) as Record<string, unknown>;
}
