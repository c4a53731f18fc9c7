/**
 * What an action module exports: its name and a handler from the decoded input to the output value, both typed
 * from its service's model (protocol/model/<service>-shapes.ts, generated): a misspelt output member does not
 * compile. EC2 actions live in this folder, Elastic Load Balancing's in elbv2/, CloudWatch's in cloudwatch/, SNS's
 * in sns/.
 */
import type { Services } from '../services';
import type { Caller } from '../domain/accounts';
import type { Logger } from '../log';
import type { Operations } from '../protocol/model/ec2-shapes';
import type { Operations as ElbOperations } from '../protocol/model/elbv2-shapes';
import type { Operations as CloudWatchOperations } from '../protocol/model/cloudwatch-shapes';
import type { Operations as SnsOperations } from '../protocol/model/sns-shapes';

export interface ActionContext {
  caller: Caller;
  requestId: string;
  services: Services;
  log: Logger;
}

export type ActionName = keyof Operations;
export type Input<N extends ActionName> = Operations[N]['input'];
export type Output<N extends ActionName> = Operations[N]['output'];
export type ElbActionName = keyof ElbOperations;
export type ElbInput<N extends ElbActionName> = ElbOperations[N]['input'];
export type ElbOutput<N extends ElbActionName> = ElbOperations[N]['output'];

/** An action as the transport sees it: the decoder has checked its input against the model already. */
export interface Action {
  name: string;
  handle(input: any, ctx: ActionContext): Promise<any>;
  /** Required members whose absence the handler answers with EC2's own code for this action (not MissingParameter). */
  checksItself?: ReadonlySet<string>;
}

export function defineAction<N extends ActionName>(
  name: N,
  handle: (input: Input<N>, ctx: ActionContext) => Promise<Output<N>>,
  opts: { checksItself?: (keyof Input<N> & string)[] } = {},
): Action {
  return { name, handle, ...(opts.checksItself ? { checksItself: new Set(opts.checksItself) } : {}) };
}

export function defineElbAction<N extends ElbActionName>(name: N, handle: (input: ElbInput<N>, ctx: ActionContext) => Promise<ElbOutput<N>>): Action {
  return { name, handle };
}

type CwName = keyof CloudWatchOperations;
export function defineCloudWatchAction<N extends CwName>(
  name: N,
  handle: (input: CloudWatchOperations[N]['input'], ctx: ActionContext) => Promise<CloudWatchOperations[N]['output']>,
): Action {
  return { name, handle };
}

type SnsName = keyof SnsOperations;
export function defineSnsAction<N extends SnsName>(
  name: N,
  handle: (input: SnsOperations[N]['input'], ctx: ActionContext) => Promise<SnsOperations[N]['output']>,
): Action {
  return { name, handle };
}
