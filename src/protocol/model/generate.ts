/**
 * Generates, from botocore's EC2 service model (ec2/2016-11-15), pinned in source/ with its botocore version:
 * - ec2-model.json: the operations OAR Cloud speaks and every shape they reach, documentation stripped; the
 *   request decoder and the response encoder are driven by it;
 * - ec2-shapes.ts: the same shapes as TypeScript types, so that an action's input and output are checked by the
 *   compiler (a misspelt output member does not build).
 * Both are committed; a unit test checks that they equal what this generator makes from the pinned model.
 *
 *   node dist/src/protocol/model/generate.js                   regenerate from the pinned model
 *   node dist/src/protocol/model/generate.js --check           exit 1 if the committed files differ
 *   node dist/src/protocol/model/generate.js --from-botocore   pin the installed botocore's model first
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';

/** Actions we model: those implemented, plus those real clients call that we answer with a proper error. */
export const MODELLED_OPERATIONS = [
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

const MODEL_DIR = path.join(__dirname, '..', '..', '..', '..', 'src', 'protocol', 'model');
export const MODEL_FILE = path.join(MODEL_DIR, 'ec2-model.json');
export const TYPES_FILE = path.join(MODEL_DIR, 'ec2-shapes.ts');
/** The pinned source model, and the botocore release it was copied from (--from-botocore rewrites both). */
export const PINNED_SOURCE = path.join(MODEL_DIR, 'source', 'ec2-2016-11-15.service-2.json.gz');
const PINNED_VERSION_FILE = path.join(MODEL_DIR, 'source', 'BOTOCORE_VERSION');

/** Finds botocore's EC2 model on this machine (the one the aws CLI and boto3 use), with botocore's version. */
export function findBotocoreModel(): { file: string; version: string } {
  const [dir, version] = execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__)); print(botocore.__version__)'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  return { file: path.join(dir, 'data', 'ec2', '2016-11-15', 'service-2.json.gz'), version };
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

export function generateModel(source: Json): Json {
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
  for (const op of MODELLED_OPERATIONS) {
    const o = source.operations[op];
    if (!o) throw new Error(`operation ${op} missing from the source model`);
    operations[op] = { input: o.input?.shape, output: o.output?.shape };
    if (o.input) visit(o.input.shape);
    if (o.output) visit(o.output.shape);
  }
  const sorted: Json = {};
  for (const k of Object.keys(shapes).sort()) sorted[k] = shapes[k];
  return { metadata: { apiVersion: source.metadata.apiVersion, xmlNamespace: source.metadata.xmlNamespace }, operations, shapes: sorted };
}

function cutModel(source: string): Json {
  return generateModel(JSON.parse(gunzipSync(readFileSync(source)).toString('utf8')));
}

export function renderModel(source = PINNED_SOURCE): string {
  return JSON.stringify(cutModel(source), null, 1) + '\n';
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

export function renderTypes(source = PINNED_SOURCE): string {
  const model = cutModel(source);
  const shapes: Json = model.shapes;
  const out: string[] = ['// Generated by src/protocol/model/generate.ts from the pinned botocore EC2 model: do not edit.', '/* eslint-disable */', ''];
  for (const [name, s] of Object.entries<Json>(shapes)) {
    if (s.type === 'structure') {
      const required = new Set<string>(s.required ?? []);
      const members = Object.entries<Json>(s.members).map(([m, ref]) => `  ${m}${required.has(m) ? '' : '?'}: ${typeOf(shapes, ref.shape)};`);
      out.push(members.length ? `export interface ${name} {\n${members.join('\n')}\n}` : `export type ${name} = Record<string, never>;`);
    } else if (s.type === 'list') out.push(`export type ${name} = ${typeOf(shapes, s.member.shape)}[];`);
    else if (s.type === 'map') out.push(`export type ${name} = Record<string, ${typeOf(shapes, s.value.shape)}>;`);
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
    const installed = findBotocoreModel();
    copyFileSync(installed.file, PINNED_SOURCE);
    writeFileSync(PINNED_VERSION_FILE, `${installed.version}\n`);
    console.log(`pinned botocore ${installed.version}'s EC2 model`);
  }
  const files: [string, string][] = [
    [MODEL_FILE, renderModel()],
    [TYPES_FILE, renderTypes()],
  ];
  if (process.argv.includes('--check')) {
    const stale = files.filter(([file, text]) => readFileSync(file, 'utf8') !== text).map(([file]) => path.basename(file));
    console.log(stale.length ? `${stale.join(', ')} differ from the generator: run npm run gen:model` : 'the generated model files are up to date');
    process.exit(stale.length ? 1 : 0);
  }
  for (const [file, text] of files) writeFileSync(file, text);
  console.log(`wrote ${files.map(([file]) => file).join(', ')} from botocore ${pinnedVersion()}'s model`);
}
