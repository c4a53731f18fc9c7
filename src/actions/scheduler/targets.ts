/**
 * The targets a schedule can invoke: EventBridge Scheduler's universal targets for EC2
 * (`arn:aws:scheduler:::aws-sdk:ec2:<operation>`), whose Input is the operation's request as JSON in the SDK's member
 * names (`{"InstanceIds": ["i-..."]}`). A run takes the path of the API: the same action module, as the schedule's
 * owner, so a schedule can do exactly what its owner's aws CLI could (a live resize included) and nothing more.
 */
import { errors } from '../../domain/errors';
import type { ScheduleSpec } from '../../domain/schedules';
import type { Target } from '../../protocol/model/scheduler-shapes';
import { decodeDocument } from '../../protocol/document-codec';
import { ec2Model } from '../../protocol/model';
import type { Services } from '../../services';
import { actionRegistry } from '../index';

/** The universal targets offered, by their ARN's operation name (the SDK's lower camel case). */
export const UNIVERSAL_TARGETS: Readonly<Record<string, string>> = {
  startInstances: 'StartInstances',
  stopInstances: 'StopInstances',
  rebootInstances: 'RebootInstances',
  modifyInstanceAttribute: 'ModifyInstanceAttribute',
};
const UNIVERSAL = /^arn:aws:scheduler:::aws-sdk:ec2:([A-Za-z]+)$/;
/** The EC2 action modules a run goes through, built once. */
const EC2_ACTIONS = actionRegistry();

/** Target members this cloud has nothing behind (no ECS, SQS, Kinesis, SageMaker or event bus): refused by name. */
const UNSUPPORTED_MEMBERS = [
  'DeadLetterConfig',
  'EcsParameters',
  'EventBridgeParameters',
  'KinesisParameters',
  'SageMakerPipelineParameters',
  'SqsParameters',
] as const;

function operationOf(arn: string): string {
  const operation = UNIVERSAL.exec(arn)?.[1];
  if (!operation || !Object.prototype.hasOwnProperty.call(UNIVERSAL_TARGETS, operation)) {
    const offered = Object.keys(UNIVERSAL_TARGETS).map((op) => `arn:aws:scheduler:::aws-sdk:ec2:${op}`);
    throw errors.validationException(`The target ${arn.slice(0, 200)} is not supported here: OAR Cloud offers the universal targets ${offered.join(', ')}.`);
  }
  return UNIVERSAL_TARGETS[operation];
}

/** The EC2 request a target's Input stands for, checked against the EC2 model. */
function requestOf(operation: string, input: string | undefined): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(input ?? '{}');
  } catch {
    throw errors.validationException(`The target Input must be the ${operation} request as JSON.`);
  }
  try {
    return decodeDocument(ec2Model, ec2Model.operation(operation)!.input, document);
  } catch (err) {
    throw errors.validationException(`The target Input is not a valid ${operation} request: ${(err as Error).message}`);
  }
}

/** Checks a target as CreateSchedule and UpdateSchedule must, and gives what the store keeps of it. */
export function checkedTarget(target: Target): ScheduleSpec['target'] {
  for (const member of UNSUPPORTED_MEMBERS) {
    if (target[member] !== undefined) throw errors.validationException(`The target parameter ${member} is not supported: OAR Cloud's targets are EC2 calls.`);
  }
  requestOf(operationOf(target.Arn), target.Input);
  return { Arn: target.Arn, RoleArn: target.RoleArn, Input: target.Input, RetryPolicy: target.RetryPolicy };
}

/**
 * Runs a target's call as the schedule's owner (the role is recorded, not assumed: there is no IAM here); `schedule`
 * names it in what the call records ("schedule GROUP/NAME").
 */
export async function invokeTarget(services: Services, accountId: string, target: ScheduleSpec['target'], schedule: string): Promise<void> {
  const operation = operationOf(target.Arn);
  const action = EC2_ACTIONS.get(operation)!;
  const caller = { accountId, accountName: '', userName: `schedule ${schedule}`, role: 'user' as const, accessKeyId: '' };
  await action.handle(requestOf(operation, target.Input), { caller, requestId: 'schedule-run', services, log: services.log.child({ component: 'scheduler' }) });
}
