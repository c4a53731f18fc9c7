/** RunInstances refuses, by name, what the model allows and this cloud cannot honour (EC2's UnsupportedOperation). */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { actionRegistry } from '../../src/actions';
import { RUN_INSTANCES_UNHONOURED } from '../../src/actions/run-instances';
import { DomainError } from '../../src/domain/errors';
import { refuseUnhonoured, type Input } from '../../src/actions/action';

const base: Input<'RunInstances'> = { ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1 };

function refusal(extra: Partial<Input<'RunInstances'>>): string | undefined {
  try {
    refuseUnhonoured(RUN_INSTANCES_UNHONOURED, { ...base, ...extra });
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(DomainError);
    expect((err as DomainError).code).to.equal('UnsupportedOperation');
    return (err as DomainError).message;
  }
}

describe('RunInstances parameters not honoured here', () => {
  it('refuses a spot request instead of starting an on-demand instance, naming the parameter', () => {
    expect(refusal({ InstanceMarketOptions: { MarketType: 'spot' } })).to.match(/^The parameter InstanceMarketOptions is not supported/);
    expect(refusal({ BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1 } }] })).to.contain('BlockDeviceMapping');
    expect(refusal({ HibernationOptions: { Configured: true } })).to.contain('HibernationOptions.Configured');
    expect(refusal({ CpuOptions: { CoreCount: 2 } })).to.contain('CpuOptions');
    expect(refusal({ IamInstanceProfile: { Name: 'role' } })).to.contain('IamInstanceProfile');
    expect(refusal({ Ipv6AddressCount: 1 })).to.contain('Ipv6AddressCount');
    expect(refusal({ LaunchTemplate: { LaunchTemplateName: 'web' } })).to.contain('LaunchTemplate');
  });

  it("accepts what asks for nothing special: Terraform's defaults, credit modes, detailed monitoring", () => {
    expect(
      refusal({
        EbsOptimized: false,
        HibernationOptions: { Configured: false },
        Monitoring: { Enabled: true },
        CreditSpecification: { CpuCredits: 'unlimited' },
        CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
        EnclaveOptions: { Enabled: false },
        Ipv6AddressCount: 0,
        InstanceMarketOptions: {},
      }),
    ).to.equal(undefined);
  });
});

describe('parameters refused by name', () => {
  it('every action lists the parameters it refuses in the README', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const missing = [...actionRegistry().values()].flatMap((a) =>
      (a.unhonoured ?? []).filter((name) => !readme.includes(`\`${name}\``)).map((name) => `${a.name} ${name}`),
    );
    expect(missing).to.deep.equal([]);
  });
});
