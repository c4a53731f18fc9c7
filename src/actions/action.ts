/** What an action module exports: its EC2 name and a handler from the decoded input to the output value. */
import type { Services } from '../services';
import type { Caller } from '../domain/accounts';
import type { Logger } from '../log';

export interface ActionContext {
  caller: Caller;
  requestId: string;
  services: Services;
  log: Logger;
}

export interface Action<I = any> {
  name: string;
  handle(input: I, ctx: ActionContext): Promise<object>;
}

export function defineAction<I = any>(name: string, handle: (input: I, ctx: ActionContext) => Promise<object>): Action<I> {
  return { name, handle };
}
