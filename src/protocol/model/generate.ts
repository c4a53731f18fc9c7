/**
 * Generates, from botocore's service models (EC2, ELBv2, CloudWatch, SNS and EventBridge Scheduler, see SERVICE_SPECS), pinned in source/ with
 * their botocore version, for each service:
 * - <service>-model.json: the operations OAR Cloud speaks and every shape they reach, documentation stripped; the
 *   request decoder and the response encoder are driven by it;
 * - <service>-shapes.ts: the same shapes as TypeScript types, so that an action's input and output are checked by
 *   the compiler (a misspelt output member does not build).
 * All are committed; a unit test checks that they equal what this generator makes from the pinned models.
 *
 *   node dist/src/protocol/model/generate.js                   regenerate from the pinned models
 *   node dist/src/protocol/model/generate.js --check           exit 1 if the committed files differ
 *   node dist/src/protocol/model/generate.js --from-botocore   pin the installed botocore's models first
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';

/** EC2 actions we model: those implemented, plus those real clients call that we answer with a proper error. */
const EC2_OPERATIONS = [
  'DescribeRegions',
  'DescribeAvailabilityZones',
  'DescribeAccountAttributes',
  'RunInstances',
  'DescribeInstances',
  'TerminateInstances',
  'StopInstances',
  'StartInstances',
  'RebootInstances',
  'DescribeInstanceStatus',
  'DescribeInstanceAttribute',
  'ModifyInstanceAttribute',
  'DescribeInstanceTypes',
  'DescribeInstanceTypeOfferings',
  'DescribeInstanceCreditSpecifications',
  'GetInstanceUefiData',
  'CreateImage',
  'DescribeImages',
  'DeregisterImage',
  'DescribeImageAttribute',
  'ModifyImageAttribute',
  'DeleteSnapshot',
  'DescribeVolumes',
  'DescribeVpcs',
  'DescribeSubnets',
  'DescribeSecurityGroups',
  'CreateVpc',
  'DeleteVpc',
  'ModifyVpcAttribute',
  'DescribeVpcAttribute',
  'CreateSubnet',
  'DeleteSubnet',
  'ModifySubnetAttribute',
  'CreateInternetGateway',
  'AttachInternetGateway',
  'DetachInternetGateway',
  'DeleteInternetGateway',
  'DescribeInternetGateways',
  'CreateRouteTable',
  'DeleteRouteTable',
  'DescribeRouteTables',
  'CreateRoute',
  'ReplaceRoute',
  'DeleteRoute',
  'AssociateRouteTable',
  'DisassociateRouteTable',
  'ReplaceRouteTableAssociation',
  'CreateNetworkAcl',
  'DeleteNetworkAcl',
  'DescribeNetworkAcls',
  'CreateNetworkAclEntry',
  'ReplaceNetworkAclEntry',
  'DeleteNetworkAclEntry',
  'ReplaceNetworkAclAssociation',
  'CreateSecurityGroup',
  'DeleteSecurityGroup',
  'AuthorizeSecurityGroupIngress',
  'AuthorizeSecurityGroupEgress',
  'RevokeSecurityGroupIngress',
  'RevokeSecurityGroupEgress',
  'DescribeSecurityGroupRules',
  'ModifySecurityGroupRules',
  'DescribeNetworkInterfaces',
  'AllocateAddress',
  'AssociateAddress',
  'DisassociateAddress',
  'ReleaseAddress',
  'DescribeAddresses',
  'DescribeAddressesAttribute',
  'ModifyInstanceMetadataOptions',
  'CreateTags',
  'DeleteTags',
  'DescribeTags',
  'CreateKeyPair',
  'ImportKeyPair',
  'DescribeKeyPairs',
  'DeleteKeyPair',
].sort();

