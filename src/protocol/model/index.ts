/** Typed access to the generated EC2 model (see generate.ts). */
import model from './ec2-model.json';

export interface MemberRef {
  shape: string;
  locationName?: string;
  queryName?: string;
}
export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float';
  members?: Record<string, MemberRef>;
  required?: string[];
  member?: MemberRef;
  enum?: string[];
}
export interface Operation {
  input?: string;
  output?: string;
}

export const XML_NAMESPACE = `${model.metadata.xmlNamespace}/`;
const shapes = model.shapes as unknown as Record<string, Shape>;
const operations = model.operations as unknown as Record<string, Operation>;

export function shape(name: string): Shape {
  const s = shapes[name];
  if (!s) throw new Error(`unknown shape ${name}`);
  return s;
}
export function operation(name: string): Operation | undefined {
  return Object.prototype.hasOwnProperty.call(operations, name) ? operations[name] : undefined;
}
export function modelledOperations(): string[] {
  return Object.keys(operations);
}
