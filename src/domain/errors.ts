/**
 * The one error model and the one catalogue of errors a client can see. Every layer throws a DomainError built
 * here: a kind (what went wrong, in terms any wire understands) plus the EC2 code clients branch on, and a
 * message. The error middleware maps it to an HTTP status and a wire format once (protocol/errors.ts), for the
 * EC2 XML API and the admin JSON API alike.
 */
export type ErrorKind =
  | 'invalid' // the request is wrong; retrying it unchanged fails again
  | 'not-found' // it names something that does not exist (or is not the caller's)
  | 'conflict' // the resource is not in a state that allows it
  | 'forbidden' // the caller may not do this
  | 'unauthenticated' // the caller could not be identified
  | 'unavailable' // a backing service is down or full: retry later
  | 'internal'; // a bug: never the client's fault

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** EC2's code where EC2 has one (`InvalidInstanceID.NotFound`); else the wire derives one from the kind. */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/**
 * EC2's NotFound text, singular or plural as AWS writes it: "The instance ID 'i-1' does not exist", "The instance IDs
 * 'i-1, i-2' do not exist"; images put the ids in brackets ("The image id '[ami-1]' does not exist").
 */
function notFoundText(noun: string, nounPlural: string, ids: string | string[], bracketed = false): string {
  const list = (Array.isArray(ids) ? ids : [ids]).map((id) => truncate(id));
  const quoted = bracketed ? `'[${list.join(', ')}]'` : `'${list.join(', ')}'`;
  return list.length > 1 ? `The ${nounPlural} ${quoted} do not exist` : `The ${noun} ${quoted} does not exist`;
}

/** The kind each code a background step can record stands for (a live resize's outcome, read back by the API). */
const RECORDED_KINDS: Record<string, ErrorKind> = {
  InsufficientInstanceCapacity: 'unavailable',
  InvalidParameterValue: 'invalid',
  IncorrectInstanceState: 'conflict',
  InternalError: 'internal',
};

const make =
  (kind: ErrorKind, code: string) =>
  (message: string): DomainError =>
    new DomainError(kind, code, message);

