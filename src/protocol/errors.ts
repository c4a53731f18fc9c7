/**
 * The one catalogue of EC2 errors this server answers with. Every error a client can see is built here,
 * so codes, HTTP statuses and message wording stay consistent (the clients branch on the code).
 */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

const make = (code: string, status = 400) => (message: string) => new Ec2Error(code, message, status);

export const errors = {
  // protocol
  invalidAction: (action: string) => new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`),
  missingAction: () => new Ec2Error('MissingAction', 'The request must contain the parameter Action.'),
  missingParameter: (name: string) => new Ec2Error('MissingParameter', `The request must contain the parameter ${name}.`),
  unknownParameter: (name: string) => new Ec2Error('UnknownParameter', `The parameter ${name} is not recognized.`),
  invalidParameterValue: (name: string, value: string, why = '') =>
    new Ec2Error('InvalidParameterValue', `Value (${truncate(value)}) for parameter ${name} is invalid.${why ? ' ' + why : ''}`),
  invalidParameter: make('InvalidParameter'),
  invalidParameterCombination: make('InvalidParameterCombination'),
  invalidFilter: (name: string) => new Ec2Error('InvalidParameterValue', `The filter '${truncate(name)}' is invalid.`),
  invalidNextToken: () => new Ec2Error('InvalidNextToken', 'The specified token is invalid or has expired.'),
  unsupportedProtocol: make('UnsupportedProtocol'),
  requestTooLarge: () => new Ec2Error('RequestEntityTooLarge', 'The request is too large.', 413),
  invalidHttpRequest: make('InvalidHttpRequest'),
  unsupportedOperation: make('UnsupportedOperation'),
  dryRunOperation: () => new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
  // authentication
  authFailure: (message = 'AWS was not able to validate the provided access credentials') => new Ec2Error('AuthFailure', message, 401),
  signatureDoesNotMatch: () =>
    new Ec2Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      403,
    ),
  incompleteSignature: (message: string) => new Ec2Error('IncompleteSignature', message, 400),
  missingAuthenticationToken: () => new Ec2Error('MissingAuthenticationToken', 'Request is missing Authentication Token', 401),
  requestExpired: (message = 'Request has expired.') => new Ec2Error('RequestExpired', message, 400),
  unauthorizedOperation: () => new Ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403),
  // resources
  instanceNotFound: (ids: string[]) =>
    new Ec2Error('InvalidInstanceID.NotFound', `The instance ID${ids.length > 1 ? 's' : ''} '${ids.join(', ')}' ${ids.length > 1 ? 'do' : 'does'} not exist`),
  instanceIdMalformed: (id: string) => new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${truncate(id)}" (expecting "i-...")`),
  incorrectInstanceState: make('IncorrectInstanceState'),
  operationNotPermitted: make('OperationNotPermitted'),
  amiNotFound: (id: string) => new Ec2Error('InvalidAMIID.NotFound', `The image id '[${truncate(id)}]' does not exist`),
  amiMalformed: (id: string) => new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${truncate(id)}" (expecting "ami-...")`),
  amiUnavailable: (id: string) => new Ec2Error('InvalidAMIID.Unavailable', `The image id '[${id}]' is no longer available`),
  amiNameDuplicate: (name: string) => new Ec2Error('InvalidAMIName.Duplicate', `AMI name ${truncate(name)} is already in use by AMI`),
  keyPairNotFound: (name: string) => new Ec2Error('InvalidKeyPair.NotFound', `The key pair '${truncate(name)}' does not exist`),
  keyPairDuplicate: (name: string) => new Ec2Error('InvalidKeyPair.Duplicate', `The keypair '${truncate(name)}' already exists.`),
  keyFormat: make('InvalidKey.Format'),
  invalidInstanceType: (t: string) => new Ec2Error('InvalidParameterValue', `Invalid value '${truncate(t)}' for InstanceType.`),
  invalidAvailabilityZone: (az: string) => new Ec2Error('InvalidParameterValue', `Invalid availability zone: [${truncate(az)}]`),
  idempotentParameterMismatch: () =>
    new Ec2Error('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already deleted or the request parameters differ.'),
  insufficientCapacity: (message: string) => new Ec2Error('InsufficientInstanceCapacity', message, 500),
  instanceLimitExceeded: make('InstanceLimitExceeded'),
  invalidUserDataSize: () => new Ec2Error('InvalidParameterValue', 'User data is limited to 16384 bytes'),
  tagLimitExceeded: make('TagLimitExceeded'),
  invalidId: (id: string) => new Ec2Error('InvalidID', `The ID '${truncate(id)}' is not valid`),
  invalidRegion: (region: string) => new Ec2Error('InvalidParameterValue', `Invalid region: ${truncate(region)}`),
  volumeNotFound: (id: string) => new Ec2Error('InvalidVolume.NotFound', `The volume '${truncate(id)}' does not exist.`),
  vpcNotFound: (id: string) => new Ec2Error('InvalidVpcID.NotFound', `The vpc ID '${truncate(id)}' does not exist`),
  subnetNotFound: (id: string) => new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${truncate(id)}' does not exist`),
  groupNotFound: (id: string) => new Ec2Error('InvalidGroup.NotFound', `The security group '${truncate(id)}' does not exist`),
  snapshotInUse: (id: string, imageId: string) => new Ec2Error('InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by ${imageId}`),
  snapshotNotFound: (id: string) => new Ec2Error('InvalidSnapshot.NotFound', `The snapshot '${truncate(id)}' does not exist.`),
  // administration (the admin JSON API)
  adminSignInRequired: () => new Ec2Error('AuthFailure', 'Sign in with an admin access key, or sign the request with SigV4 for the service "oarcloud".', 401),
  adminOnly: () => new Ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation: it is for administrators only.', 403),
  adminNotFound: (message: string) => new Ec2Error('NotFound', message, 404),
  adminConflict: (message: string) => new Ec2Error('IncorrectState', message, 409),
  oarCommandFailed: (message: string) => new Ec2Error('OarCommandFailed', message, 502),
  // service side
  internalError: () => new Ec2Error('InternalError', 'An internal error has occurred', 500),
  unavailable: () => new Ec2Error('Unavailable', 'The server is overloaded or a backing service is unavailable; retry shortly.', 503),
} as const;

function truncate(value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}...` : value;
}
