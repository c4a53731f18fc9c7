/** EC2's Instance and Reservation structures for instance rows (RunInstances, DescribeInstances). */
import type { Services } from '../../services';
import { STATE_CODES, type InstanceRow } from '../../domain/instances';
import { derivedIds } from '../../domain/ids';
import type { Instance, Reservation, Tag } from '../../protocol/model/ec2-shapes';
import { instanceRootMapping, ROOT_DEVICE_NAME } from './root-device';

type RowWithTags = InstanceRow & { tag_list?: Tag[] };

export function instanceView(r: InstanceRow, tags: Tag[], network: Services['network']): Instance {
  const ip = r.private_ip;
  const live = r.state !== 'terminated';
  const ids = network.defaults(r.account_id);
  const sg = [{ GroupId: ids.group, GroupName: 'default' }];
  return {
    InstanceId: r.id,
    ImageId: r.image_id,
    State: { Code: STATE_CODES[r.state], Name: r.state },
    PrivateDnsName: network.privateDnsName(ip),
    PublicDnsName: '',
    StateTransitionReason: r.transition_reason,
    KeyName: r.key_name ?? undefined,
    AmiLaunchIndex: r.ami_launch_index,
    ProductCodes: [],
    InstanceType: r.instance_type,
    LaunchTime: r.launch_time,
    Placement: { AvailabilityZone: r.availability_zone, GroupName: '', Tenancy: 'default' },
    Monitoring: { State: 'disabled' },
    SubnetId: live ? ids.subnet : undefined,
    VpcId: live ? ids.vpc : undefined,
    PrivateIpAddress: ip ?? undefined,
    StateReason: r.state_reason_code ? { Code: r.state_reason_code, Message: r.state_reason_message ?? r.state_reason_code } : undefined,
    Architecture: 'x86_64',
    RootDeviceType: 'ebs',
    RootDeviceName: ROOT_DEVICE_NAME,
    BlockDeviceMappings: live ? [instanceRootMapping(r)] : [],
    VirtualizationType: 'hvm',
    ClientToken: r.client_token ?? '',
    Tags: tags,
    SecurityGroups: live ? sg : [],
    SourceDestCheck: true,
    Hypervisor: 'xen',
    NetworkInterfaces:
      live && ip
        ? [
            {
              Attachment: {
                AttachTime: r.created_at,
                AttachmentId: derivedIds.attachment(r.id),
                DeleteOnTermination: true,
                DeviceIndex: 0,
                Status: 'attached',
                NetworkCardIndex: 0,
              },
              Description: 'Primary network interface',
              Groups: sg,
              Ipv6Addresses: [],
              MacAddress: r.mac ?? undefined,
              NetworkInterfaceId: derivedIds.networkInterface(r.id),
              OwnerId: r.account_id,
              PrivateDnsName: network.privateDnsName(ip),
              PrivateIpAddress: ip,
              PrivateIpAddresses: [{ Primary: true, PrivateDnsName: network.privateDnsName(ip), PrivateIpAddress: ip }],
              SourceDestCheck: true,
              Status: 'in-use',
              SubnetId: ids.subnet,
              VpcId: ids.vpc,
              InterfaceType: 'interface',
            },
          ]
        : [],
    EbsOptimized: false,
    EnaSupport: false,
    CpuOptions: { CoreCount: r.vcpus, ThreadsPerCore: 1 },
    CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
    HibernationOptions: { Configured: false },
    MetadataOptions: {
      State: 'applied',
      HttpTokens: 'optional',
      HttpPutResponseHopLimit: 1,
      HttpEndpoint: 'disabled',
      HttpProtocolIpv6: 'disabled',
      InstanceMetadataTags: 'disabled',
    },
    EnclaveOptions: { Enabled: false },
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    UsageOperationUpdateTime: r.created_at,
    MaintenanceOptions: { AutoRecovery: 'default' },
    CurrentInstanceBootMode: 'legacy-bios',
  };
}

/** Instance views for rows of one account, tags included (one query for all rows that came without them). */
export async function instanceViews(rows: RowWithTags[], services: Services): Promise<Instance[]> {
  const needTags = rows.filter((r) => !r.tag_list).map((r) => r.id);
  const tags = needTags.length ? await services.tags.load(needTags) : new Map<string, Tag[]>();
  return rows.map((r) => instanceView(r, r.tag_list ?? tags.get(r.id) ?? [], services.network));
}

/** Groups instance views into EC2 reservations, keeping the order in which reservations first appear. */
export async function reservationViews(rows: RowWithTags[], services: Services): Promise<Reservation[]> {
  const views = await instanceViews(rows, services);
  const byReservation = new Map<string, Reservation & { Instances: Instance[] }>();
  rows.forEach((r, i) => {
    if (!byReservation.has(r.reservation_id))
      byReservation.set(r.reservation_id, { ReservationId: r.reservation_id, OwnerId: r.account_id, Groups: [], Instances: [] });
    byReservation.get(r.reservation_id)!.Instances.push(views[i]);
  });
  return [...byReservation.values()];
}
