/**
 * What an action module exports: its EC2 name and a handler from the decoded input to the output value, both typed
 * from the EC2 model (protocol/model/ec2-shapes.ts, generated): a misspelt output member does not compile.
 */
import type { Services } from '../services';
import type { Caller } from '../domain/accounts';
import type { Logger } from '../log';
import type { Operations } from '../protocol/model/ec2-shapes';

export interface ActionContext {
  caller: Caller;
  requestId: string;
  services: Services;
  log: Logger;
}

export type ActionName = keyof Operations;
export type Input<N extends ActionName> = Operations[N]['input'];
export type Output<N extends ActionName> = Operations[N]['output'];

export interface Action<N extends ActionName = ActionName> {
  name: N;
  handle(input: Input<N>, ctx: ActionContext): Promise<Output<N>>;
}

export function defineAction<N extends ActionName>(name: N, handle: (input: Input<N>, ctx: ActionContext) => Promise<Output<N>>): Action<N> {
  return { name, handle };
}
