/** Records of long-terminated instances are purged by the server's sweep; recent ones stay for clients' waiters. */
import { expect } from 'chai';
import { withDatabase } from '../../src/adapters/db';
import { newId } from '../../src/domain/ids';
import { config, dropAccount, IMAGES, newAccount, sleep, type TestAccount } from '../support/live';

describe('purge of terminated instances (real server sweep)', function () {
  this.timeout(60_000);
  let account: TestAccount;
  after(() => dropAccount(account));

  it('deletes instances terminated longer ago than OARCLOUD_TERMINATED_PURGE, with their tags and empty reservation', async () => {
    account = await newAccount('purge');
    const old = newId('i');
    const recent = newId('i');
    const [oldReservation, recentReservation] = [newId('r'), newId('r')];
    const row = (id: string, reservation: string, daysAgo: number) => ({
      id,
      account_id: account.accountId,
      reservation_id: reservation,
      ami_launch_index: 0,
      image_id: IMAGES.busybox,
      layers: ['base-busybox'],
      instance_type: 't2.nano',
      vcpus: 1,
      memory_mib: 512,
      oar_cores: 1,
      state: 'terminated',
      desired_state: 'terminated',
      availability_zone: `${config.regions[0]}a`,
      terminated_at: new Date(Date.now() - daysAgo * 86_400_000),
    });
    await withDatabase(config.databaseUrl, async (db) => {
      await db('reservations').insert([oldReservation, recentReservation].map((id) => ({ id, account_id: account.accountId, request_hash: 'test' })));
      await db('instances').insert([row(old, oldReservation, 8), row(recent, recentReservation, 1)]);
      await db('tags').insert(
        [old, recent].map((id) => ({ resource_id: id, account_id: account.accountId, resource_type: 'instance', key: 'Name', value: id })),
      );
    });
    // the sweep runs every ten seconds
    const deadline = Date.now() + 25_000;
    let left: string[] = [];
    while (Date.now() < deadline) {
      left = await withDatabase(config.databaseUrl, (db) => db('instances').where('account_id', account.accountId).pluck('id'));
      if (!left.includes(old)) break;
      await sleep(500);
    }
    expect(left).to.deep.equal([recent]);
    await withDatabase(config.databaseUrl, async (db) => {
      expect(await db('tags').where('account_id', account.accountId).pluck('resource_id')).to.deep.equal([recent]);
      expect(await db('reservations').where('account_id', account.accountId).pluck('id')).to.deep.equal([recentReservation]);
    });
  });
});
