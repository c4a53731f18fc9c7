/** The registry of implemented actions: one module per action (or per small family), keyed by EC2 name. */
import type { Action } from './action';
import describeRegions from './describe-regions';
import describeAvailabilityZones from './describe-availability-zones';
import describeAccountAttributes from './describe-account-attributes';
import runInstances from './run-instances';
import describeInstances from './describe-instances';
import terminateInstances from './terminate-instances';
import stopInstances from './stop-instances';
import startInstances from './start-instances';
import rebootInstances from './reboot-instances';
import describeInstanceStatus from './describe-instance-status';
import describeImages from './describe-images';
import { describeInstanceAttribute, modifyInstanceAttribute } from './instance-attributes';
import { createImage, deleteSnapshot, deregisterImage, describeImageAttribute, modifyImageAttribute } from './images';
import { describeInstanceCreditSpecifications, describeInstanceTypes } from './instance-types';
import describeVolumes from './volumes';
import { describeSecurityGroups, describeSubnets, describeVpcs } from './network';
import getInstanceUefiData from './get-instance-uefi-data';
import { createTags, deleteTags, describeTags } from './tags';
import { createKeyPair, deleteKeyPair, describeKeyPairs, importKeyPair } from './key-pairs';

const ALL: Action[] = [
  describeRegions,
  describeAvailabilityZones,
  describeAccountAttributes,
  runInstances,
  describeInstances,
  terminateInstances,
  stopInstances,
  startInstances,
  rebootInstances,
  describeInstanceStatus,
  describeInstanceAttribute,
  modifyInstanceAttribute,
  describeImages,
  createImage,
  deregisterImage,
  describeImageAttribute,
  modifyImageAttribute,
  deleteSnapshot,
  createKeyPair,
  importKeyPair,
  describeKeyPairs,
  deleteKeyPair,
  describeInstanceTypes,
  describeInstanceCreditSpecifications,
  describeVolumes,
  describeVpcs,
  describeSubnets,
  describeSecurityGroups,
  getInstanceUefiData,
  createTags,
  deleteTags,
  describeTags,
];

export function actionRegistry(): Map<string, Action> {
  return new Map(ALL.map((a) => [a.name, a]));
}
