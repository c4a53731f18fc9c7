import { expect } from 'chai';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/domain/secrets';
import { createdFingerprint, parsePublicKey, toPpk } from '../../src/domain/key-pairs';
import { isValidId, newAccessKeyId, newId } from '../../src/domain/ids';
import { decodeUserData, MAX_USER_DATA_BYTES } from '../../src/actions/run-instances';
import { oarSizingFor } from '../../src/domain/instance-types';
import { domainXml } from '../../src/adapters/libvirt';
import { DomainError as Ec2Error } from '../../src/domain/errors';
import { INSTANCE_STATUS_FILTERS } from '../../src/actions/describe-instance-status';
import { filterAnswers, splitFilters } from '../../src/actions/views/answer-filters';

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

  it("parses public keys in every format ImportKeyPair takes, with AWS's fingerprints (KeyPairInfo.KeyFingerprint)", () => {
    // AWS: "For RSA key pairs [imported], the key fingerprint is the MD5 public key fingerprint as specified in section
    // 4 of RFC4716. For ED25519 key pairs, the key fingerprint is the base64-encoded SHA-256 digest"
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const fromPem = parsePublicKey(spki);
    expect(fromPem.type).to.equal('rsa');
    const md5 = createHash('md5').update(fromPem.blob).digest('hex').match(/../g)!.join(':');
    expect(fromPem.fingerprint).to.equal(md5);
    const [, base64] = fromPem.line.split(' ');
    expect(parsePublicKey(`ssh-rsa ${base64} me@host\n`)).to.deep.include({ fingerprint: md5, line: `ssh-rsa ${base64} me@host` });
    // RFC 4716's SSH2 public key file, with a continued header
    const ssh2 = ['---- BEGIN SSH2 PUBLIC KEY ----', 'Comment: "a long \\', 'comment"', ...base64.match(/.{1,70}/g)!, '---- END SSH2 PUBLIC KEY ----', ''].join(
      '\n',
    );
    expect(parsePublicKey(ssh2)).to.deep.include({ fingerprint: md5, line: `ssh-rsa ${base64} a long comment` });
    expect(parsePublicKey((rsa.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')).fingerprint).to.equal(md5);
    const ed = generateKeyPairSync('ed25519');
    const edKey = parsePublicKey(ed.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    expect(edKey.type).to.equal('ed25519');
    expect(edKey.fingerprint).to.equal(createHash('sha256').update(edKey.blob).digest('base64'));
    expect(() => parsePublicKey('ssh-rsa bm90IGEga2V5')).to.throw(Ec2Error);
    expect(() => parsePublicKey('hello')).to.throw(Ec2Error);
    const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => parsePublicKey(ecdsa)).to.throw(/not supported/);
  });

  it("gives keys it makes AWS's fingerprints: RSA the SHA-1 of the private key's DER (PKCS#8), ED25519 base64 SHA-256", () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const der = rsa.privateKey.export({ type: 'pkcs8', format: 'der' });
    const blob = parsePublicKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string).blob;
    expect(createdFingerprint('rsa', pem, blob)).to.equal(createHash('sha1').update(der).digest('hex').match(/../g)!.join(':'));
    // PuTTY's format 3: its MAC is HMAC-SHA-256 (empty key when unencrypted) over the fields
    const ppk = toPpk(pem, 'me');
    expect(ppk).to.match(/^PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: me\nPublic-Lines: \d+\n/);
    expect(ppk).to.match(/\nPrivate-MAC: [0-9a-f]{64}\n$/);
  });

  it('limits user data to 16 KB after decoding', () => {
    expect(decodeUserData(Buffer.from('echo hi').toString('base64'))!.toString()).to.equal('echo hi');
    expect(decodeUserData(Buffer.alloc(MAX_USER_DATA_BYTES).toString('base64'))!.length).to.equal(MAX_USER_DATA_BYTES);
    expect(() => decodeUserData(Buffer.alloc(MAX_USER_DATA_BYTES + 1).toString('base64'))).to.throw(/16384/);
    expect(() => decodeUserData('not base64!')).to.throw(Ec2Error);
  });

  it('asks OAR for whole cores for dedicated types, covering both their vCPUs and their memory', () => {
    // 4 slots of 256 MiB per core: a core carries 1 GiB
    expect(oarSizingFor({ vcpus: 1, memoryMib: 1024, burstable: false }, 4, 256)).to.deep.equal({ cores: 1, slotsPerCore: null });
    expect(oarSizingFor({ vcpus: 1, memoryMib: 4096, burstable: false }, 4, 256)).to.deep.equal({ cores: 4, slotsPerCore: null });
    expect(oarSizingFor({ vcpus: 2, memoryMib: 512, burstable: false }, 4, 256)).to.deep.equal({ cores: 2, slotsPerCore: null });
  });

  it('asks OAR for slots for burstable types: one per vCPU at least, enough for the memory, spread over one core per vCPU', () => {
    // the default on this machine: 20 slots per core, ~589 MiB each
    expect(oarSizingFor({ vcpus: 1, memoryMib: 512, burstable: true }, 20, 589)).to.deep.equal({ cores: 1, slotsPerCore: 1 });
    expect(oarSizingFor({ vcpus: 1, memoryMib: 1024, burstable: true }, 20, 589)).to.deep.equal({ cores: 1, slotsPerCore: 2 });
    expect(oarSizingFor({ vcpus: 2, memoryMib: 4096, burstable: true }, 20, 589)).to.deep.equal({ cores: 2, slotsPerCore: 4 });
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

  it("reads DescribeInstanceStatus's own filters off its answer: an impaired instance is found as impaired", () => {
    const statuses = [
      { InstanceId: 'i-ok', InstanceStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] } },
      { InstanceId: 'i-lost', InstanceStatus: { Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed' }] } },
    ];
    const pick = (Name: string, Values: string[]) => filterAnswers(INSTANCE_STATUS_FILTERS, statuses, [{ Name, Values }]).map((s) => s.InstanceId);
    expect(pick('instance-status.status', ['impaired'])).to.deep.equal(['i-lost']);
    expect(pick('instance-status.reachability', ['pass*'])).to.deep.equal(['i-ok']);
    expect(pick('event.code', ['*'])).to.deep.equal([]);
    const { earlier, onAnswer } = splitFilters(INSTANCE_STATUS_FILTERS, [
      { Name: 'availability-zone', Values: ['x'] },
      { Name: 'system-status.status', Values: ['ok'] },
    ]);
    expect(earlier.map((f) => f.Name)).to.deep.equal(['availability-zone']);
    expect(onAnswer.map((f) => f.Name)).to.deep.equal(['system-status.status']);
  });
});
