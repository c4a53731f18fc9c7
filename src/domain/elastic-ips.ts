/**
 * Elastic IP addresses: public addresses from the admin's pool (Config.publicPool), allocated to an account and
 * associated with one instance at a time. Associating an address already associated moves it (with
 * AllowReassociation, as on EC2). The data plane maps each associated address to its instance both ways.
 *
 * Automatic public addresses come from the same pool: rows marked auto_assigned, owned by the instance's account but
 * never listed to it. `settleAutoAssigned` gives one to every pending or running instance that asked for one and has
 * no elastic IP, and takes it back when the instance stops or an elastic IP replaces it (as on EC2); an
 * internet-facing load balancer holds one for its life.
 */
import type { Knex } from 'knex';
import { errors } from './errors';
import { newId } from './ids';
import { changeSignal } from './change-signal';
import { envLimit } from './quotas';

export interface ElasticIpRow {
  id: string;
  account_id: string;
  public_ip: string;
  instance_id: string | null;
  association_id: string | null;
  private_ip: string | null;
  network_interface_id: string | null;
}

export class ElasticIps {
  constructor(
    private readonly db: Knex,
    private readonly pool: string,
    private readonly maxPerAccount = envLimit(process.env, 'OARCLOUD_MAX_ELASTIC_IPS', 5),
  ) {}

