/**
 * Private addresses: our own allocation in the instance subnet (static addresses, known before the container
 * starts). A lease lives from RunInstances to termination; a stopped instance keeps its address, as in EC2.
 */
import type { Knex } from 'knex';
import type { Config } from '../config';

export class AddressPool {
  constructor(
    private readonly config: Config,
    private readonly db: Knex,
  ) {}

  /** Leases `count` free addresses inside the caller's transaction, lowest first; fewer if the subnet is full. */
  async lease(trx: Knex.Transaction, instanceIds: string[]): Promise<string[]> {
    // one allocator at a time: the lock is released when the transaction ends
    await trx.raw("select pg_advisory_xact_lock(hashtext('oarcloud.ip_leases'))");
    const [first, last] = this.config.addressRange;
    const { rows } = await trx.raw(
      `select (?::text || '.' || n)::inet as ip from generate_series(?::int, ?::int) n
        where (?::text || '.' || n)::inet not in (select ip from ip_leases) order by n limit ?`,
      [this.config.subnetPrefix, first, last, this.config.subnetPrefix, instanceIds.length],
    );
    const ips: string[] = rows.map((r: { ip: string }) => r.ip);
    if (ips.length) await trx('ip_leases').insert(ips.map((ip, i) => ({ ip, instance_id: instanceIds[i] })));
    return ips;
  }

  async release(instanceId: string): Promise<void> {
    await this.db('ip_leases').where('instance_id', instanceId).delete();
  }

  /** Leases still held by terminated instances (a crash between the two writes) go. */
  async releaseTerminated(): Promise<void> {
    await this.db('ip_leases').whereIn('instance_id', this.db('instances').select('id').where('state', 'terminated')).delete();
  }

  /** Every lease, for the test suite's leak check. */
  async leases(): Promise<{ ip: string; instanceId: string }[]> {
    return this.db('ip_leases').select('ip', 'instance_id as instanceId');
  }

  /** How many addresses of the subnet are free. */
  async available(): Promise<number> {
    const [first, last] = this.config.addressRange;
    const [{ n }] = await this.db('ip_leases').count<{ n: string }[]>('* as n');
    return last - first + 1 - Number(n);
  }
}
