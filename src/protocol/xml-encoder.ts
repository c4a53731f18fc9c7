/**
 * Encodes responses as EC2 writes them: `<XResponse xmlns=...><requestId>..` with element names from the
 * model's locationNames and lists as `<item>` elements. Values are given keyed by the model's member names
 * (the same names the SDKs expose), so an action never writes XML by hand.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { shape, XML_NAMESPACE } from './model';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

type Tree = Record<string, unknown> | string | Tree[];

function encodeValue(shapeName: string, value: unknown, path: string): Tree {
  const s = shape(shapeName);
  switch (s.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null) throw new Error(`${path}: expected an object for ${shapeName}`);
      const out: Record<string, unknown> = {};
      const members = s.members ?? {};
      for (const [name, v] of Object.entries(value)) {
        if (v === undefined || v === null) continue;
        const ref = members[name];
        if (!ref) throw new Error(`${path}: ${name} is not a member of ${shapeName}`);
        out[ref.locationName ?? name] = encodeValue(ref.shape, v, `${path}.${name}`);
      }
      return out;
    }
    case 'list': {
      if (!Array.isArray(value)) throw new Error(`${path}: expected an array for ${shapeName}`);
      if (value.length === 0) return '';
      return { [s.member!.locationName ?? 'item']: value.map((v, i) => encodeValue(s.member!.shape, v, `${path}[${i}]`)) };
    }
    case 'boolean':
      return value ? 'true' : 'false';
    case 'timestamp':
      return (value instanceof Date ? value : new Date(value as string)).toISOString();
    case 'blob':
      return Buffer.isBuffer(value) ? value.toString('base64') : String(value);
    default:
      return String(value);
  }
}

export function encodeResponse(action: string, outputShape: string | undefined, requestId: string, value: object): string {
  const body: Record<string, unknown> = { '@_xmlns': XML_NAMESPACE, requestId };
  if (outputShape) Object.assign(body, encodeValue(outputShape, value, action));
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [`${action}Response`]: body })}`;
}

export function encodeError(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({
    Response: { Errors: { Error: { Code: code, Message: message } }, RequestID: requestId },
  })}`;
}