/** Elastic Load Balancing (v2) actions we model: what the aws CLI, boto3 and Terraform's aws_lb family call. */
const ELBV2_OPERATIONS = [
  'CreateLoadBalancer',
  'DescribeLoadBalancers',
  'DeleteLoadBalancer',
  'DescribeLoadBalancerAttributes',
  'ModifyLoadBalancerAttributes',
  'SetSecurityGroups',
  'DescribeCapacityReservation',
  'CreateTargetGroup',
  'DescribeTargetGroups',
  'ModifyTargetGroup',
  'DeleteTargetGroup',
  'DescribeTargetGroupAttributes',
  'ModifyTargetGroupAttributes',
  'RegisterTargets',
  'DeregisterTargets',
  'DescribeTargetHealth',
  'CreateListener',
  'DescribeListeners',
  'ModifyListener',
  'DeleteListener',
  'DescribeListenerAttributes',
  'ModifyListenerAttributes',
  'CreateRule',
  'DescribeRules',
  'ModifyRule',
  'DeleteRule',
  'AddTags',
  'RemoveTags',
  'DescribeTags',
  'DescribeAccountLimits',
].sort();

/** CloudWatch actions we model: metrics, alarms and their tags (what the CLI, boto3 and aws_cloudwatch_metric_alarm call). */
const CLOUDWATCH_OPERATIONS = [
  'GetMetricStatistics',
  'GetMetricData',
  'ListMetrics',
  'PutMetricData',
  'PutMetricAlarm',
  'DescribeAlarms',
  'DescribeAlarmsForMetric',
  'DescribeAlarmHistory',
  'DeleteAlarms',
  'SetAlarmState',
  'EnableAlarmActions',
  'DisableAlarmActions',
  'TagResource',
  'UntagResource',
  'ListTagsForResource',
].sort();

/** SNS actions we model: topics, subscriptions, publishing and tags. */
const SNS_OPERATIONS = [
  'CreateTopic',
  'DeleteTopic',
  'ListTopics',
  'GetTopicAttributes',
  'SetTopicAttributes',
  'Subscribe',
  'ConfirmSubscription',
  'Unsubscribe',
  'ListSubscriptions',
  'ListSubscriptionsByTopic',
  'GetSubscriptionAttributes',
  'SetSubscriptionAttributes',
  'Publish',
  'TagResource',
  'UntagResource',
  'ListTagsForResource',
].sort();

/** EventBridge Scheduler: schedules, schedule groups and their tags (REST-JSON; what aws_scheduler_schedule calls). */
const SCHEDULER_OPERATIONS = [
  'CreateSchedule',
  'GetSchedule',
  'UpdateSchedule',
  'DeleteSchedule',
  'ListSchedules',
  'CreateScheduleGroup',
  'GetScheduleGroup',
  'DeleteScheduleGroup',
  'ListScheduleGroups',
  'TagResource',
  'UntagResource',
  'ListTagsForResource',
].sort();

export interface ServiceSpec {
  /** Our name for it: the file prefix, and the key services are looked up by. */
  id: 'ec2' | 'elbv2' | 'cloudwatch' | 'sns' | 'scheduler';
  /** Its folder and API version in botocore's data/. */
  botocore: string;
  operations: string[];
}

export const SERVICE_SPECS: ServiceSpec[] = [
  { id: 'ec2', botocore: 'ec2/2016-11-15', operations: EC2_OPERATIONS },
  { id: 'elbv2', botocore: 'elbv2/2015-12-01', operations: ELBV2_OPERATIONS },
  { id: 'cloudwatch', botocore: 'cloudwatch/2010-08-01', operations: CLOUDWATCH_OPERATIONS },
  { id: 'sns', botocore: 'sns/2010-03-31', operations: SNS_OPERATIONS },
  { id: 'scheduler', botocore: 'scheduler/2021-06-30', operations: SCHEDULER_OPERATIONS },
];

