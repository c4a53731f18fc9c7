/**
 * State changes asked for by the API (terminate, stop, start, reboot): checked against the current state, written
 * as the new desired state, handed to the reconciler, and reported as EC2's previous/current state pairs.
 */
import type { Knex } from 'knex';
import { errors } from '../protocol/errors';
import { STATE_CODES, type InstanceRow, type InstanceStateName } from './instances';

export interface StateChange {
  InstanceId: string;
  PreviousState: { Code: number; Name: string };
  CurrentState: { Code: number; Name: string };
}

const state = (name: InstanceStateName) => ({ Code: STATE_CODES[name], Name: name });

export async function changeStates(
  db: Knex,
  rows: InstanceRow[],
  plan: (row: InstanceRow) => { desired?: InstanceRow['desired_state']; shown: InstanceStateName; extra?: Partial<InstanceRow> } | null,
  kick: (id: string) => void,
): Promise<StateChange[]> {
  const changes: StateChange[] = [];
  const planned = rows.map((r) => [r, plan(r)] as const);
  for (const [r, p] of planned) {
    if (p && (p.desired || p.extra)) {
      const update: Record<string, unknown> = { ...(p.extra ?? {}), updated_at: new Date() };
      if (p.desired) {
        update.desired_state = p.desired;
        update.transition_reason = `User initiated (${new Date().toISOString().replace(/\.\d+Z$/, ' GMT').replace('T', ' ')})`;
        update.state_reason_code = p.desired === 'running' ? 'pending' : 'Client.UserInitiatedShutdown';
        update.state_reason_message = p.desired === 'running' ? 'pending: start requested' : 'Client.UserInitiatedShutdown: User initiated shutdown';
      }
      await db('instances').where('id', r.id).update(update);
      kick(r.id);
    }
    changes.push({ InstanceId: r.id, PreviousState: state(r.state), CurrentState: state(p?.shown ?? r.state) });
  }
  return changes;
}

export function refuseIf(rows: InstanceRow[], blocked: (r: InstanceRow) => string | undefined): void {
  for (const r of rows) {
    const why = blocked(r);
    if (why) throw why.startsWith('OperationNotPermitted:') ? errors.operationNotPermitted(why.slice(22)) : errors.incorrectInstanceState(why);
  }
}
