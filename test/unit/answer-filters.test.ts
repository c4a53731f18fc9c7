/**
 * Issue 20: every filter the EC2 reference documents for a Describe call is applied or refused by name. Filters read
 * off the answer must name a member path that exists in the EC2 model's answer structure (else they would match
 * nothing, silently); refused ones carry a reason.
 */
import { expect } from 'chai';
import { ec2Model } from '../../src/protocol/model';
import { documentedFilters } from '../../src/domain/documented-filters';
import { answerFilterNames, answerValues, filterSteps, memberFor, type AnswerFilterSpec } from '../../src/actions/views/answer-filters';
import { INSTANCE_TYPE_FILTERS } from '../../src/actions/instance-types';
import { INSTANCE_ANSWER_FILTERS } from '../../src/actions/describe-instances';
import { IMAGE_ANSWER_FILTERS } from '../../src/actions/describe-images';
import { INSTANCE_STATUS_FILTERS } from '../../src/actions/describe-instance-status';
import { SUBNET_ANSWER_FILTERS } from '../../src/actions/subnets';
import { VPC_ANSWER_FILTERS } from '../../src/actions/vpcs';
import { ROUTE_TABLE_ANSWER_FILTERS } from '../../src/actions/route-tables';
import { NETWORK_ACL_ANSWER_FILTERS } from '../../src/actions/network-acls';
import { INTERNET_GATEWAY_ANSWER_FILTERS } from '../../src/actions/internet-gateways';
import { SECURITY_GROUP_ANSWER_FILTERS } from '../../src/actions/security-groups';
import { NETWORK_INTERFACE_ANSWER_FILTERS } from '../../src/actions/network-interfaces';
import { VOLUME_ANSWER_FILTERS } from '../../src/actions/volumes';
import { ZONE_ANSWER_FILTERS } from '../../src/actions/describe-availability-zones';

/**
 * The network calls filter their rows first (describeList's accessors, built per request); the filters they apply
 * there whose names do not spell an answer member are listed here, so that any other one must resolve.
 */
const ROW_APPLIED: Record<string, string[]> = {
  DescribeSubnets: [],
  DescribeVpcs: ['cidr', 'cidr-block-association.cidr-block', 'cidr-block-association.state'],
  DescribeRouteTables: [],
  DescribeNetworkAcls: ['entry.cidr', 'entry.protocol', 'entry.rule-action', 'entry.egress', 'entry.rule-number'],
  DescribeInternetGateways: [],
  DescribeSecurityGroups: ['protocol', 'from-port', 'to-port', 'cidr', 'group-id'].flatMap((f) => [`ip-permission.${f}`, `egress.ip-permission.${f}`]),
  DescribeNetworkInterfaces: ['addresses.private-ip-address', 'group-id'],
  DescribeVolumes: ['attachment.delete-on-termination', 'attachment.status', 'status'],
  DescribeAvailabilityZones: ['zone-name', 'zone-id', 'region-name', 'opt-in-status'],
};

const SPECS: AnswerFilterSpec[] = [
  INSTANCE_TYPE_FILTERS,
  INSTANCE_ANSWER_FILTERS,
  IMAGE_ANSWER_FILTERS,
  INSTANCE_STATUS_FILTERS,
  ...[
    SUBNET_ANSWER_FILTERS,
    VPC_ANSWER_FILTERS,
    ROUTE_TABLE_ANSWER_FILTERS,
    NETWORK_ACL_ANSWER_FILTERS,
    INTERNET_GATEWAY_ANSWER_FILTERS,
    SECURITY_GROUP_ANSWER_FILTERS,
    NETWORK_INTERFACE_ANSWER_FILTERS,
    VOLUME_ANSWER_FILTERS,
    ZONE_ANSWER_FILTERS,
  ].map((spec) => ({ ...spec, appliedEarlier: ['tag-key', ...ROW_APPLIED[spec.action]] })),
];

/** Walks a filter's path through the model: undefined when a step names no member, else the final shape's type. */
function modelPath(spec: AnswerFilterSpec, filter: string): string | undefined {
  const { steps, exact } = filterSteps(spec, filter);
  let shapeName = spec.shape;
  for (const step of steps) {
    let shape = ec2Model.shape(shapeName);
    while (shape.type === 'list') {
      shapeName = shape.member!.shape;
      shape = ec2Model.shape(shapeName);
    }
    if (shape.type !== 'structure') return undefined;
    const members = Object.keys(shape.members ?? {});
    const member = exact ? members.find((m) => m === step) : memberFor(members, step);
    if (!member) return undefined;
    shapeName = shape.members![member].shape;
  }
  let end = ec2Model.shape(shapeName);
  while (end.type === 'list') end = ec2Model.shape(end.member!.shape);
  return end.type;
}

describe('documented filters read off the answer', () => {
  for (const spec of SPECS) {
    it(`${spec.action}: each documented filter is applied earlier, read off a ${spec.shape} member that exists, or refused with a reason`, () => {
      const unresolved = answerFilterNames(spec).filter((f) => {
        const end = modelPath(spec, f);
        return end === undefined || end === 'structure' || end === 'map';
      });
      expect(unresolved, 'add an alias or refuse these with a reason').to.deep.equal([]);
      const documented = new Set(documentedFilters(spec.action));
      for (const [name, reason] of Object.entries(spec.refused)) {
        expect(documented.has(name), `${name} is refused but not documented`).to.equal(true);
        expect(reason, name).to.match(/\w{3,}/);
      }
    });
  }

  it('reads lists, booleans and numbers as EC2 writes them, and absent members as no value', () => {
    const answer = { A: [{ BValue: true }, { BValue: 3 }], Cs: ['x', 'y'], D: { E: undefined } };
    expect(answerValues(answer, { steps: ['a', 'b-value'], exact: false })).to.deep.equal(['true', '3']);
    expect(answerValues(answer, { steps: ['c'], exact: false })).to.deep.equal(['x', 'y']);
    expect(answerValues(answer, { steps: ['D', 'E'], exact: true })).to.deep.equal([]);
    expect(answerValues(answer, { steps: ['missing'], exact: false })).to.deep.equal([]);
  });
});
