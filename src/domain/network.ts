/**
 * The shared instance network (the libvirt NAT network every account's default VPC stands for) and the ids of
 * each account's default VPC, subnet, security group, main route table and ACL, derived from the account id so
 * that they never change (domain/vpcs.ts makes their rows).
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config';

const hex17 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 17);

/** EC2's private DNS name of an address (ip-10-0-1-5.ec2.internal). */
export function privateDnsName(ip: string): string {
  return `ip-${ip.replace(/\./g, '-')}.ec2.internal`;
}

export class NetworkView {
  constructor(private readonly config: Config) {}

  defaultVpcId(accountId: string): string {
    return `vpc-${hex17(`vpc:${accountId}`)}`;
  }
  defaultSubnetId(accountId: string): string {
    return `subnet-${hex17(`subnet:${accountId}`)}`;
  }
  defaultSecurityGroupId(accountId: string): string {
    return `sg-${hex17(`sg:${accountId}`)}`;
  }
  /** Another id of the account's default VPC (its main route table, default ACL...), stable in the same way. */
  derivedId(prefix: 'rtb' | 'acl' | 'aclassoc', accountId: string): string {
    return `${prefix}-${hex17(`${prefix}:${accountId}`)}`;
  }
  /** The account's default VPC, subnet and security group ids. */
  defaults(accountId: string): { vpc: string; subnet: string; group: string } {
    return { vpc: this.defaultVpcId(accountId), subnet: this.defaultSubnetId(accountId), group: this.defaultSecurityGroupId(accountId) };
  }
  get cidr(): string {
    return `${this.config.subnetPrefix}.0/24`;
  }
  get gateway(): string {
    return `${this.config.subnetPrefix}.1`;
  }
  /** A MAC address derived from the IP (locally administered), so both are known before the container exists. */
  macFor(ip: string): string {
    const [a, b, c, d] = ip.split('.').map(Number);
    return ['02', '00', a, b, c, d].map((x) => (typeof x === 'number' ? x.toString(16).padStart(2, '0') : x)).join(':');
  }
  privateDnsName(ip: string | null): string {
    return ip ? privateDnsName(ip) : '';
  }
}
