/**
 * Route tables: CreateRouteTable, DeleteRouteTable, DescribeRouteTables, CreateRoute, ReplaceRoute, DeleteRoute,
 * AssociateRouteTable, DisassociateRouteTable, ReplaceRouteTableAssociation. Routes lead to an internet gateway
 * (besides each table's local route); other targets are refused.
 */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { tagsFor } from '../domain/tags';
import { describeList, routeTableView } from './views/network';
import type { AnswerFilterSpec } from './views/answer-filters';
import type { RouteTableRow } from '../domain/vpcs';

function routeTarget(input: { GatewayId?: string; DestinationCidrBlock?: string; DestinationIpv6CidrBlock?: string } & Record<string, unknown>): {
  gatewayId: string;
  destination: string;
} {
  const others = [
    'NatGatewayId',
    'InstanceId',
    'NetworkInterfaceId',
    'VpcPeeringConnectionId',
    'TransitGatewayId',
    'EgressOnlyInternetGatewayId',
    'VpcEndpointId',
    'LocalGatewayId',
    'CarrierGatewayId',
  ];
  const other = others.find((k) => input[k]);
  if (other) throw errors.unsupportedOperation(`Routes lead to an internet gateway here; ${other} is not supported.`);
  if (input.DestinationIpv6CidrBlock) throw errors.unsupportedOperation('IPv6 routes are not supported.');
  if (!input.DestinationCidrBlock) throw errors.missingParameter('DestinationCidrBlock');
  if (!input.GatewayId) throw errors.missingParameter('GatewayId');
  if (!/^igw-/.test(input.GatewayId)) throw errors.invalidParameterValue('GatewayId', input.GatewayId, 'Routes lead to an internet gateway (igw-...) here.');
  return { gatewayId: input.GatewayId, destination: input.DestinationCidrBlock };
}

export const createRouteTable = defineAction('CreateRouteTable', async (input, { caller, services }) => {
  const tags = tagsFor(input.TagSpecifications, 'route-table', ['route-table']);
  const table = await services.vpcs.createRouteTable(caller.accountId, input.VpcId, input.ClientToken);
  await services.tags.insert(caller.accountId, 'route-table', [table.id], tags);
  return { RouteTable: routeTableView(table, await services.tags.load([table.id])), ClientToken: input.ClientToken };
});

export const deleteRouteTable = defineAction('DeleteRouteTable', async (input, { caller, services }) => {
  await services.vpcs.deleteRouteTable(caller.accountId, input.RouteTableId);
  await services.tags.deleteAll([input.RouteTableId]);
});

/** DescribeRouteTables's documented filters beyond those applied on rows, read off the RouteTable answer. */
export const ROUTE_TABLE_ANSWER_FILTERS: Omit<AnswerFilterSpec, 'appliedEarlier'> = {
  action: 'DescribeRouteTables',
  shape: 'RouteTable',
  aliases: {},
  refused: {
    tag: "The reference's name for the tag:<key> filters, which are supported.",
  },
};

export const describeRouteTables = defineAction('DescribeRouteTables', async (input, { caller, services }) => {
  const main = (t: RouteTableRow) => t.associations.filter((a) => a.main);
  const { page, tags, nextToken } = await describeList(
    services,
    await services.vpcs.listRouteTables(caller.accountId),
    { ids: input.RouteTableIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    errors.routeTableNotFound,
    {
      'route-table-id': (t) => t.id,
      'vpc-id': (t) => t.vpc_id,
      'owner-id': (t) => t.account_id,
      'association.main': (t) => (main(t).length ? 'true' : t.associations.length ? 'false' : undefined),
      'association.route-table-association-id': (t) => t.associations.map((a) => a.id),
      'association.route-table-id': (t) => (t.associations.length ? t.id : undefined),
      'association.subnet-id': (t) => t.associations.map((a) => a.subnet_id).filter((s): s is string => !!s),
      'association.association-state': (t) => (t.associations.length ? 'associated' : undefined),
      'route.destination-cidr-block': (t) => [t.vpc_cidr, ...t.routes.map((r) => r.destination)],
      'route.gateway-id': (t) => ['local', ...t.routes.map((r) => r.gateway_id)],
      'route.state': () => 'active',
      'route.origin': (t) => (t.routes.length ? ['CreateRouteTable', 'CreateRoute'] : 'CreateRouteTable'),
    },
    { spec: ROUTE_TABLE_ANSWER_FILTERS, view: routeTableView },
  );
  return { RouteTables: page.map((t) => routeTableView(t, tags)), NextToken: nextToken };
});

export const createRoute = defineAction('CreateRoute', async (input, { caller, services }) => {
  const { gatewayId, destination } = routeTarget(input as never);
  await services.vpcs.putRoute(caller.accountId, input.RouteTableId, destination, gatewayId, false);
  return { Return: true };
});

export const replaceRoute = defineAction('ReplaceRoute', async (input, { caller, services }) => {
  const { gatewayId, destination } = routeTarget(input as never);
  await services.vpcs.putRoute(caller.accountId, input.RouteTableId, destination, gatewayId, true);
});

export const deleteRoute = defineAction(
  'DeleteRoute',
  async (input, { caller, services }) => {
    if (!input.DestinationCidrBlock) throw errors.missingParameter('DestinationCidrBlock');
    await services.vpcs.deleteRoute(caller.accountId, input.RouteTableId, input.DestinationCidrBlock);
  },
  {
    unhonoured: [
      ['DestinationPrefixListId', (i) => Boolean(i.DestinationPrefixListId), 'There are no prefix lists here.'],
      ['DestinationIpv6CidrBlock', (i) => Boolean(i.DestinationIpv6CidrBlock), 'IPv6 routes are not supported.'],
    ],
  },
);

export const associateRouteTable = defineAction(
  'AssociateRouteTable',
  async (input, { caller, services }) => {
    if (input.GatewayId) throw errors.unsupportedOperation('Gateway route tables are not supported; associate a subnet.');
    if (!input.SubnetId) throw errors.missingParameter('SubnetId');
    const id = await services.vpcs.associateRouteTable(caller.accountId, input.RouteTableId, input.SubnetId);
    return { AssociationId: id, AssociationState: { State: 'associated' } };
  },
  { unhonoured: [['PublicIpv4Pool', (i) => Boolean(i.PublicIpv4Pool), 'There are no public IPv4 pools here.']] },
);

export const disassociateRouteTable = defineAction('DisassociateRouteTable', async (input, { caller, services }) => {
  await services.vpcs.disassociateRouteTable(caller.accountId, input.AssociationId);
});

export const replaceRouteTableAssociation = defineAction('ReplaceRouteTableAssociation', async (input, { caller, services }) => {
  const id = await services.vpcs.replaceRouteTableAssociation(caller.accountId, input.AssociationId, input.RouteTableId);
  return { NewAssociationId: id, AssociationState: { State: 'associated' } };
});
