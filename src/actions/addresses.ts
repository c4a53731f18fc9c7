/**
 * Elastic IP addresses: AllocateAddress, AssociateAddress, DisassociateAddress, ReleaseAddress, DescribeAddresses and
 * DescribeAddressesAttribute (reverse DNS is not kept: no PtrRecord).
 */
import { defineAction, type ActionContext } from './action';
import { errors } from '../domain/errors';
import { tagsFor } from '../domain/tags';
import { filterInMemory, selectNamed } from '../domain/filters';
import { addressView, tagMapOf } from './views/network';

const region = (ctx: ActionContext) => ctx.services.config.regions[0];

export const allocateAddress = defineAction('AllocateAddress', async (input, ctx) => {
  const { caller, services } = ctx;
  if (input.Domain && input.Domain !== 'vpc') throw errors.invalidParameterValue('Domain', input.Domain, 'Only vpc addresses exist here.');
  if (input.Address || input.PublicIpv4Pool || input.CustomerOwnedIpv4Pool || input.IpamPoolId)
    throw errors.unsupportedOperation('Addresses come from the cluster pool only; Address and pools cannot be chosen.');
  const tags = tagsFor(input.TagSpecifications, 'elastic-ip', ['elastic-ip']);
  const eip = await services.elasticIps.allocate(caller.accountId);
  await services.tags.insert(caller.accountId, 'elastic-ip', [eip.id], tags);
  return { AllocationId: eip.id, PublicIp: eip.public_ip, Domain: 'vpc', PublicIpv4Pool: 'amazon', NetworkBorderGroup: region(ctx) };
});

export const associateAddress = defineAction('AssociateAddress', async (input, { caller, services }) => {
  if (input.NetworkInterfaceId && !input.InstanceId) {
    if (!/^eni-[0-9a-f]+$/.test(input.NetworkInterfaceId)) throw errors.networkInterfaceNotFound(input.NetworkInterfaceId);
    input.InstanceId = `i-${input.NetworkInterfaceId.slice(4)}`;
  }
  if (!input.InstanceId) throw errors.missingParameter('InstanceId');
  if (!input.AllocationId && !input.PublicIp) throw errors.missingParameter('AllocationId');
  if (input.PrivateIpAddress) {
    // an instance has one private address here: naming it is fine, naming another cannot be honoured
    const [instance] = await services.instances.getOwned(caller.accountId, [input.InstanceId]);
    if (instance.private_ip !== input.PrivateIpAddress)
      throw errors.invalidParameterValue(
        'PrivateIpAddress',
        input.PrivateIpAddress,
        `The instance ${instance.id} has one private address, ${instance.private_ip}.`,
      );
  }
  const eip = await services.elasticIps.find(caller.accountId, { allocationId: input.AllocationId, publicIp: input.PublicIp });
  const associationId = await services.elasticIps.associate(caller.accountId, eip, input.InstanceId, input.AllowReassociation ?? !input.AllocationId);
  return { AssociationId: associationId };
});

export const disassociateAddress = defineAction('DisassociateAddress', async (input, { caller, services }) => {
  if (!input.AssociationId && !input.PublicIp) throw errors.missingParameter('AssociationId');
  await services.elasticIps.disassociate(caller.accountId, { associationId: input.AssociationId, publicIp: input.PublicIp });
});

export const releaseAddress = defineAction('ReleaseAddress', async (input, { caller, services }) => {
  if (!input.AllocationId && !input.PublicIp) throw errors.missingParameter('AllocationId');
  const eip = await services.elasticIps.find(caller.accountId, { allocationId: input.AllocationId, publicIp: input.PublicIp });
  await services.elasticIps.release(caller.accountId, { allocationId: eip.id });
  await services.tags.deleteAll([eip.id]);
});

/** The caller's addresses, those named only (an unknown allocation id is NotFound). */
async function allocations(services: ActionContext['services'], accountId: string, ids: string[] | undefined) {
  return selectNamed(
    await services.elasticIps.list(accountId),
    ids,
    (e) => e.id,
    (ids) => errors.allocationNotFound(ids.length > 1 ? `The allocation IDs '${ids.join(', ')}' do not exist` : `The allocation ID '${ids[0]}' does not exist`),
  );
}

export const describeAddresses = defineAction('DescribeAddresses', async (input, ctx) => {
  const { caller, services } = ctx;
  let rows = await allocations(services, caller.accountId, input.AllocationIds);
  rows = selectNamed(
    rows,
    input.PublicIps,
    (e) => e.public_ip,
    ([ip]) => errors.addressNotFound(`Address '${ip}' not found.`),
  );
  const tags = await services.tags.load(rows.map((r) => r.id));
  const tagMap = tagMapOf(tags);
  rows = filterInMemory(
    rows,
    input.Filters,
    {
      'allocation-id': (e) => e.id,
      'association-id': (e) => e.association_id,
      domain: () => 'vpc',
      'instance-id': (e) => e.instance_id,
      'network-interface-id': (e) => (e.instance_id ? `eni-${e.instance_id.slice(2)}` : undefined),
      'network-interface-owner-id': (e) => (e.instance_id ? e.account_id : undefined),
      'private-ip-address': (e) => e.private_ip,
      'public-ip': (e) => e.public_ip,
      'network-border-group': () => region(ctx),
      'tag-key': (e) => Object.keys(tagMap(e)),
    },
    tagMap,
  );
  return { Addresses: rows.map((e) => addressView(e, tags, region(ctx))) };
});

export const describeAddressesAttribute = defineAction('DescribeAddressesAttribute', async (input, { caller, services }) => {
  if (input.Attribute && input.Attribute !== 'domain-name') throw errors.invalidParameterValue('Attribute', input.Attribute, 'It must be domain-name.');
  const rows = await allocations(services, caller.accountId, input.AllocationIds);
  return { Addresses: rows.map((e) => ({ AllocationId: e.id, PublicIp: e.public_ip })) };
});
