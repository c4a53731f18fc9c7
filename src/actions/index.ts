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
import { describeInstanceAttribute, modifyInstanceAttribute, modifyInstanceMetadataOptions } from './instance-attributes';
import { createImage, deleteSnapshot, deregisterImage, describeImageAttribute, modifyImageAttribute } from './images';
import { describeInstanceCreditSpecifications, describeInstanceTypeOfferings, describeInstanceTypes } from './instance-types';
import describeVolumes from './volumes';
import { createVpc, deleteVpc, describeVpcAttribute, describeVpcs, modifyVpcAttribute } from './vpcs';
import { createSubnet, deleteSubnet, describeSubnets, modifySubnetAttribute } from './subnets';
import { attachInternetGateway, createInternetGateway, deleteInternetGateway, describeInternetGateways, detachInternetGateway } from './internet-gateways';
import {
  associateRouteTable,
  createRoute,
  createRouteTable,
  deleteRoute,
  deleteRouteTable,
  describeRouteTables,
  disassociateRouteTable,
  replaceRoute,
  replaceRouteTableAssociation,
} from './route-tables';
import {
  createNetworkAcl,
  createNetworkAclEntry,
  deleteNetworkAcl,
  deleteNetworkAclEntry,
  describeNetworkAcls,
  replaceNetworkAclAssociation,
  replaceNetworkAclEntry,
} from './network-acls';
import {
  authorizeSecurityGroupEgress,
  authorizeSecurityGroupIngress,
  createSecurityGroup,
  deleteSecurityGroup,
  describeSecurityGroupRules,
  describeSecurityGroups,
  modifySecurityGroupRules,
  revokeSecurityGroupEgress,
  revokeSecurityGroupIngress,
} from './security-groups';
import { allocateAddress, associateAddress, describeAddresses, describeAddressesAttribute, disassociateAddress, releaseAddress } from './addresses';
import { describeNetworkInterfaces } from './network-interfaces';
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
  modifyInstanceMetadataOptions,
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
  describeInstanceTypeOfferings,
  describeInstanceCreditSpecifications,
  describeVolumes,
  createVpc,
  deleteVpc,
  describeVpcs,
  modifyVpcAttribute,
  describeVpcAttribute,
  createSubnet,
  deleteSubnet,
  describeSubnets,
  modifySubnetAttribute,
  createInternetGateway,
  attachInternetGateway,
  detachInternetGateway,
  deleteInternetGateway,
  describeInternetGateways,
  createRouteTable,
  deleteRouteTable,
  describeRouteTables,
  createRoute,
  replaceRoute,
  deleteRoute,
  associateRouteTable,
  disassociateRouteTable,
  replaceRouteTableAssociation,
  createNetworkAcl,
  deleteNetworkAcl,
  describeNetworkAcls,
  createNetworkAclEntry,
  replaceNetworkAclEntry,
  deleteNetworkAclEntry,
  replaceNetworkAclAssociation,
  createSecurityGroup,
  deleteSecurityGroup,
  describeSecurityGroups,
  authorizeSecurityGroupIngress,
  authorizeSecurityGroupEgress,
  revokeSecurityGroupIngress,
  revokeSecurityGroupEgress,
  describeSecurityGroupRules,
  modifySecurityGroupRules,
  describeNetworkInterfaces,
  allocateAddress,
  associateAddress,
  disassociateAddress,
  releaseAddress,
  describeAddresses,
  describeAddressesAttribute,
  getInstanceUefiData,
  createTags,
  deleteTags,
  describeTags,
];

export function actionRegistry(): Map<string, Action> {
  return new Map(ALL.map((a) => [a.name, a]));
}
