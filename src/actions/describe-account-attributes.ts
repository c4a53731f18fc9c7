import { defineAction } from './action';
import { errors } from '../domain/errors';

/** Account attributes clients probe: only VPC platforms here, and the instance limits the account has. */
export default defineAction('DescribeAccountAttributes', async (input, { services, caller }) => {
  const limits = await services.quotas.limitsFor(caller.accountId);
  const all: Record<string, string[]> = {
    'supported-platforms': ['VPC'],
    'default-vpc': [services.network.defaultVpcId(caller.accountId)],
    'max-instances': [String(limits.maxInstances)],
    'vpc-max-security-groups-per-interface': ['5'],
    'max-elastic-ips': ['0'],
    'vpc-max-elastic-ips': ['0'],
  };
  const names = input.AttributeNames?.length ? input.AttributeNames : Object.keys(all);
  for (const n of names) if (!all[n]) throw errors.invalidParameterValue('AttributeName', n);
  return {
    AccountAttributes: names.map((n) => ({ AttributeName: n, AttributeValues: all[n].map((v) => ({ AttributeValue: v })) })),
  };
});
