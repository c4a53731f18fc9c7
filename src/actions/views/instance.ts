/** EC2's Instance and Reservation structures for instance rows (RunInstances, DescribeInstances). */
import type { Services } from '../../services';
import { STATE_CODES, type InstanceRow } from '../../domain/instances';
import { derivedIds } from '../../domain/ids';
import type { Instance, Reservation, Tag } from '../../protocol/model/ec2-shapes';
import { instanceRootMapping, ROOT_DEVICE_NAME } from './root-device';
import { tagSet } from './tags';

type RowWithTags = InstanceRow & { tag_list?: Tag[] };

/** The instance's metadata service options as EC2 shows them. */
export function metadataOptionsView(_network: Services['network'], r: InstanceRow) {
  const row = r as InstanceRow & { metadata_endpoint?: string; metadata_tokens?: string; metadata_hop_limit?: number; metadata_tags?: string };
  return {
    State: 'applied',
    HttpTokens: row.metadata_tokens ?? 'optional',
    HttpPutResponseHopLimit: row.metadata_hop_limit ?? 1,
    HttpEndpoint: row.metadata_endpoint ?? 'enabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: row.metadata_tags ?? 'disabled',
  };
}

/** Where an instance's primary interface is: its subnet and VPC, its groups and its elastic IP. */
export interface InterfacePlace {
  subnetId: string;
  vpcId: string;
  groups: { GroupId: string; GroupName: string }[];
  publicIp?: string;
  /** Whether publicIp is an automatic address (owned by "amazon" on EC2) rather than an elastic IP. */
  automaticPublicIp?: boolean;
}

export function instanceView(r: InstanceRow, tags: Tag[], network: Services['network'], place: InterfacePlace): Instance {
  const ip = r.private_ip;
  const live = r.state !== 'terminated';
  const ids = { subnet: place.subnetId, vpc: place.vpcId };
  const sg = place.groups;
  const association = place.publicIp
    ? { IpOwnerId: place.automaticPublicIp ? 'amazon' : r.account_id, PublicIp: place.publicIp, PublicDnsName: '' }
    : undefined;
  return {
    InstanceId: r.id,
    ImageId: r.image_id,
    State: { Code: STATE_CODES[r.state], Name: r.state },
    PrivateDnsName: network.privateDnsName(ip),
    PublicDnsName: '',
    PublicIpAddress: live ? place.publicIp : undefined,
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
    Tags: tagSet(tags),
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
              Association: association,
              Description: 'Primary network interface',
              Groups: sg,
              Ipv6Addresses: [],
              MacAddress: r.mac ?? undefined,
              NetworkInterfaceId: derivedIds.networkInterface(r.id),
              OwnerId: r.account_id,
              PrivateDnsName: network.privateDnsName(ip),
              PrivateIpAddress: ip,
              PrivateIpAddresses: [{ Association: association, Primary: true, PrivateDnsName: network.privateDnsName(ip), PrivateIpAddress: ip }],
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
    MetadataOptions: metadataOptionsView(network, r),
    EnclaveOptions: { Enabled: false },
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    UsageOperationUpdateTime: r.created_at,
    MaintenanceOptions: { AutoRecovery: 'default' },
    CurrentInstanceBootMode: 'legacy-bios',
  };
}

/** Where each instance's interface is, for rows of one account (three queries whatever their number). */
export async function interfacePlaces(rows: InstanceRow[], services: Services): Promise<Map<string, InterfacePlace>> {
  const out = new Map<string, InterfacePlace>();
  if (!rows.length) return out;
  const accountId = rows[0].account_id;
  const [subnets, groups, addresses] = await Promise.all([
    services.vpcs.subnetVpcs(accountId),
    services.securityGroups.groupsOf(rows.map((r) => r.id)),
    services.elasticIps.instanceAddresses(accountId),
  ]);
  const defaults = services.network.defaults(accountId);
  for (const r of rows) {
    const vpcId = r.subnet_id ? subnets.get(r.subnet_id) : undefined;
    out.set(r.id, {
      subnetId: vpcId ? r.subnet_id! : defaults.subnet,
      vpcId: vpcId ?? defaults.vpc,
      groups: (groups.get(r.id) ?? [{ id: defaults.group, name: 'default' }]).map((g) => ({ GroupId: g.id, GroupName: g.name })),
      publicIp: addresses.get(r.id)?.publicIp,
      automaticPublicIp: addresses.get(r.id)?.automatic,
    });
  }
  return out;
}

/** Instance views for rows of one account, tags included (one query for all rows that came without them). */
export async function instanceViews(rows: RowWithTags[], services: Services): Promise<Instance[]> {
  const needTags = rows.filter((r) => !r.tag_list).map((r) => r.id);
  const [tags, places] = await Promise.all([needTags.length ? services.tags.load(needTags) : new Map<string, Tag[]>(), interfacePlaces(rows, services)]);
  return rows.map((r) => instanceView(r, r.tag_list ?? tags.get(r.id) ?? [], services.network, places.get(r.id)!));
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
  // a reservation's instances in launch order, as EC2 lists them (the page itself is keyed on instance ids)
  for (const reservation of byReservation.values()) reservation.Instances.sort((a, b) => a.AmiLaunchIndex! - b.AmiLaunchIndex!);
  return [...byReservation.values()];
}
