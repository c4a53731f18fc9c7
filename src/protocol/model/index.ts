/** Typed access to the generated service models (see generate.ts): EC2, Elastic Load Balancing v2, CloudWatch, SNS, EventBridge Scheduler. */
import ec2 from './ec2-model.json';
import elbv2 from './elbv2-model.json';
import cloudwatch from './cloudwatch-model.json';
import sns from './sns-model.json';
import scheduler from './scheduler-model.json';

export interface MemberRef {
  shape: string;
  /** REST protocols: where the member travels (`uri`, `querystring`, `header`), the body when absent. */
  location?: 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';
  locationName?: string;
  queryName?: string;
  flattened?: boolean;
}
export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float';
  members?: Record<string, MemberRef>;
  required?: string[];
  member?: MemberRef;
  /** A map's key and value (the Query protocol names them `entry.N.key`/`.value` unless locationNames say else). */
  key?: MemberRef;
  value?: MemberRef;
  flattened?: boolean;
  enum?: string[];
  /** Bounds the model sets on strings (length), numbers (value) and lists (size). */
  min?: number;
  max?: number;
  /** A string's pattern (REST-JSON services check it; the Query services' models rarely set one). */
  pattern?: string;
}
export interface Operation {
  input?: string;
  output?: string;
  /** The Query protocol's wrapper element of the output (`DescribeLoadBalancersResult`). */
  resultWrapper?: string;
  /** REST protocols: the method and path template (`/schedules/{Name}`) that name the operation, and its status. */
  http?: { method: string; requestUri: string; responseCode?: number };
}

interface ModelJson {
  metadata: { apiVersion: string; xmlNamespace?: string; protocol: string; protocols?: string[]; targetPrefix?: string; signingName: string };
  operations: object;
  errorStatus?: Record<string, number>;
  shapes: object;
}

/**
 * One service's model: its protocol (`ec2`, `query` or `rest-json`), the other wire protocols it speaks (CloudWatch: JSON 1.0
 * and RPC v2 CBOR beside Query), signing name, namespace, operations and shapes.
 */
export class ServiceModel {
  readonly protocol: 'ec2' | 'query' | 'rest-json';
  /** `json` and/or `smithy-rpc-v2-cbor` when the model lists them. */
  readonly protocols: readonly string[];
  /** JSON 1.0's X-Amz-Target prefix and RPC v2's service name (`GraniteServiceVersion20100801`). */
  readonly targetPrefix?: string;
  readonly signingName: string;
  readonly apiVersion: string;
  /** The namespace of its XML answers, with the trailing slash they carry. */
  readonly xmlNamespace: string;
  /** The HTTP status the model gives each error code (SNS's NotFound: 404); EC2's model has none. */
  readonly errorStatus: Readonly<Record<string, number>>;
  private readonly shapes: Record<string, Shape>;
  private readonly operations: Record<string, Operation>;

  constructor(json: ModelJson) {
    const { protocol } = json.metadata;
    this.protocol = protocol === 'ec2' || protocol === 'rest-json' ? protocol : 'query';
    this.protocols = json.metadata.protocols ?? [json.metadata.protocol];
    this.targetPrefix = json.metadata.targetPrefix;
    this.signingName = json.metadata.signingName;
    this.apiVersion = json.metadata.apiVersion;
    const namespace = json.metadata.xmlNamespace ?? '';
    this.xmlNamespace = namespace.endsWith('/') ? namespace : `${namespace}/`;
    this.errorStatus = json.errorStatus ?? {};
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
export const cloudwatchModel = new ServiceModel(cloudwatch as ModelJson);
export const snsModel = new ServiceModel(sns as ModelJson);
export const schedulerModel = new ServiceModel(scheduler as ModelJson);
