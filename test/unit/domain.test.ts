import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/domain/secrets';
import { parsePublicKey } from '../../src/domain/key-pairs';
import { isValidId, newAccessKeyId, newId } from '../../src/domain/ids';
import { decodeUserData, MAX_USER_DATA_BYTES } from '../../src/actions/run-instances';
import { oarSizingFor } from '../../src/domain/instance-types';
import { domainXml } from '../../src/adapters/libvirt';
import { DomainError as Ec2Error } from '../../src/domain/errors';
import { statusFiltersToStates } from '../../src/actions/describe-instance-status';

describe('domain helpers', () => {
  it('seals secrets so that only the master key opens them, and detects tampering', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('s3cr3t');
    expect(sealed.toString('utf8')).not.to.contain('s3cr3t');
    expect(box.open(sealed)).to.equal('s3cr3t');
    sealed[sealed.length - 1] ^= 1;
    expect(() => box.open(sealed)).to.throw();
    expect(() => new SecretBox(randomBytes(32)).open(box.seal('x'))).to.throw();
  });

  it('makes ids in EC2 forms', () => {
    expect(newId('i')).to.match(/^i-[0-9a-f]{17}$/);
    expect(isValidId('i', newId('i'))).to.equal(true);
    expect(isValidId('i', 'i-12345678')).to.equal(true);
    expect(isValidId('i', 'ami-12345678')).to.equal(false);
    expect(newAccessKeyId()).to.match(/^AKIA[A-Z2-7]{16}$/);
  });

  it('parses OpenSSH public keys and computes their MD5 fingerprint', () => {
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)]);
    const k = parsePublicKey(`ssh-ed25519 ${blob.toString('base64')} me@host\n`);
    expect(k.type).to.equal('ed25519');
    expect(k.fingerprint).to.match(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(() => parsePublicKey('ssh-rsa bm90IGEga2V5')).to.throw(Ec2Error);
    expect(() => parsePublicKey('hello')).to.throw(Ec2Error);
  });

  it('limits user data to 16 KB after decoding', () => {
    expect(decodeUserData(Buffer.from('echo hi').toString('base64'))!.toString()).to.equal('echo hi');
    expect(decodeUserData(Buffer.alloc(MAX_USER_DATA_BYTES).toString('base64'))!.length).to.equal(MAX_USER_DATA_BYTES);
    expect(() => decodeUserData(Buffer.alloc(MAX_USER_DATA_BYTES + 1).toString('base64'))).to.throw(/16384/);
    expect(() => decodeUserData('not base64!')).to.throw(Ec2Error);
  });

  it('asks OAR for whole cores for dedicated types, covering both their vCPUs and their memory', () => {
    // 4 slots of 256 MiB per core: a core carries 1 GiB
    expect(oarSizingFor({ name: 'a', vcpus: 1, memoryMib: 1024, burstable: false }, 4, 256)).to.deep.equal({ cores: 1, slotsPerCore: null });
    expect(oarSizingFor({ name: 'b', vcpus: 1, memoryMib: 4096, burstable: false }, 4, 256)).to.deep.equal({ cores: 4, slotsPerCore: null });
    expect(oarSizingFor({ name: 'c', vcpus: 2, memoryMib: 512, burstable: false }, 4, 256)).to.deep.equal({ cores: 2, slotsPerCore: null });
  });

  it('asks OAR for slots for burstable types: one per vCPU at least, enough for the memory, spread over one core per vCPU', () => {
    // the default on this machine: 20 slots per core, ~589 MiB each
    expect(oarSizingFor({ name: 't2.nano', vcpus: 1, memoryMib: 512, burstable: true }, 20, 589)).to.deep.equal({ cores: 1, slotsPerCore: 1 });
    expect(oarSizingFor({ name: 't2.micro', vcpus: 1, memoryMib: 1024, burstable: true }, 20, 589)).to.deep.equal({ cores: 1, slotsPerCore: 2 });
    expect(oarSizingFor({ name: 't2.medium', vcpus: 2, memoryMib: 4096, burstable: true }, 20, 589)).to.deep.equal({ cores: 2, slotsPerCore: 4 });
  });

  it('writes a container definition with limits, the static address and a TERM-aware init', () => {
    const xml = domainXml({
      name: 'i-1',
      rootfs: '/r',
      vcpus: 2,
      memoryMib: 512,
      cpuset: '0,1',
      network: 'n',
      ip: '10.0.0.5',
      prefix: 24,
      gateway: '10.0.0.1',
      mac: '02:00:0a:00:00:05',
    });
    expect(xml).to.contain('<domain type="lxc">');
    expect(xml).to.contain('<memory unit="MiB">512</memory>');
    expect(xml).to.contain('<vcpu placement="static" cpuset="0,1">2</vcpu>');
    expect(xml).to.contain('<ip address="10.0.0.5" prefix="24"');
    expect(xml).to.contain('<init>/sbin/ec2-init</init>');
  });

  it("turns DescribeInstanceStatus's status and event filters into instance-state filters", () => {
    expect(statusFiltersToStates([{ Name: 'instance-status.status', Values: ['ok'] }])).to.deep.equal([{ Name: 'instance-state-name', Values: ['running'] }]);
    expect(statusFiltersToStates([{ Name: 'system-status.status', Values: ['init*'] }])).to.deep.equal([{ Name: 'instance-state-name', Values: ['pending'] }]);
    expect(statusFiltersToStates([{ Name: 'instance-status.reachability', Values: ['passed'] }])[0].Values).to.deep.equal(['running']);
    expect(statusFiltersToStates([{ Name: 'event.code', Values: ['instance-stop'] }])).to.deep.equal([{ Name: 'instance-state-name', Values: [] }]);
    expect(statusFiltersToStates([{ Name: 'availability-zone', Values: ['x'] }])).to.deep.equal([{ Name: 'availability-zone', Values: ['x'] }]);
  });
});