const MODEL_DIR = path.join(__dirname, '..', '..', '..', '..', 'src', 'protocol', 'model');
export const modelFile = (spec: ServiceSpec) => path.join(MODEL_DIR, `${spec.id}-model.json`);
export const typesFile = (spec: ServiceSpec) => path.join(MODEL_DIR, `${spec.id}-shapes.ts`);
/** The pinned source model, and the botocore release they were copied from (--from-botocore rewrites both). */
const pinnedSource = (spec: ServiceSpec) => path.join(MODEL_DIR, 'source', `${spec.botocore.replace('/', '-')}.service-2.json.gz`);
const PINNED_VERSION_FILE = path.join(MODEL_DIR, 'source', 'BOTOCORE_VERSION');

/** Finds botocore's model of a service on this machine (the one the aws CLI and boto3 use), with botocore's version. */
function findBotocoreModel(spec: ServiceSpec): { file: string; version: string } {
  const [dir, version] = execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__)); print(botocore.__version__)'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  return { file: path.join(dir, 'data', spec.botocore, 'service-2.json.gz'), version };
}

export function pinnedVersion(): string {
  return readFileSync(PINNED_VERSION_FILE, 'utf8').trim();
}

type Json = Record<string, any>;

function strip(node: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'documentation' || k === 'documentationUrl' || k === 'deprecatedMessage') continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? strip(v) : v;
  }
  return out;
}

export function generateModel(source: Json, modelled: string[]): Json {
  const shapes: Json = {};
  const visit = (name: string): void => {
    if (shapes[name]) return;
    const shape = source.shapes[name];
    if (!shape) throw new Error(`shape ${name} missing from the source model`);
    shapes[name] = strip(shape);
    if (shape.type === 'structure') for (const m of Object.values<Json>(shape.members)) visit(m.shape);
    if (shape.type === 'list') visit(shape.member.shape);
    if (shape.type === 'map') {
      visit(shape.key.shape);
      visit(shape.value.shape);
    }
  };
  const operations: Json = {};
  // the HTTP status of each error code the modelled operations declare (Query and JSON answer with it)
  const errorStatus: Json = {};
  for (const op of modelled) {
    const o = source.operations[op];
    if (!o) throw new Error(`operation ${op} missing from the source model`);
    operations[op] = { input: o.input?.shape, output: o.output?.shape, resultWrapper: o.output?.resultWrapper };
    // REST protocols place an operation by its method and path (the member locations say where each input goes)
    if (source.metadata.protocol.startsWith('rest-'))
      operations[op].http = { method: o.http.method, requestUri: o.http.requestUri, responseCode: o.http.responseCode };
    for (const e of o.errors ?? []) {
      const err = source.shapes[e.shape]?.error;
      errorStatus[err?.code ?? e.shape] = err?.httpStatusCode ?? 400;
    }
    if (o.input) visit(o.input.shape);
    if (o.output) visit(o.output.shape);
  }
  const sorted: Json = {};
  for (const k of Object.keys(shapes).sort()) sorted[k] = shapes[k];
  const { apiVersion, xmlNamespace, protocol, protocols, targetPrefix, signingName, endpointPrefix } = source.metadata;
  return {
    metadata: { apiVersion, xmlNamespace, protocol, protocols, targetPrefix, signingName: signingName ?? endpointPrefix },
    operations,
    errorStatus: Object.fromEntries(Object.entries(errorStatus).sort(([a], [b]) => a.localeCompare(b))),
    shapes: sorted,
  };
}

function cutModel(spec: ServiceSpec): Json {
  return generateModel(JSON.parse(gunzipSync(readFileSync(pinnedSource(spec))).toString('utf8')), spec.operations);
}

export function renderModel(spec: ServiceSpec): string {
  return JSON.stringify(cutModel(spec), null, 1) + '\n';
}

export const FILTERS_FILE = path.join(MODEL_DIR, '..', '..', 'domain', 'catalogue', 'ec2-filters.json');

/**
 * The filters the EC2 reference documents for each modelled Describe call, read off the documentation of its
 * Filters member (each listed as `<code>name</code> - meaning`), in the reference's order.
 */
