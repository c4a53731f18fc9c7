/**
 * What an action module exports: its name and a handler from the decoded input to the output value, both typed
 * from its service's model (protocol/model/<service>-shapes.ts, generated): a misspelt output member does not
 * compile. EC2 actions live in this folder, Elastic Load Balancing's in elbv2/, CloudWatch's in cloudwatch/, SNS's
 * in sns/, EventBridge Scheduler's in scheduler/.
 */
import type { Services } from '../services';
import { errors } from '../domain/errors';
import type { Caller } from '../domain/accounts';
import type { Logger } from '../log';
import type { Operations } from '../protocol/model/ec2-shapes';
import type { Operations as ElbOperations } from '../protocol/model/elbv2-shapes';
import type { Operations as CloudWatchOperations } from '../protocol/model/cloudwatch-shapes';
import type { Operations as SnsOperations } from '../protocol/model/sns-shapes';
import type { Operations as SchedulerOperations } from '../protocol/model/scheduler-shapes';

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
  /** The parameters it refuses by name (the README lists them). */
  unhonoured?: readonly string[];
}

/**
 * A parameter the model allows that this cloud cannot honour: its name as the wire spells it, whether a request
 * asks for it (values that ask for nothing special pass), and why. Refused by name, never dropped.
 */
export type Unhonoured<I> = [string, (input: I) => boolean, string];

/** Refuses the first parameter of the request this cloud cannot honour, by name. */
export function refuseUnhonoured<I>(list: readonly Unhonoured<I>[], input: I): void {
  for (const [name, asked, why] of list) if (asked(input)) throw errors.unsupportedOperation(`The parameter ${name} is not supported: ${why}`);
}

export function defineAction<N extends ActionName>(
  name: N,
  handle: (input: Input<N>, ctx: ActionContext) => Promise<Output<N>>,
  opts: { checksItself?: (keyof Input<N> & string)[]; unhonoured?: Unhonoured<Input<N>>[] } = {},
): Action {
  const { unhonoured } = opts;
  return {
    name,
    handle: unhonoured
      ? (input: Input<N>, ctx: ActionContext) => {
          refuseUnhonoured(unhonoured, input);
          return handle(input, ctx);
        }
      : handle,
    ...(opts.checksItself ? { checksItself: new Set(opts.checksItself) } : {}),
    ...(unhonoured ? { unhonoured: unhonoured.map(([n]) => n) } : {}),
  };
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

type SchedulerName = keyof SchedulerOperations;
export function defineSchedulerAction<N extends SchedulerName>(
  name: N,
  handle: (input: SchedulerOperations[N]['input'], ctx: ActionContext) => Promise<SchedulerOperations[N]['output']>,
): Action {
  return { name, handle };
}
