/** The nftables ruleset a node's packet filter writes, from a model (nft itself checks it when it is installed). */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { compileFirewall, type FirewallModel } from '../../src/adapters/firewall';

const bridgeOf = (n: 'shared' | number) => (n === 'shared' ? 'virbr-oarcloud' : `ocv${n}`);

function model(): FirewallModel {
  return {
    ports: [
      {
        port: 'oc0123456789abc',
        network: 5001,
        ip: '10.0.1.5',
        mac: '02:00:0a:00:01:05',
        ingress: [
          { protocol: 'tcp', from: 22, to: 22, cidr: '0.0.0.0/0' },
          { protocol: 'udp', from: 53, to: 53, set: 'g_web' },
          { protocol: 'icmp', from: 8, to: -1, cidr: '10.0.0.0/16' },
          { protocol: '47', from: null, to: null, cidr: '10.0.2.0/24' },
        ],
        egress: [{ protocol: 'tcp', from: 443, to: 443, cidr: '0.0.0.0/0' }],
      },
      {
        port: 'ocfedcba9876543',
        network: 'shared',
        ip: '10.77.0.12',
        mac: '02:00:0a:4d:00:0c',
        ingress: [{ protocol: '-1', from: null, to: null, set: 'g_default' }],
        egress: [],
      },
    ],
    sets: { g_web: ['10.0.1.6', '10.0.1.7'], g_default: ['10.77.0.12'] },
    subnets: [
      {
        network: 5001,
        cidr: '10.0.1.0/24',
        egress: [{ allow: true, protocol: '-1', cidr: '0.0.0.0/0', from: null, to: null, icmpType: null, icmpCode: null }],
        ingress: [
          { allow: false, protocol: '6', cidr: '10.0.2.0/24', from: 5432, to: 5432, icmpType: null, icmpCode: null },
          { allow: true, protocol: '6', cidr: '0.0.0.0/0', from: 1024, to: 65535, icmpType: null, icmpCode: null },
        ],
      },
    ],
    trusted: [{ network: 'shared', ip: '10.77.0.1' }],
    gateways: [{ vni: 5001, ip: '10.0.1.1' }],
    metadata: {
      network: 'shared',
      to: '10.77.0.1:8779',
      hops: [
        { ip: '10.77.0.20', hops: 1 },
        { ip: '10.77.0.21', hops: 1 },
        { ip: '10.77.0.22', hops: 3 },
      ],
    },
  };
}

describe('packet filter (nftables)', () => {
  const script = compileFirewall(model(), bridgeOf);

  it('pins each port to its MAC and address, and keeps gateway ARP off VXLAN', () => {
    expect(script).to.contain('"oc0123456789abc" . 02:00:0a:00:01:05');
    expect(script).to.contain('"oc0123456789abc" . 10.0.1.5');
    expect(script).to.contain('iifname @ports ether type ip6 drop');
    expect(script).to.contain('"ocx5001" . 10.0.1.1');
  });

  it('dispatches by (bridge, address) to each port chain: ingress accepts, egress returns, both end in drop', () => {
    expect(script).to.contain('"ocv5001" . 10.0.1.5 : jump in_oc0123456789abc');
    expect(script).to.contain('"virbr-oarcloud" . 10.77.0.12 : jump out_ocfedcba9876543');
    const ingress = /chain in_oc0123456789abc \{([^}]*)\}/.exec(script)![1];
    expect(ingress).to.contain('tcp dport 22 accept').and.contain('ip saddr @g_web udp dport 53 accept');
    expect(ingress).to.contain('ip saddr 10.0.0.0/16 icmp type 8 accept').and.contain('ip saddr 10.0.2.0/24 meta l4proto 47 accept');
    expect(ingress.trim().endsWith('drop')).to.equal(true);
    expect(/chain out_oc0123456789abc \{([^}]*)\}/.exec(script)![1]).to.contain('tcp dport 443 return');
  });

  it('checks subnet ACLs before conntrack (stateless), in rule order, with the zone of the VPC', () => {
    const forward = script.slice(script.indexOf('chain forward { type filter hook forward priority filter;'), script.indexOf('chain acl_out_0'));
    expect(forward.indexOf('jump acl_in_0')).to.be.lessThan(forward.indexOf('ct state established'));
    const acl = /chain acl_in_0 \{([^}]*)\}/.exec(script)![1];
    expect(acl.indexOf('tcp dport 5432-5432 drop')).to.be.lessThan(acl.indexOf('tcp dport 1024-65535 return'));
    expect(script).to.contain('iifname "ocv5001" ct zone set 5001');
  });

  it('sends the metadata address to the service on the shared network, and lets every instance reach it and the resolver', () => {
    expect(script).to.contain('ip daddr 169.254.169.254 tcp dport 80 dnat to 10.77.0.1:8779');
    const forward = script.slice(script.indexOf('chain forward { type filter hook forward priority filter;'), script.indexOf('chain acl_out_0'));
    expect(forward.indexOf('ip daddr 169.254.169.254 tcp dport 80 accept')).to.be.within(0, forward.indexOf('vmap @from_port'));
    expect(forward.indexOf('ip daddr 169.254.169.253 meta l4proto { tcp, udp } th dport 53 accept')).to.be.within(0, forward.indexOf('vmap @from_port'));
  });

  it("gives the metadata service's answers each instance's hop limit as their IP TTL", () => {
    expect(script).to.contain('tcp sport { 80, 8779 } ip daddr { 10.77.0.20, 10.77.0.21 } ip ttl set 1');
    expect(script).to.contain('tcp sport { 80, 8779 } ip daddr { 10.77.0.22 } ip ttl set 3');
  });

  it('is a ruleset nft accepts (when nft is installed)', function () {
    const check = spawnSync('nft', ['-c', '-f', '-'], { input: script, encoding: 'utf8' });
    if (check.error) return this.skip();
    expect(check.status, check.stderr).to.equal(0);
  });
});
