/**
 * Generates src/protocol/model/ec2-model.json: the operations OAR Cloud speaks and every shape they reach,
 * cut from botocore's EC2 service model (ec2/2016-11-15) with documentation stripped.
 * The request decoder and the response encoder are driven by this file, so it is committed, and a unit test
 * checks that it still equals what this generator produces from the installed model.
 *
 *   node dist/src/protocol/model/generate.js [--check]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';

/** Actions we model: those implemented, plus those real clients call that we answer with a proper error. */
export const MODELLED_OPERATIONS = [
  'DescribeRegions', 'DescribeAvailabilityZones', 'DescribeAccountAttributes',
  'RunInstances', 'DescribeInstances', 'TerminateInstances', 'StopInstances', 'StartInstances',
  'RebootInstances', 'DescribeInstanceStatus', 'DescribeInstanceAttribute', 'ModifyInstanceAttribute',
  'DescribeInstanceTypes', 'DescribeInstanceCreditSpecifications', 'GetInstanceUefiData',
  'CreateImage', 'DescribeImages', 'DeregisterImage', 'DescribeImageAttribute', 'ModifyImageAttribute',
  'DeleteSnapshot', 'DescribeVolumes', 'DescribeVpcs', 'DescribeSubnets', 'DescribeSecurityGroups',
  'CreateTags', 'DeleteTags', 'DescribeTags',
  'CreateKeyPair', 'ImportKeyPair', 'DescribeKeyPairs', 'DeleteKeyPair',
].sort();

export const MODEL_FILE = path.join(__dirname, '..', '..', '..', '..', 'src', 'protocol', 'model', 'ec2-model.json');

/** Finds botocore's EC2 model on this machine (the one the aws CLI and boto3 use). */
export function findBotocoreModel(): string {
  const dir = execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], {
    encoding: 'utf8',
  }).trim();
  return path.join(dir, 'data', 'ec2', '2016-11-15', 'service-2.json.gz');
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
    if (shape.type === 'map') { visit(shape.key.shape); visit(shape.value.shape); }
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

export function renderModel(source = findBotocoreModel()): string {
  const json = JSON.parse(gunzipSync(readFileSync(source)).toString('utf8'));
  return JSON.stringify(generateModel(json), null, 1) + '\n';
}

if (require.main === module) {
  const rendered = renderModel();
  if (process.argv.includes('--check')) {
    const same = readFileSync(MODEL_FILE, 'utf8') === rendered;
    console.log(same ? 'ec2-model.json is up to date' : 'ec2-model.json differs from the generator: run npm run gen:model');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(MODEL_FILE, rendered);
  console.log(`wrote ${MODEL_FILE}`);
}
