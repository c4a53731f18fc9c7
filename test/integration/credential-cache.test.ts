/** The server's credential cache: revocations and account deletions reach it at once through PostgreSQL. */
import { expect } from 'chai';
import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { client, newAccount, withAdmin, dropAccount, type TestAccount } from '../support/live';

describe('credential cache (live server)', () => {
  let account: TestAccount;
  before(async () => {
    account = await newAccount('cache');
  });
  after(() => dropAccount(account).catch(() => undefined));

  it('a cached key stops working as soon as it is revoked, from another process', async () => {
    const key = await withAdmin((a) => a.createKey(account.name, 'cached', 'user'));
    const ec2 = client(key);
    for (let i = 0; i < 3; i++) expect((await ec2.send(new DescribeRegionsCommand({}))).Regions).to.have.length.above(0);
    await withAdmin((a) => a.revokeKey(key.accessKeyId));
    const err = await ec2.send(new DescribeRegionsCommand({})).catch((e) => e);
    expect(err.name).to.equal('AuthFailure');
  });

  it('deleting an account drops its cached keys', async () => {
    const other = await newAccount('cache-del');
    expect((await other.ec2.send(new DescribeRegionsCommand({}))).Regions).to.have.length.above(0);
    await dropAccount(other);
    const err = await other.ec2.send(new DescribeRegionsCommand({})).catch((e) => e);
    expect(err.name).to.equal('AuthFailure');
  });
});
