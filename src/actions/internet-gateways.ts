/** CreateInternetGateway, AttachInternetGateway, DetachInternetGateway, DeleteInternetGateway, DescribeInternetGateways. */
import { defineAction } from './action';
import { errors } from '../domain/errors';
import { tagsFor } from '../domain/tags';
import { describeList, gatewayView } from './views/network';
import type { AnswerFilterSpec } from './views/answer-filters';

export const createInternetGateway = defineAction('CreateInternetGateway', async (input, { caller, services }) => {
  const tags = tagsFor(input.TagSpecifications, 'internet-gateway', ['internet-gateway']);
  const gateway = await services.vpcs.createGateway(caller.accountId);
  await services.tags.insert(caller.accountId, 'internet-gateway', [gateway.id], tags);
  return { InternetGateway: gatewayView(gateway, new Map([[gateway.id, tags.map((t) => ({ Key: t.key, Value: t.value }))]])) };
});

export const attachInternetGateway = defineAction('AttachInternetGateway', async (input, { caller, services }) => {
  await services.vpcs.attachGateway(caller.accountId, input.InternetGatewayId, input.VpcId);
});

export const detachInternetGateway = defineAction('DetachInternetGateway', async (input, { caller, services }) => {
  await services.vpcs.detachGateway(caller.accountId, input.InternetGatewayId, input.VpcId);
});

export const deleteInternetGateway = defineAction('DeleteInternetGateway', async (input, { caller, services }) => {
  await services.vpcs.deleteGateway(caller.accountId, input.InternetGatewayId);
  await services.tags.deleteAll([input.InternetGatewayId]);
});

/** DescribeInternetGateways's documented filters beyond those applied on rows, read off the InternetGateway answer. */
export const INTERNET_GATEWAY_ANSWER_FILTERS: Omit<AnswerFilterSpec, 'appliedEarlier'> = {
  action: 'DescribeInternetGateways',
  shape: 'InternetGateway',
  aliases: {},
  refused: {
    tag: "The reference's name for the tag:<key> filters, which are supported.",
  },
};

export const describeInternetGateways = defineAction('DescribeInternetGateways', async (input, { caller, services }) => {
  const { page, tags, nextToken } = await describeList(
    services,
    await services.vpcs.listGateways(caller.accountId),
    { ids: input.InternetGatewayIds, filters: input.Filters, maxResults: input.MaxResults, nextToken: input.NextToken },
    errors.internetGatewayNotFound,
    {
      'internet-gateway-id': (g) => g.id,
      'attachment.vpc-id': (g) => g.vpc_id,
      'attachment.state': (g) => (g.vpc_id ? 'available' : undefined),
      'owner-id': (g) => g.account_id,
    },
    { spec: INTERNET_GATEWAY_ANSWER_FILTERS, view: gatewayView },
  );
  return { InternetGateways: page.map((g) => gatewayView(g, tags)), NextToken: nextToken };
});
