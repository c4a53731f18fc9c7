/** What the middlewares hand to each other through ctx.state. */
import type { Caller } from '../domain/accounts';
import type { Action } from '../actions/action';

export interface RequestState {
  requestId: string;
  rawBody?: Buffer;
  params?: Record<string, string>;
  action?: string;
  caller?: Caller;
  handler?: Action;
  input?: Record<string, unknown>;
  result?: object;
}