  async allocate(accountId: string): Promise<ElasticIpRow> {
    const row = await this.db.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext('oarcloud.elastic_ips'))");
      const [{ n }] = await trx('elastic_ips').where({ account_id: accountId, auto_assigned: false }).count<{ n: string }[]>('* as n');
      if (Number(n) >= this.maxPerAccount) throw errors.addressLimitExceeded(`The maximum number of addresses (${this.maxPerAccount}) has been reached.`);
      const ip = await this.freeAddress(trx);
      if (!ip) throw errors.addressLimitExceeded('The pool of public addresses is exhausted; ask an administrator to widen it.');
      const [inserted] = await trx('elastic_ips')
        .insert({ id: newId('eipalloc'), account_id: accountId, public_ip: ip })
        .returning('id');
      return inserted;
    });
    return (await this.list(accountId)).find((e) => e.id === row.id)!;
  }

  /** The pool's lowest free address (call under the pool lock). */
  private async freeAddress(trx: Knex.Transaction): Promise<string | undefined> {
    // the block's network address, its first host (the gateway side) and its broadcast address are never handed out;
    // host() drops the pool's mask, which would make every address differ from the stored /32 ones
    const { rows } = await trx.raw(
      `select host(network(?::cidr) + n) as ip from generate_series(2, (2 ^ (32 - masklen(?::cidr)))::int - 2) n
        where host(network(?::cidr) + n)::inet not in (select public_ip from elastic_ips) order by n limit 1`,
      [this.pool, this.pool, this.pool],
    );
    return rows[0]?.ip;
  }

  /**
   * Brings automatic public addresses in line with the instances: frees those of instances no longer pending or
   * running (or now holding an elastic IP), and gives one to each pending or running instance that asked for one
   * and holds none. Returns whether anything changed; instances the exhausted pool cannot serve wait for an address.
   */
  async settleAutoAssigned(): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext('oarcloud.elastic_ips'))");
      const freed = await trx('elastic_ips as e')
        .where('e.auto_assigned', true)
        .whereNull('e.load_balancer_id')
        .where((q) =>
          q
            .whereNull('e.instance_id')
            .orWhereNotExists((w) => w.select(trx.raw('1')).from('instances as i').whereRaw("i.id = e.instance_id and i.state in ('pending', 'running')"))
            .orWhereExists((w) => w.select(trx.raw('1')).from('elastic_ips as x').whereRaw('x.instance_id = e.instance_id and not x.auto_assigned')),
        )
        .delete();
      const waiting: { id: string; account_id: string }[] = await trx('instances as i')
        .where('i.public_address', true)
        .whereIn('i.state', ['pending', 'running'])
        .whereNotExists((w) => w.select(trx.raw('1')).from('elastic_ips as e').whereRaw('e.instance_id = i.id'))
        .select('i.id', 'i.account_id');
      let given = 0;
      for (const instance of waiting) {
        const ip = await this.freeAddress(trx);
        if (!ip) break;
        await trx('elastic_ips').insert({
          id: newId('eipalloc'),
          account_id: instance.account_id,
          public_ip: ip,
          instance_id: instance.id,
          association_id: newId('eipassoc'),
          auto_assigned: true,
        });
        given++;
      }
      // internet-facing load balancers hold one for their life (deleting one deletes it)
      const balancers: { id: string; account_id: string }[] = await trx('load_balancers as l')
        .where('l.scheme', 'internet-facing')
        .whereNotExists((w) => w.select(trx.raw('1')).from('elastic_ips as e').whereRaw('e.load_balancer_id = l.id'))
        .select('l.id', 'l.account_id');
      for (const lb of balancers) {
        const ip = await this.freeAddress(trx);
        if (!ip) break;
        await trx('elastic_ips').insert({ id: newId('eipalloc'), account_id: lb.account_id, public_ip: ip, load_balancer_id: lb.id, auto_assigned: true });
        given++;
      }
      return freed + given > 0;
    });
  }

  async list(accountId: string): Promise<ElasticIpRow[]> {
    return this.db('elastic_ips as e')
      .leftJoin('instances as i', 'i.id', 'e.instance_id')
      .where({ 'e.account_id': accountId, 'e.auto_assigned': false })
      .orderBy('e.created_at')
      .select(
        'e.id',
        'e.account_id',
        this.db.raw('host(e.public_ip) as public_ip'),
        'e.instance_id',
        'e.association_id',
        this.db.raw('host(i.private_ip) as private_ip'),
      );
  }

  /** The public address (elastic or automatic) of each of the account's instances that holds one. */
  async instanceAddresses(accountId: string): Promise<Map<string, { publicIp: string; automatic: boolean }>> {
    const rows = await this.db('elastic_ips')
      .where('account_id', accountId)
      .whereNotNull('instance_id')
      .select('instance_id', this.db.raw('host(public_ip) as public_ip'), 'auto_assigned');
    return new Map(rows.map((r) => [r.instance_id, { publicIp: r.public_ip, automatic: r.auto_assigned }]));
  }

  /** The allocation named by id, or (EC2-Classic style) by its public address. */
  async find(accountId: string, ref: { allocationId?: string; publicIp?: string }): Promise<ElasticIpRow> {
    const all = await this.list(accountId);
    const found = ref.allocationId ? all.find((e) => e.id === ref.allocationId) : all.find((e) => e.public_ip === ref.publicIp);
    if (!found) {
      if (ref.allocationId) throw errors.allocationNotFound(`The allocation ID '${ref.allocationId}' does not exist`);
      throw errors.addressNotFound(`The address '${ref.publicIp ?? ''}' does not belong to you.`);
    }
    return found;
  }

  /** Associates with a running or stopped instance of the caller; returns the association id. */
  async associate(accountId: string, eip: ElasticIpRow, instanceId: string, allowReassociation: boolean): Promise<string> {
    const instance = await this.db('instances as i')
      .leftJoin('subnets as s', 's.id', 'i.subnet_id')
      .leftJoin('vpcs as v', 'v.id', 's.vpc_id')
      .where({ 'i.account_id': accountId, 'i.id': instanceId })
      .whereNot('i.state', 'terminated')
      .first('i.id', 'v.vni');
    if (!instance) throw errors.instanceNotFound([instanceId]);
    if (!instance.vni)
      throw errors.invalidParameterValue(
        'InstanceId',
        instanceId,
        'Elastic IPs map to instances in a VPC you created; the default VPC is the shared network, reached from this machine directly.',
      );
    if (eip.instance_id && eip.instance_id !== instanceId && !allowReassociation)
      throw errors.resourceAlreadyAssociated(`resource ${eip.id} is already associated with associate-id ${eip.association_id}`);
    const associationId = newId('eipassoc');
    await this.db.transaction(async (trx) => {
      // an instance holds one public address: an automatic one is given back to the pool, an elastic IP goes back to
      // its allocation, unassociated
      await trx('elastic_ips').where({ instance_id: instanceId, auto_assigned: true }).delete();
      await trx('elastic_ips').where('instance_id', instanceId).update({ instance_id: null, association_id: null });
      await trx('elastic_ips').where('id', eip.id).update({ instance_id: instanceId, association_id: associationId });
    });
    changeSignal.raise();
    return associationId;
  }

  async disassociate(accountId: string, ref: { associationId?: string; publicIp?: string }): Promise<void> {
    const all = await this.list(accountId);
    const eip = ref.associationId ? all.find((e) => e.association_id === ref.associationId) : all.find((e) => e.public_ip === ref.publicIp && e.association_id);
    if (!eip) throw errors.associationNotFound(`The association ID '${ref.associationId ?? ref.publicIp ?? ''}' does not exist`);
    await this.db('elastic_ips').where('id', eip.id).update({ instance_id: null, association_id: null });
    changeSignal.raise();
  }

  async release(accountId: string, ref: { allocationId?: string; publicIp?: string }): Promise<void> {
    const eip = await this.find(accountId, ref);
    if (eip.association_id) throw errors.invalidIpAddressInUse(`Address ${eip.public_ip} is in use.`);
    await this.db('elastic_ips').where('id', eip.id).delete();
  }
}