export function renderFilters(): string {
  const spec = SERVICE_SPECS.find((s) => s.id === 'ec2')!;
  const source: Json = JSON.parse(gunzipSync(readFileSync(pinnedSource(spec))).toString('utf8'));
  const filters: Record<string, string[]> = {};
  for (const op of spec.operations) {
    const input = source.operations[op].input?.shape;
    const member = Object.entries<Json>(input ? source.shapes[input].members : {}).find(([name]) => name === 'Filters' || name === 'Filter')?.[1];
    if (!member?.documentation) continue;
    const names = [...(member.documentation as string).matchAll(/<code>([a-z][a-zA-Z0-9\-.:_]*(?:&lt;key&gt;)?)<\/code>\s*-/g)].map((m) =>
      m[1].replace('&lt;key&gt;', '<key>'),
    );
    filters[op] = [...new Set(names)];
  }
  return JSON.stringify({ source: `botocore ${pinnedVersion()} ${spec.botocore}, generated by src/protocol/model/generate.ts`, filters }, null, 1) + '\n';
}

/** A shape as a TypeScript type: structures and lists by name, scalars inline (enums stay strings: clients send more). */
function typeOf(shapes: Json, name: string): string {
  const s = shapes[name];
  switch (s.type) {
    case 'structure':
    case 'list':
    case 'map':
      return name;
    case 'integer':
    case 'long':
    case 'double':
    case 'float':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'Date | string';
    case 'blob':
      return 'Buffer';
    default:
      return 'string';
  }
}

export function renderTypes(spec: ServiceSpec): string {
  const model = cutModel(spec);
  const shapes: Json = model.shapes;
  const out: string[] = [`// Generated by src/protocol/model/generate.ts from the pinned botocore ${spec.botocore} model: do not edit.`, ''];
  for (const [name, s] of Object.entries<Json>(shapes)) {
    if (s.type === 'structure') {
      const required = new Set<string>(s.required ?? []);
      const members = Object.entries<Json>(s.members).map(([m, ref]) => `  ${m}${required.has(m) ? '' : '?'}: ${typeOf(shapes, ref.shape)};`);
      out.push(members.length ? `export interface ${name} {\n${members.join('\n')}\n}` : `export type ${name} = Record<string, never>;`);
    } else if (s.type === 'list') {
      const item = typeOf(shapes, s.member.shape);
      out.push(`export type ${name} = ${item.includes('|') ? `(${item})` : item}[];`);
    } else if (s.type === 'map') out.push(`export type ${name} = Record<string, ${typeOf(shapes, s.value.shape)}>;`);
  }
  out.push('', "/** Each modelled operation's input and output. */", 'export interface Operations {');
  for (const [op, o] of Object.entries<Json>(model.operations)) {
    out.push(`  ${op}: { input: ${o.input ?? 'Record<string, never>'}; output: ${o.output ?? 'void'} };`);
  }
  out.push('}', '');
  return out.join('\n');
}

if (require.main === module) {
  if (process.argv.includes('--from-botocore')) {
    for (const spec of SERVICE_SPECS) {
      const installed = findBotocoreModel(spec);
      copyFileSync(installed.file, pinnedSource(spec));
      writeFileSync(PINNED_VERSION_FILE, `${installed.version}\n`);
      console.log(`pinned botocore ${installed.version}'s ${spec.botocore} model`);
    }
  }
  const files: [string, string][] = SERVICE_SPECS.flatMap((spec): [string, string][] => [
    [modelFile(spec), renderModel(spec)],
    [typesFile(spec), renderTypes(spec)],
  ]);
  files.push([FILTERS_FILE, renderFilters()]);
  if (process.argv.includes('--check')) {
    const stale = files.filter(([file, text]) => readFileSync(file, 'utf8') !== text).map(([file]) => path.basename(file));
    console.log(stale.length ? `${stale.join(', ')} differ from the generator: run npm run gen:model` : 'the generated model files are up to date');
    process.exit(stale.length ? 1 : 0);
  }
  for (const [file, text] of files) writeFileSync(file, text);
  console.log(`wrote ${files.map(([file]) => file).join(', ')} from botocore ${pinnedVersion()}'s model`);
}