export const errors = {
  // protocol
  invalidAction: (action: string) => new DomainError('invalid', 'InvalidAction', `The action ${action} is not valid for this web service.`),
  missingAction: () => new DomainError('invalid', 'MissingAction', 'The request must contain the parameter Action.'),
  missingParameter: (name: string) => new DomainError('invalid', 'MissingParameter', `The request must contain the parameter ${name}.`),
  unknownParameter: (name: string) => new DomainError('invalid', 'UnknownParameter', `The parameter ${name} is not recognized.`),
  invalidParameterValue: (name: string, value: string, why = '') =>
    new DomainError('invalid', 'InvalidParameterValue', `Value (${truncate(value)}) for parameter ${name} is invalid.${why ? ' ' + why : ''}`),
  invalidParameter: make('invalid', 'InvalidParameter'),
  invalidParameterCombination: make('invalid', 'InvalidParameterCombination'),
  invalidFilter: (name: string) => new DomainError('invalid', 'InvalidParameterValue', `The filter '${truncate(name)}' is invalid.`),
  /** A filter the EC2 reference documents for some call, that this call here does not apply (listed in the README). */
  unsupportedFilter: (name: string) =>
    new DomainError(
      'invalid',
      'InvalidParameterValue',
      `The filter '${truncate(name)}' is invalid. EC2 documents it, but OAR Cloud does not support it here (see the README's Supported actions).`,
    ),
  invalidNextToken: () => new DomainError('invalid', 'InvalidNextToken', 'The specified token is invalid or has expired.'),
  unsupportedProtocol: make('invalid', 'UnsupportedProtocol'),
  requestTooLarge: () => new DomainError('invalid', 'RequestEntityTooLarge', 'The request is too large.'),
  invalidHttpRequest: make('invalid', 'InvalidHttpRequest'),
  unsupportedOperation: make('invalid', 'UnsupportedOperation'),
  dryRunOperation: () => new DomainError('invalid', 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.'),
  // authentication
  authFailure: (message = 'AWS was not able to validate the provided access credentials') => new DomainError('unauthenticated', 'AuthFailure', message),
  signatureDoesNotMatch: () =>
    new DomainError(
      'forbidden',
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    ),
  incompleteSignature: make('invalid', 'IncompleteSignature'),
  missingAuthenticationToken: () => new DomainError('unauthenticated', 'MissingAuthenticationToken', 'Request is missing Authentication Token'),
  requestExpired: (message = 'Request has expired.') => new DomainError('invalid', 'RequestExpired', message),
  unauthorizedOperation: () => new DomainError('forbidden', 'UnauthorizedOperation', 'You are not authorized to perform this operation.'),
  // resources
  instanceNotFound: (ids: string | string[]) => new DomainError('not-found', 'InvalidInstanceID.NotFound', notFoundText('instance ID', 'instance IDs', ids)),
  instanceIdMalformed: (id: string) => new DomainError('invalid', 'InvalidInstanceID.Malformed', `Invalid id: "${truncate(id)}" (expecting "i-...")`),
  incorrectInstanceState: make('conflict', 'IncorrectInstanceState'),
  operationNotPermitted: make('conflict', 'OperationNotPermitted'),
  amiNotFound: (ids: string | string[]) => new DomainError('not-found', 'InvalidAMIID.NotFound', notFoundText('image id', 'image ids', ids, true)),
  amiMalformed: (id: string) => new DomainError('invalid', 'InvalidAMIID.Malformed', `Invalid id: "${truncate(id)}" (expecting "ami-...")`),
  amiUnavailable: (id: string) => new DomainError('conflict', 'InvalidAMIID.Unavailable', `The image id '[${id}]' is no longer available`),
  amiNameDuplicate: (name: string) => new DomainError('conflict', 'InvalidAMIName.Duplicate', `AMI name ${truncate(name)} is already in use by AMI`),
  keyPairNotFound: (name: string) => new DomainError('not-found', 'InvalidKeyPair.NotFound', `The key pair '${truncate(name)}' does not exist`),
  keyPairDuplicate: (name: string) => new DomainError('conflict', 'InvalidKeyPair.Duplicate', `The keypair '${truncate(name)}' already exists.`),
  keyFormat: make('invalid', 'InvalidKey.Format'),
  invalidInstanceType: (t: string, why = '') =>
    new DomainError('invalid', 'InvalidParameterValue', `Invalid value '${truncate(t)}' for InstanceType.${why ? ' ' + why : ''}`),
  /** DescribeInstanceTypes' answer for names it does not offer (AWS's text, then why, where we know). */
  instanceTypesNotFound: (names: string[], why = '') =>
    new DomainError(
      'invalid',
      'InvalidInstanceType',
      `The following supplied instance types do not exist: [${names.map((n) => truncate(n)).join(', ')}]${why ? ' ' + why : ''}`,
    ),
  /** AWS's text for a type whose architectures do not include the image's. */
  architectureMismatch: (typeArchitecture: string, imageArchitecture: string) =>
    new DomainError(
      'invalid',
      'InvalidParameterValue',
      `The architecture '${typeArchitecture}' of the specified instance type does not match the architecture '${imageArchitecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
    ),
  invalidAvailabilityZone: (az: string) => new DomainError('invalid', 'InvalidParameterValue', `Invalid availability zone: [${truncate(az)}]`),
  idempotentParameterMismatch: () =>
    new DomainError(
      'conflict',
      'IdempotentParameterMismatch',
      'The client token you have provided is associated with a resource that is already deleted or the request parameters differ.',
    ),
  insufficientCapacity: make('unavailable', 'InsufficientInstanceCapacity'),
  instanceLimitExceeded: make('conflict', 'InstanceLimitExceeded'),
  invalidUserDataSize: () => new DomainError('invalid', 'InvalidParameterValue', 'User data is limited to 16384 bytes'),
  tagLimitExceeded: make('conflict', 'TagLimitExceeded'),
  invalidId: (id: string) => new DomainError('invalid', 'InvalidID', `The ID '${truncate(id)}' is not valid`),
  invalidRegion: (region: string) => new DomainError('invalid', 'InvalidParameterValue', `Invalid region: ${truncate(region)}`),
  volumeNotFound: (ids: string | string[]) => new DomainError('not-found', 'InvalidVolume.NotFound', `${notFoundText('volume', 'volumes', ids)}.`),
  vpcNotFound: (ids: string | string[]) => new DomainError('not-found', 'InvalidVpcID.NotFound', notFoundText('vpc ID', 'vpc IDs', ids)),
  subnetNotFound: (ids: string | string[]) => new DomainError('not-found', 'InvalidSubnetID.NotFound', notFoundText('subnet ID', 'subnet IDs', ids)),
  groupNotFound: (ids: string | string[]) => new DomainError('not-found', 'InvalidGroup.NotFound', notFoundText('security group', 'security groups', ids)),
  snapshotInUse: (id: string, imageId: string) => new DomainError('conflict', 'InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by ${imageId}`),
  snapshotNotFound: (ids: string | string[]) => new DomainError('not-found', 'InvalidSnapshot.NotFound', `${notFoundText('snapshot', 'snapshots', ids)}.`),
  // VPC networking
  dependencyViolation: make('conflict', 'DependencyViolation'),
  vpcLimitExceeded: make('conflict', 'VpcLimitExceeded'),
  invalidSubnetRange: make('invalid', 'InvalidSubnet.Range'),
  invalidSubnetConflict: make('conflict', 'InvalidSubnet.Conflict'),
  subnetLimitExceeded: make('conflict', 'SubnetLimitExceeded'),
  internetGatewayLimitExceeded: make('conflict', 'InternetGatewayLimitExceeded'),
  internetGatewayNotFound: (ids: string | string[]) =>
    new DomainError('not-found', 'InvalidInternetGatewayID.NotFound', notFoundText('internetGateway ID', 'internetGateway IDs', ids)),
  resourceAlreadyAssociated: make('conflict', 'Resource.AlreadyAssociated'),
  gatewayNotAttached: make('conflict', 'Gateway.NotAttached'),
  routeTableLimitExceeded: make('conflict', 'RouteTableLimitExceeded'),
  routeTableNotFound: (ids: string | string[]) =>
    new DomainError('not-found', 'InvalidRouteTableID.NotFound', notFoundText('routeTable ID', 'routeTable IDs', ids)),
  invalidRouteNotFound: make('not-found', 'InvalidRoute.NotFound'),
  routeAlreadyExists: make('conflict', 'RouteAlreadyExists'),
  routeLimitExceeded: make('conflict', 'RouteLimitExceeded'),
  associationNotFound: make('not-found', 'InvalidAssociationID.NotFound'),
  networkAclLimitExceeded: make('conflict', 'NetworkAclLimitExceeded'),
  networkAclNotFound: (ids: string | string[]) =>
    new DomainError('not-found', 'InvalidNetworkAclID.NotFound', notFoundText('networkAcl ID', 'networkAcl IDs', ids)),
  networkAclEntryNotFound: make('not-found', 'InvalidNetworkAclEntry.NotFound'),
  networkAclEntryAlreadyExists: make('conflict', 'NetworkAclEntryAlreadyExists'),
  networkAclEntryLimitExceeded: make('conflict', 'NetworkAclEntryLimitExceeded'),
  invalidGroupReserved: make('invalid', 'InvalidGroup.Reserved'),
  groupDuplicate: make('conflict', 'InvalidGroup.Duplicate'),
  securityGroupLimitExceeded: make('conflict', 'SecurityGroupLimitExceeded'),
  securityGroupsPerInstanceLimitExceeded: make('conflict', 'SecurityGroupsPerInstanceLimitExceeded'),
  cannotDelete: make('conflict', 'CannotDelete'),
  permissionDuplicate: make('conflict', 'InvalidPermission.Duplicate'),
  permissionNotFound: make('not-found', 'InvalidPermission.NotFound'),
  ruleNotFound: make('not-found', 'InvalidSecurityGroupRuleId.NotFound'),
  rulesPerGroupLimitExceeded: make('conflict', 'RulesPerSecurityGroupLimitExceeded'),
  addressLimitExceeded: make('conflict', 'AddressLimitExceeded'),
  allocationNotFound: make('not-found', 'InvalidAllocationID.NotFound'),
  addressNotFound: make('not-found', 'InvalidAddress.NotFound'),
  invalidIpAddressInUse: make('conflict', 'InvalidIPAddress.InUse'),
  networkInterfaceNotFound: (ids: string | string[]) =>
    new DomainError('not-found', 'InvalidNetworkInterfaceID.NotFound', notFoundText('networkInterface ID', 'networkInterface IDs', ids)),
  // Elastic Load Balancing (v2): its own codes, in the Query protocol's envelope
  validationError: make('invalid', 'ValidationError'),
  loadBalancerNotFound: make('not-found', 'LoadBalancerNotFound'),
  targetGroupNotFound: make('not-found', 'TargetGroupNotFound'),
  listenerNotFound: make('not-found', 'ListenerNotFound'),
  listenerRuleNotFound: make('not-found', 'RuleNotFound'),
  elbSubnetNotFound: make('not-found', 'SubnetNotFound'),
  elbInvalidSecurityGroup: make('invalid', 'InvalidSecurityGroup'),
  elbInvalidSubnet: make('invalid', 'InvalidSubnet'),
  invalidTarget: make('invalid', 'InvalidTarget'),
  invalidConfigurationRequest: make('invalid', 'InvalidConfigurationRequest'),
  duplicateLoadBalancerName: make('conflict', 'DuplicateLoadBalancerName'),
  duplicateTargetGroupName: make('conflict', 'DuplicateTargetGroupName'),
  duplicateListener: make('conflict', 'DuplicateListener'),
  priorityInUse: make('conflict', 'PriorityInUse'),
  resourceInUse: make('conflict', 'ResourceInUse'),
  targetGroupAssociationLimit: make('conflict', 'TargetGroupAssociationLimit'),
  tooManyLoadBalancers: make('conflict', 'TooManyLoadBalancers'),
  tooManyTargetGroups: make('conflict', 'TooManyTargetGroups'),
  tooManyListeners: make('conflict', 'TooManyListeners'),
  tooManyRules: make('conflict', 'TooManyRules'),
  tooManyTargets: make('conflict', 'TooManyTargets'),
  tooManyTags: make('conflict', 'TooManyTags'),
  // CloudWatch and SNS: their own codes, in each wire's envelope (Query XML, JSON 1.0, RPC v2 CBOR)
  serializationException: make('invalid', 'SerializationException'),
  alarmNotFound: (name: string) => new DomainError('not-found', 'ResourceNotFound', `Could not find alarm ${truncate(name)}.`),
  cloudwatchResourceNotFound: make('not-found', 'ResourceNotFoundException'),
  cloudwatchLimitExceeded: make('conflict', 'LimitExceeded'),
  invalidFormat: make('invalid', 'InvalidFormat'),
  snsNotFound: make('not-found', 'NotFound'),
  snsResourceNotFound: make('not-found', 'ResourceNotFound'),
  topicLimitExceeded: make('conflict', 'TopicLimitExceeded'),
  subscriptionLimitExceeded: make('conflict', 'SubscriptionLimitExceeded'),
  // EventBridge Scheduler: its own codes, in REST-JSON's envelope
  validationException: make('invalid', 'ValidationException'),
  schedulerNotFound: make('not-found', 'ResourceNotFoundException'),
  schedulerConflict: make('conflict', 'ConflictException'),
  schedulerQuotaExceeded: make('conflict', 'ServiceQuotaExceededException'),
  // administration (accounts, keys, nodes, quotas: no EC2 code, the wire names them by kind)
  adminSignInRequired: () =>
    new DomainError('unauthenticated', 'AuthFailure', 'Sign in with an admin access key, or sign the request with SigV4 for the service "oarcloud".'),
  adminOnly: () => new DomainError('forbidden', 'UnauthorizedOperation', 'You are not authorized to perform this operation: it is for administrators only.'),
  notFound: (message: string) => new DomainError('not-found', undefined, message),
  conflict: (message: string) => new DomainError('conflict', undefined, message),
  oarCommandFailed: make('unavailable', 'OarCommandFailed'),
  // service side
  internalError: () => new DomainError('internal', 'InternalError', 'An internal error has occurred'),
  /** An error a background step recorded as "Code: message". */
  recorded: (text: string) => {
    const [, code, message] = /^(\w+): (.*)$/s.exec(text) ?? [undefined, 'InternalError', text];
    return new DomainError(RECORDED_KINDS[code!] ?? 'internal', code, message!);
  },
  unavailable: () => new DomainError('unavailable', 'Unavailable', 'The server is overloaded or a backing service is unavailable; retry shortly.'),
} as const;

function truncate(value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}...` : value;
}
