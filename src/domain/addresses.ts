/**
 * Private addresses: our own allocation in the shared instance network or a VPC subnet (static addresses, known
 * before the container starts). A lease lives from RunInstances to termination; a stopped instance keeps its address, as in EC2.
 */
import type { Knex } from 'knex';
import type { Config } from '../config';
import { errors } from './errors';

/** Where an address is leased: the shared instance network, or a VPC (its id) and the subnet's CIDR. */
export interface LeaseScope {
  network: string;
  cidr?: string;
}
export const SHARED: LeaseScope = { network: 'default' };

export class AddressPool {
  constructor(
    private readonly config: Config,
    private readonly db: Knex,
  ) {}

  /**
   * Leases one free address per instance inside the caller's transaction, lowest first; fewer if the subnet is full.
   * The shared network hands out its configured host range; a VPC subnet every address but the first four and the
   * last (EC2 reserves them: network, router, DNS, future use, broadcast). `fixed` asks for one address.
   */
  async lease(trx: Knex.Transaction, instanceIds: string[], where: LeaseScope = SHARED, fixed?: string): Promise<string[]> {
    return this.take(
      trx,
      instanceIds.map((id) => ({ instance_id: id })),
      where,
      fixed,
    );
  }

  /** One address of a VPC subnet for a load balancer (freed when it is deleted). */
  async leaseFor(trx: Knex.Transaction, owner: { loadBalancerId: string }, where: LeaseScope): Promise<string[]> {
    return this.take(trx, [{ load_balancer_id: owner.loadBalancerId }], where);
  }

  private async take(trx: Knex.Transaction, owners: Record<string, string>[], where: LeaseScope, fixed?: string): Promise<string[]> {
    // one allocator at a time: the lock is released when the transaction ends
    await trx.raw("select pg_advisory_xact_lock(hashtext('oarcloud.ip_leases'))");
    let candidates: string;
    let bindings: Knex.RawBinding[];
    if (where.network === 'default') {
      const [first, last] = this.config.addressRange;
      candidates = `select (?::text || '.' || n)::inet as ip, n from generate_series(?::int, ?::int) n`;
      bindings = [this.config.subnetPrefix, first, last];
    } else {
      candidates = `select host(network(?::cidr) + n)::inet as ip, n from generate_series(4, (2 ^ (32 - masklen(?::cidr)))::int - 2) n`;
      bindings = [where.cidr!, where.cidr!];
    }
    const { rows } = await trx.raw(
      `select host(c.ip) as ip from (${candidates}) c
        where c.ip not in (select ip from ip_leases where network = ?) ${fixed ? 'and c.ip = ?::inet' : ''} order by c.n limit ?`,
      [...bindings, where.network, ...(fixed ? [fixed] : []), owners.length],
    );
    const ips: string[] = rows.map((r: { ip: string }) => r.ip);
    if (fixed && !ips.length) throw errors.invalidIpAddressInUse(`Address ${fixed} is in use or outside the subnet's range.`);
    if (ips.length) await trx('ip_leases').insert(ips.map((ip, i) => ({ ip, ...owners[i], network: where.network })));
    return ips;
  }

  /** The instance's address goes back to its subnet, and its elastic IP (if any) is disassociated, as on EC2. */
  async release(instanceId: string): Promise<void> {
    await this.db('ip_leases').where('instance_id', instanceId).delete();
    await this.db('elastic_ips').where('instance_id', instanceId).update({ instance_id: null, association_id: null });
  }

  /** Leases still held by terminated instances (a crash between the two writes) go. */
  async releaseTerminated(): Promise<void> {
    await this.db('ip_leases').whereIn('instance_id', this.db('instances').select('id').where('state', 'terminated')).delete();
  }

  /** Every lease, for the test suite's leak check. */
  async leases(): Promise<{ ip: string; instanceId: string | null; loadBalancerId: string | null }[]> {
    return this.db('ip_leases').select('ip', 'instance_id as instanceId', 'load_balancer_id as loadBalancerId');
  }

  /** How many addresses of the shared network are free. */
  async available(): Promise<number> {
    const [first, last] = this.config.addressRange;
    const [{ n }] = await this.db('ip_leases').count<{ n: string }[]>('* as n');
    return last - first + 1 - Number(n);
  }
}
