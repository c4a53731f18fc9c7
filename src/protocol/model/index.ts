/** Typed access to the generated service models (see generate.ts): EC2's and Elastic Load Balancing v2's. */
import ec2 from './ec2-model.json';
import elbv2 from './elbv2-model.json';

export interface MemberRef {
  shape: string;
  locationName?: string;
  queryName?: string;
  flattened?: boolean;
}
export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float';
  members?: Record<string, MemberRef>;
  required?: string[];
  member?: MemberRef;
  flattened?: boolean;
  enum?: string[];
}
export interface Operation {
  input?: string;
  output?: string;
  /** The Query protocol's wrapper element of the output (`DescribeLoadBalancersResult`). */
  resultWrapper?: string;
}

interface ModelJson {
  metadata: { apiVersion: string; xmlNamespace: string; protocol: string; signingName: string };
  operations: object;
  shapes: object;
}

/** One service's model: its wire protocol (`ec2` or `query`), signing name, namespace, operations and shapes. */
export class ServiceModel {
  readonly protocol: 'ec2' | 'query';
  readonly signingName: string;
  readonly apiVersion: string;
  /** The namespace of its XML answers, with the trailing slash they carry. */
  readonly xmlNamespace: string;
  private readonly shapes: Record<string, Shape>;
  private readonly operations: Record<string, Operation>;

  constructor(json: ModelJson) {
    this.protocol = json.metadata.protocol === 'ec2' ? 'ec2' : 'query';
    this.signingName = json.metadata.signingName;
    this.apiVersion = json.metadata.apiVersion;
    this.xmlNamespace = json.metadata.xmlNamespace.endsWith('/') ? json.metadata.xmlNamespace : `${json.metadata.xmlNamespace}/`;
    this.shapes = json.shapes as Record<string, Shape>;
    this.operations = json.operations as Record<string, Operation>;
  }

  shape(name: string): Shape {
    const s = this.shapes[name];
    if (!s) throw new Error(`unknown shape ${name}`);
    return s;
  }
  operation(name: string): Operation | undefined {
    return Object.prototype.hasOwnProperty.call(this.operations, name) ? this.operations[name] : undefined;
  }
  modelledOperations(): string[] {
    return Object.keys(this.operations);
  }
}

export const ec2Model = new ServiceModel(ec2 as ModelJson);
export const elbv2Model = new ServiceModel(elbv2 as ModelJson);
