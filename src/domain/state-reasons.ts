/**
 * The one catalogue of instance state reasons (EC2's `StateReason` code and message) and transition reasons
 * (`StateTransitionReason`), as the API, the reconciler and admins write them.
 */
export interface StateReason {
  code: string;
  message: string;
}

export const stateReasons = {
  /** Progress of a launch or start; not an EC2 code: EC2 shows `pending` while an instance is pending. */
  pending: (what: string): StateReason => ({ code: 'pending', message: `pending: ${what}` }),
  userInitiatedShutdown: (): StateReason => ({ code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' }),
  instanceInitiatedShutdown: (): StateReason => ({
    code: 'Client.InstanceInitiatedShutdown',
    message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
  }),
  scheduledStop: (why: string): StateReason => ({ code: 'Server.ScheduledStop', message: `Server.ScheduledStop: ${why}` }),
  insufficientCapacity: (why: string): StateReason => ({ code: 'Server.InsufficientInstanceCapacity', message: `Server.InsufficientInstanceCapacity: ${why}` }),
  internalError: (why: string): StateReason => ({ code: 'Server.InternalError', message: `Server.InternalError: ${why}` }),
} as const;

export const transitionReasons = {
  user: (at = new Date()) =>
    `User initiated (${at
      .toISOString()
      .replace(/\.\d+Z$/, ' GMT')
      .replace('T', ' ')})`,
  service: (why: string) => `Service initiated (${why})`,
  instance: () => 'Instance initiated shutdown',
} as const;
