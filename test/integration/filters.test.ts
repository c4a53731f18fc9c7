/**
 * Issue 20: every filter the EC2 reference documents for each implemented Describe call (generated from the model's
 * documentation: src/domain/catalogue/ec2-filters.json) is applied, or refused by name with an error that says so
 * and is listed in the README. DescribeInstances' filters are each checked against the answer they filter.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeInstancesCommand, RunInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { dropAccount, IMAGES, newAccount, rawRequest, terminateAll, waitForStates, type TestAccount } from '../support/live';
import { documentedFilters } from '../../src/domain/documented-filters';
import { answerValues, filterSteps } from '../../src/actions/views/answer-filters';
import { INSTANCE_ANSWER_FILTERS } from '../../src/actions/describe-instances';
import { actionRegistry } from '../../src/actions';

const NO_MATCH = 'oarcloud-no-such-value';

/** Where the filters applied in SQL read their value in the answer, for those whose name does not spell it. */
const SQL_FILTER_PATHS: Record<string, string> = {
  'instance-state-name': 'State.Name',
  'instance-state-code': 'State.Code',
  'availability-zone': 'Placement.AvailabilityZone',
  tenancy: 'Placement.Tenancy',
  'group-id': 'SecurityGroups.GroupId',
  'group-name': 'SecurityGroups.GroupName',
  'instance.group-id': 'SecurityGroups.GroupId',
  'instance.group-name': 'SecurityGroups.GroupName',
  'tag-key': 'Tags.Key',
  'tag-value': 'Tags.Value',
  'network-interface.addresses.private-ip-address': 'NetworkInterfaces.PrivateIpAddresses.PrivateIpAddress',
  'placement-availability-zone': 'Placement.AvailabilityZone',
};

const unescapeXml = (s: string) => s.replace(/&(apos|quot|lt|gt|amp);/g, (_, e: string) => ({ apos: "'", quot: '"', lt: '<', gt: '>', amp: '&' })[e]!);

/** A wildcard pattern matching exactly this value. */
const literal = (v: string) => v.replace(/[\\*?]/g, (c) => `\\${c}`);

describe('Documented filters of every Describe call (real)', function () {
  this.timeout(120_000);
  let account: TestAccount;
  let instance: Instance;
  before(async () => {
    account = await newAccount('filters');
    const run = await account.ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGES.busybox,
        InstanceType: 't2.nano',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'role', Value: 'filtered' }] }],
      }),
    );
    [instance] = await waitForStates(account.ec2, [run.Instances![0].InstanceId!], ['running']);
  });
  after(async () => {
    await terminateAll(account);
    await dropAccount(account);
  });

  it('each documented filter is applied (a value that matches nothing finds nothing) or refused by name, and the README lists each refused one', async () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const implemented = new Set(actionRegistry().keys());
    const actions = [
      'DescribeAddresses',
      'DescribeAvailabilityZones',
      'DescribeImages',
      'DescribeInstanceCreditSpecifications',
      'DescribeInstanceStatus',
      'DescribeInstanceTypeOfferings',
    ]
      .concat([
        'DescribeInstanceTypes',
        'DescribeInstances',
        'DescribeInternetGateways',
        'DescribeKeyPairs',
        'DescribeNetworkAcls',
        'DescribeNetworkInterfaces',
      ])
      .concat(['DescribeRegions', 'DescribeRouteTables', 'DescribeSecurityGroupRules', 'DescribeSecurityGroups', 'DescribeSubnets', 'DescribeTags'])
      .concat(['DescribeVolumes', 'DescribeVpcs']);
    const problems: string[] = [];
    await Promise.all(
      actions.map(async (action) => {
        expect(implemented.has(action), action).to.equal(true);
        for (const filter of documentedFilters(action)) {
          const name = filter.replace('<key>', 'role');
          const res = await rawRequest({ Action: action, 'Filter.1.Name': name, 'Filter.1.Value.1': NO_MATCH }, { creds: account });
          if (res.status === 200) {
            // an answer that names one of the account's resources would mean the filter was dropped
            if (res.body.includes(instance.InstanceId!)) problems.push(`${action} ${name}: the no-match filter found the instance`);
            continue;
          }
          const message = unescapeXml(/<Message>([^<]*)<\/Message>/.exec(res.body)?.[1] ?? '');
          const refused =
            res.code === 'InvalidParameterValue' && message.startsWith(`The filter '${name}' is invalid. EC2 documents it, but OAR Cloud does not support it`);
          if (!refused) problems.push(`${action} ${name}: ${res.status} ${res.code}`);
          else if (!readme.includes(`\`${name}\``)) problems.push(`${action} ${name}: refused but not listed in the README`);
        }
      }),
    );
    expect(problems).to.deep.equal([]);
  });

  it('each DescribeInstances filter finds the instance by the value its answer shows, and not by another', async () => {
    const problems: string[] = [];
    const filters = documentedFilters('DescribeInstances')
      .map((f) => f.replace('<key>', 'role'))
      .filter((f) => !(f in INSTANCE_ANSWER_FILTERS.refused));
    const found = async (name: string, value: string) => {
      const { Reservations } = await account.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: name, Values: [value] }] }));
      return Reservations!.some((r) => r.Instances!.some((i) => i.InstanceId === instance.InstanceId));
    };
    await Promise.all(
      filters.map(async (name) => {
        let values: string[];
        if (name === 'tag:role') values = ['filtered'];
        // EC2 sends an empty <reason/> for a running instance, which the SDK leaves out
        else if (name === 'reason') values = [instance.StateTransitionReason ?? ''];
        else if (name === 'reservation-id' || name === 'owner-id' || name === 'client-token' || name === 'requester-id')
          return; // reservation members: instances.test
        else if (SQL_FILTER_PATHS[name]) values = answerValues(instance, { steps: SQL_FILTER_PATHS[name].split('.'), exact: true });
        else values = answerValues(instance, filterSteps(INSTANCE_ANSWER_FILTERS, name));
        if (values.length) {
          if (!(await found(name, literal(values[0])))) problems.push(`${name}=${values[0]} does not find the instance`);
          if (await found(name, NO_MATCH)) problems.push(`${name}=${NO_MATCH} finds the instance`);
        } else if (await found(name, '*')) problems.push(`${name}: the answer shows no value, yet * finds the instance`);
      }),
    );
    expect(problems).to.deep.equal([]);
  });
});
