/**
 * What the reconciler does next for one instance, decided in pure code from three observations: the instance row
 * (what the API asked for: `desired_state`, and what it shows: `state`), its OAR job and its container. Every row
 * of the table below is a case in test/unit/reconcile-plan.test.ts. The reconciler only carries the steps out, in
 * order; a plan that waits for OAR or libvirt ends early and the next pass (or event) looks again.
 *
 *   desired     observed                                     steps
 *   ---------   ------------------------------------------   ------------------------------------------------
 *   any         libvirt unreachable                          wait (a container is never assumed gone)
 *   running     no job id yet                                submit (adopts a job a crash left, by its name)
 *   running     job gone or ended, not asked by us           end: desired terminated, Server.ScheduledStop
 *               (also when its node died: the disk was there)
 *   running     job Waiting/Launching/…                      note pending (why, predicted start); a running
 *                                                            instance stays running (never goes back)
 *   running     job Running, container up                    mark running; reboot if asked; resize in place
 *                                                            if asked (a new job of the new size on the node)
 *   running     job Running, container down, was running     it shut itself down: stop or terminate as its
 *                                                            InstanceInitiatedShutdownBehavior says
 *   running     job Running, no container yet                start the container
 *   stopped     anything                                     show stopping; stop and remove the container;
 *                                                            delete the job and wait for OAR; unmount; stopped
 *   terminated  anything                                     show shutting-down; remove the container; delete
 *                                                            the job and wait for OAR; remove the disk and the
 *                                                            address; terminated
 */
import { FINAL_JOB_STATES, type OarJob } from '../adapters/oar';
import type { DomainState } from '../adapters/libvirt';
import type { InstanceRow, InstanceStateName } from './instances';
import { stateReasons, transitionReasons, type StateReason } from './state-reasons';

/** The container as observed: its libvirt state, absent, or unknown because libvirtd does not answer. */
export type ObservedDomain = DomainState | undefined | 'unreachable';

export type Step =
  | { do: 'wait'; why: string }
  | { do: 'submit' }
  | { do: 'end'; desired: 'stopped' | 'terminated'; reason: StateReason; transition: string }
  | { do: 'note-pending'; reason: StateReason }
  | { do: 'mark-running'; node: string | null }
  | { do: 'reboot' }
  | { do: 'resize'; job: OarJob }
  | { do: 'start-container'; job: OarJob; replace: boolean }
  | { do: 'show'; state: InstanceStateName }
  | { do: 'shutdown-container' }
  | { do: 'remove-container' }
  | { do: 'delete-job'; jobId: number }
  | { do: 'unmount' }
  | { do: 'stopped' }
  | { do: 'release' }
  | { do: 'terminated' };

/** A container that runs, or is frozen for an image capture (it resumes right after), is up. */
export function isUp(domain: ObservedDomain): boolean {
  return domain === 'running' || domain === 'paused';
}

export const jobEnded = (job: OarJob | undefined): boolean => !job || FINAL_JOB_STATES.has(job.state);

/** Why a job ended that we did not end: an admin's oardel, its walltime, or an OAR failure. */
export function whyJobEnded(job: OarJob | undefined): string {
  if (!job) return 'the OAR job disappeared';
  if (job.events.includes('WALLTIME')) return `OAR job ${job.id} reached its walltime`;
  if (job.events.includes('FRAG_JOB_REQUEST')) return `OAR job ${job.id} was deleted in OAR`;
  return `OAR job ${job.id} ended (${job.state})`;
}

/** `lostNode`: the instance's node stopped answering and OAR ended its job there (the container went with it). */
export function plan(inst: InstanceRow, job: OarJob | undefined, domain: ObservedDomain, lostNode?: string): Step[] {
  if (inst.state === 'terminated') return [];
  if (domain === 'unreachable') return [{ do: 'wait', why: 'libvirtd does not answer' }];
  if (inst.desired_state === 'terminated') return toTerminated(inst, job, domain);
  if (inst.desired_state === 'stopped') return toStopped(inst, job, domain);
  return toRunning(inst, job, domain, lostNode);
}

function toRunning(inst: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined, lostNode?: string): Step[] {
  if (!inst.oar_job_id) return [{ do: 'submit' }];
  if (jobEnded(job)) {
    const why = lostNode ? `node ${lostNode} stopped answering; ${whyJobEnded(job)}` : whyJobEnded(job);
    return [{ do: 'end', desired: 'terminated', reason: stateReasons.scheduledStop(why), transition: transitionReasons.service(why) }];
  }
  const running = job!;
  // a job OAR holds or suspends under a running container: the instance keeps running (states never go back)
  if (running.state !== 'Running' && inst.state === 'running') return [];
  if (running.state !== 'Running') {
    const wait = running.state === 'Waiting' ? 'waiting in the OAR queue' : `OAR job is ${running.state}`;
    const predicted = running.state === 'Waiting' && running.predictedStart ? `, predicted start ${new Date(running.predictedStart * 1000).toISOString()}` : '';
    const reason = stateReasons.pending(`${wait} (job ${running.id}${predicted})`);
    return inst.state !== 'pending' || inst.state_reason_message !== reason.message ? [{ do: 'note-pending', reason }] : [];
  }
  if (isUp(domain)) {
    const steps: Step[] = [];
    if (inst.state !== 'running') steps.push({ do: 'mark-running', node: running.node });
    if (inst.reboot_requested) steps.push({ do: 'reboot' });
    if (inst.resize_type && inst.state === 'running') steps.push({ do: 'resize', job: running });
    return steps;
  }
  if (inst.state === 'running') {
    // the container stopped on its own (shutdown inside, killed from outside)
    const desired = inst.shutdown_behavior === 'terminate' ? 'terminated' : 'stopped';
    return [{ do: 'end', desired, reason: stateReasons.instanceInitiatedShutdown(), transition: transitionReasons.instance() }];
  }
  // a container left defined by a failed start is replaced
  return [{ do: 'start-container', job: running, replace: domain !== undefined }];
}

function toStopped(inst: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined): Step[] {
  const steps: Step[] = [];
  if (inst.state !== 'stopping' && inst.state !== 'stopped') steps.push({ do: 'show', state: 'stopping' });
  if (domain) {
    if (isUp(domain)) steps.push({ do: 'shutdown-container' });
    steps.push({ do: 'remove-container' });
  }
  // OAR releases the cores asynchronously: the next pass comes back once it has
  if (!jobEnded(job)) return [...steps, { do: 'delete-job', jobId: job!.id }];
  return [...steps, { do: 'unmount' }, { do: 'stopped' }];
}

function toTerminated(inst: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined): Step[] {
  const steps: Step[] = [];
  if (inst.state !== 'shutting-down') steps.push({ do: 'show', state: 'shutting-down' });
  if (domain) steps.push({ do: 'remove-container' });
  if (!jobEnded(job)) return [...steps, { do: 'delete-job', jobId: job!.id }];
  return [...steps, { do: 'release' }, { do: 'terminated' }];
}

/** Whether an instance's observed job and container differ from what its state says (the pass's cheap test). */
export function needsWork(r: InstanceRow, job: OarJob | undefined, domain: DomainState | undefined): boolean {
  const transitional: InstanceStateName[] = ['pending', 'stopping', 'shutting-down'];
  if (transitional.includes(r.state)) return true;
  if (r.state === 'running') return r.desired_state !== 'running' || r.reboot_requested || r.resize_type !== null || jobEnded(job) || !isUp(domain);
  return r.desired_state !== r.state; // stopped
}
