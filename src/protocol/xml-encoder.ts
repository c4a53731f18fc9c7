/**
 * Encodes responses as each XML protocol writes them, element names from the model, values given keyed by the
 * model's member names (the same names the SDKs expose), so an action never writes XML by hand:
 * - EC2: `<XResponse xmlns=..><requestId>..</requestId>..members..</XResponse>`, names from the locationNames,
 *   lists as `<item>` elements; errors as `<Response><Errors><Error>..</Error></Errors><RequestID>`.
 * - Query (ELBv2, SNS, CloudWatch): `<XResponse xmlns=..><XResult>..members..</XResult><ResponseMetadata><RequestId>..`,
 *   lists as `<member>` elements, maps as `<entry><key/><value/></entry>`; errors as
 *   `<ErrorResponse><Error><Type><Code><Message></Error><RequestId>`.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { ServiceModel } from './model';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

type Tree = Record<string, unknown> | string | Tree[];

/**
 * The nested EC2 lists AWS sends as an empty element when they have nothing (`<groupSet/>`, boto3's `Groups: []`);
 * every other nested list is left out when empty, as AWS leaves out an untagged instance's `tagSet` (code testing
 * `'Tags' in instance` depends on it). A call's own result lists (`reservationSet`…) are always sent. Each entry is
 * `Structure.Member` in the EC2 model (a unit test checks they exist), from AWS's documented responses.
 */
export const EC2_LISTS_SENT_EMPTY = new Set([
  'Reservation.Groups', // DescribeInstances / RunInstances: <groupSet/>
  'Instance.ProductCodes', // <productCodes/>
  'Instance.BlockDeviceMappings', // a terminated instance: <blockDeviceMapping/>
  'Instance.NetworkInterfaces', // a terminated instance: <networkInterfaceSet/>
  'Instance.SecurityGroups', // a terminated instance: <groupSet/>
  'InstanceNetworkInterface.Ipv6Addresses',
  'InstanceAttribute.ProductCodes',
  'InstanceAttribute.BlockDeviceMappings',
  'InstanceAttribute.Groups',
  'NetworkInterface.Ipv6Addresses',
  'NetworkInterface.TagSet',
  'SecurityGroup.IpPermissions',
  'SecurityGroup.IpPermissionsEgress',
  'IpPermission.IpRanges',
  'IpPermission.Ipv6Ranges',
  'IpPermission.PrefixListIds',
  'IpPermission.UserIdGroupPairs',
  'RouteTable.Associations',
  'RouteTable.PropagatingVgws',
  'NetworkAcl.Associations',
  'InternetGateway.Attachments',
  'AvailabilityZone.Messages',
  'Subnet.Ipv6CidrBlockAssociationSet',
  'Volume.Attachments',
]);

function encodeValue(model: ServiceModel, shapeName: string, value: unknown, path: string, top = false): Tree | undefined {
  const s = model.shape(shapeName);
  switch (s.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null) throw new Error(`${path}: expected an object for ${shapeName}`);
      const out: Record<string, unknown> = {};
      const members = s.members ?? {};
      for (const [name, v] of Object.entries(value)) {
        if (v === undefined || v === null) continue;
        const ref = members[name];
        if (!ref) throw new Error(`${path}: ${name} is not a member of ${shapeName}`);
        if (Array.isArray(v) && v.length === 0 && model.protocol === 'ec2' && !top && !EC2_LISTS_SENT_EMPTY.has(`${shapeName}.${name}`)) continue;
        out[ref.locationName ?? name] = encodeValue(model, ref.shape, v, `${path}.${name}`);
      }
      return out;
    }
    case 'list': {
      if (!Array.isArray(value)) throw new Error(`${path}: expected an array for ${shapeName}`);
      if (value.length === 0) return '';
      const item = s.member!.locationName ?? (model.protocol === 'ec2' ? 'item' : 'member');
      return { [item]: value.map((v, i) => encodeValue(model, s.member!.shape, v, `${path}[${i}]`)) };
    }
    case 'map': {
      if (typeof value !== 'object' || value === null) throw new Error(`${path}: expected an object for ${shapeName}`);
      const entries = Object.entries(value).filter(([, v]) => v !== undefined && v !== null);
      if (entries.length === 0) return '';
      const keyName = s.key?.locationName ?? 'key';
      const valueName = s.value?.locationName ?? 'value';
      return {
        entry: entries.map(([k, v]) => ({ [keyName]: k, [valueName]: encodeValue(model, s.value!.shape, v, `${path}.${k}`) })),
      };
    }
    case 'boolean':
      return value ? 'true' : 'false';
    case 'timestamp':
      return (value instanceof Date ? value : new Date(value as string)).toISOString();
    case 'blob':
      return Buffer.isBuffer(value) ? value.toString('base64') : String(value);
    default:
      return String(value);
  }
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function encodeResponse(model: ServiceModel, action: string, requestId: string, value: object): string {
  const op = model.operation(action)!;
  const members = op.output ? (encodeValue(model, op.output, value, action, true) as Record<string, unknown>) : {};
  if (model.protocol === 'ec2') {
    return XML_DECLARATION + builder.build({ [`${action}Response`]: { '@_xmlns': model.xmlNamespace, requestId, ...members } });
  }
  const result = op.resultWrapper ? { [op.resultWrapper]: members } : {};
  return XML_DECLARATION + builder.build({ [`${action}Response`]: { '@_xmlns': model.xmlNamespace, ...result, ResponseMetadata: { RequestId: requestId } } });
}

/** An error in the service's envelope; `sender` is false for the server's own faults (the Query `Type`). */
export function encodeError(model: ServiceModel, code: string, message: string, requestId: string, sender = true): string {
  if (model.protocol === 'ec2')
    return XML_DECLARATION + builder.build({ Response: { Errors: { Error: { Code: code, Message: message } }, RequestID: requestId } });
  return (
    XML_DECLARATION +
    builder.build({
      ErrorResponse: { '@_xmlns': model.xmlNamespace, Error: { Type: sender ? 'Sender' : 'Receiver', Code: code, Message: message }, RequestId: requestId },
    })
  );
}
