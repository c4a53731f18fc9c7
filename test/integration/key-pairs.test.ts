/**
 * Key pairs as EC2 documents them (KeyPairInfo.KeyFingerprint, CreateKeyPair's KeyFormat, ImportKeyPair's formats),
 * each expected value computed by the tools AWS's guide names (ssh-keygen, openssl's SHA-1 of the PKCS#8 DER, PuTTY's
 * puttygen): fingerprints of made and imported keys, PuTTY files PuTTY reads, RFC 4716 public keys, AWS's error
 * codes, and no empty tag list.
 */
import { expect } from 'chai';
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateKeyPairCommand, DescribeKeyPairsCommand, ImportKeyPairCommand } from '@aws-sdk/client-ec2';
import { dropAccount, execFileAsync, newAccount, type TestAccount } from '../support/live';

const hexColons = (b: Buffer) => b.toString('hex').match(/../g)!.join(':');

describe('key pairs (fingerprints, formats and codes as AWS documents them)', function () {
  this.timeout(60_000);
  let account: TestAccount;
  const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-keys-'));
  before(async () => {
    account = await newAccount('keys');
  });
  after(() => dropAccount(account));

  const publicKeyOf = async (name: string) => (await account.ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name], IncludePublicKey: true }))).KeyPairs![0];

  it('an RSA key made here: PEM, fingerprint the SHA-1 of the private key as PKCS#8 DER, no tag list', async () => {
    const made = await account.ec2.send(new CreateKeyPairCommand({ KeyName: 'made-rsa' }));
    expect(made.KeyMaterial).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
    const der = createPrivateKey(made.KeyMaterial!).export({ type: 'pkcs8', format: 'der' });
    expect(made.KeyFingerprint).to.equal(hexColons(createHash('sha1').update(der).digest()));
    // what AWS's guide runs: openssl pkcs8 -topk8 -nocrypt -outform DER | openssl sha1 -c
    const file = path.join(dir, 'made-rsa.pem');
    writeFileSync(file, made.KeyMaterial!, { mode: 0o600 });
    const { stdout } = await execFileAsync('sh', ['-c', `openssl pkcs8 -in ${file} -inform PEM -outform DER -topk8 -nocrypt | openssl sha1 -c`]);
    expect(stdout.trim().split(' ').pop()).to.equal(made.KeyFingerprint);
    expect('Tags' in made && made.Tags !== undefined).to.equal(false);
    const described = await publicKeyOf('made-rsa');
    expect(described.KeyFingerprint).to.equal(made.KeyFingerprint);
    expect(described.Tags).to.equal(undefined);
  });

  it('an ED25519 key made here: OpenSSH format, fingerprint base64 SHA-256 as ssh-keygen -l prints it', async () => {
    const made = await account.ec2.send(
      new CreateKeyPairCommand({
        KeyName: 'made-ed',
        KeyType: 'ed25519',
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'team', Value: 'a' }] }],
      }),
    );
    expect(made.KeyMaterial).to.match(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    const file = path.join(dir, 'made-ed');
    writeFileSync(file, made.KeyMaterial!, { mode: 0o600 });
    const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-f', file]);
    // ssh-keygen leaves out base64's padding
    expect(made.KeyFingerprint!.replace(/=+$/, '')).to.equal(/SHA256:(\S+)/.exec(stdout)![1]);
    expect(made.Tags).to.deep.equal([{ Key: 'team', Value: 'a' }]);
  });

  it('KeyFormat ppk gives a PuTTY private key that PuTTY reads, of the same public key', async () => {
    for (const [name, type] of [
      ['ppk-rsa', 'rsa'],
      ['ppk-ed', 'ed25519'],
    ] as const) {
      const made = await account.ec2.send(new CreateKeyPairCommand({ KeyName: name, KeyType: type, KeyFormat: 'ppk' }));
      expect(made.KeyMaterial).to.match(/^PuTTY-User-Key-File-3: ssh-/);
      const file = path.join(dir, `${name}.ppk`);
      writeFileSync(file, made.KeyMaterial!, { mode: 0o600 });
      await execFileAsync('puttygen', [file, '-O', 'public-openssh', '-o', `${file}.pub`]);
      expect(readFileSync(`${file}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')).to.equal(
        (await publicKeyOf(name)).PublicKey!.split(' ').slice(0, 2).join(' '),
      );
    }
  });

  it('imports an OpenSSH line and an SSH2 (RFC 4716) file; an imported RSA key has the MD5 fingerprint', async () => {
    const file = path.join(dir, 'mine');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'me@laptop', '-f', file]);
    const ssh2 = (await execFileAsync('ssh-keygen', ['-e', '-f', `${file}.pub`])).stdout;
    expect(ssh2).to.match(/^---- BEGIN SSH2 PUBLIC KEY ----/);
    const md5 = /MD5:(\S+)/.exec((await execFileAsync('ssh-keygen', ['-l', '-E', 'md5', '-f', `${file}.pub`])).stdout)![1];
    const imported = await account.ec2.send(new ImportKeyPairCommand({ KeyName: 'from-ssh2', PublicKeyMaterial: Buffer.from(ssh2) }));
    expect(imported.KeyFingerprint).to.equal(md5);
    expect(imported.Tags).to.equal(undefined);
    const line = await account.ec2.send(new ImportKeyPairCommand({ KeyName: 'from-line', PublicKeyMaterial: readFileSync(`${file}.pub`) }));
    expect(line.KeyFingerprint).to.equal(md5);
  });

  it("answers AWS's codes: InvalidKeyPair.Duplicate, InvalidKey.Format (garbage, ECDSA), InvalidKeyPair.NotFound", async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'none',
        (err) => err.name,
      );
    expect(await code(account.ec2.send(new CreateKeyPairCommand({ KeyName: 'made-rsa' })))).to.equal('InvalidKeyPair.Duplicate');
    expect(await code(account.ec2.send(new ImportKeyPairCommand({ KeyName: 'junk', PublicKeyMaterial: Buffer.from('not a key') })))).to.equal(
      'InvalidKey.Format',
    );
    const file = path.join(dir, 'ec');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', file]);
    expect(await code(account.ec2.send(new ImportKeyPairCommand({ KeyName: 'ec', PublicKeyMaterial: readFileSync(`${file}.pub`) })))).to.equal(
      'InvalidKey.Format',
    );
    expect(await code(account.ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['nobody'] })))).to.equal('InvalidKeyPair.NotFound');
  });
});
