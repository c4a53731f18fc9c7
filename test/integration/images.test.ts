/** Issue 5 against real containers: capture, launch from a captured image, sharing, deregistration. */
import { expect } from 'chai';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  ModifyImageAttributeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  DeleteSnapshotCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { config, dropAccount, execFileAsync, execIn, IMAGES, newAccount, sleep, waitForImage, waitForStates, type TestAccount } from '../support/live';
import { ImageStore } from '../../src/adapters/image-store';
import { connect } from '../../src/adapters/db';
import { DEREGISTERED_SHOWN_SECONDS } from '../../src/domain/images';

/** Moves an image's deregistration back in time: the interval EC2 shows it for is an hour. */
async function setDeregisteredAt(imageId: string, at: Date): Promise<void> {
  const db = connect(config.databaseUrl, { min: 0, max: 1 });
  try {
    await db('images').where('id', imageId).update({ deregistered_at: at });
  } finally {
    await db.destroy();
  }
}

async function runOne(ec2: EC2Client, imageId: string): Promise<string> {
  const id = (await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }))).Instances![0].InstanceId!;
  await waitForStates(ec2, [id], ['running']);
  return id;
}

describe('Images: capture, launch, share, deregister (real)', function () {
  this.timeout(180_000);
  let alice: TestAccount;
  let bob: TestAccount;
  let carol: TestAccount;
  before(async () => {
    [alice, bob, carol] = await Promise.all([newAccount('alice'), newAccount('bob'), newAccount('carol')]);
  });
  after(async () => {
    for (const a of [alice, bob, carol]) await dropAccount(a);
  });

  it('run → write → CreateImage → available → run from it: changes, deletions and opaque directories come through', async () => {
    const source = await runOne(alice.ec2, IMAGES.busybox);
    await execIn(source, 'echo captured > /root/file; rm /bin/vi; rm -rf /etc/init.d; mkdir /etc/init.d; echo only > /etc/init.d/only');
    const name = `web-${Date.now()}`;
    const { ImageId } = await alice.ec2.send(
      new CreateImageCommand({
        InstanceId: source,
        Name: name,
        Description: 'first capture',
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'role', Value: 'web' }] }],
      }),
    );
    expect(ImageId).to.match(/^ami-[0-9a-f]{17}$/);
    const image = await waitForImage(alice.ec2, ImageId!);
    expect(image).to.deep.include({
      State: 'available',
      Name: name,
      Description: 'first capture',
      OwnerId: alice.accountId,
      Public: false,
      RootDeviceName: '/dev/xvda',
    });
    expect(image.Tags).to.deep.equal([{ Key: 'role', Value: 'web' }]);
    expect(image.BlockDeviceMappings?.[0].Ebs?.SnapshotId).to.match(/^snap-/);
    // the container was frozen during the capture, not stopped: it is still running after the next passes
    await sleep(2500);
    expect((await waitForStates(alice.ec2, [source], ['running', 'stopping', 'stopped']))[0].State?.Name).to.equal('running');
    const duplicate = await alice.ec2.send(new CreateImageCommand({ InstanceId: source, Name: name })).catch((e) => e);
    expect(duplicate.name).to.equal('InvalidAMIName.Duplicate');

    const mine = await alice.ec2.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [
          { Name: 'name', Values: ['web-*'] },
          { Name: 'tag:role', Values: ['web'] },
        ],
      }),
    );
    expect(mine.Images?.map((i) => i.ImageId)).to.deep.equal([ImageId]);
    // more of the filters the DescribeImages reference lists
    const by = async (Name: string, value: string) =>
      (await alice.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name, Values: [value] }] }))).Images?.map((i) => i.ImageId);
    expect(await by('source-instance-id', source)).to.deep.equal([ImageId]);
    expect(await by('creation-date', `${image.CreationDate!.slice(0, 10)}T*`)).to.deep.equal([ImageId]);
    expect(await by('block-device-mapping.snapshot-id', image.BlockDeviceMappings![0].Ebs!.SnapshotId!)).to.deep.equal([ImageId]);
    expect(await by('source-instance-id', 'i-0123456789abcdef0')).to.deep.equal([]);
    expect(await by('tag-key', 'ro*')).to.deep.equal([ImageId]);
    expect((await bob.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).to.deep.equal([]);

    const copy = await runOne(alice.ec2, ImageId!);
    expect(await execIn(copy, 'cat /root/file')).to.equal('captured\n');
    expect(await execIn(copy, 'ls /etc/init.d')).to.equal('only\n');
    expect(await execIn(copy, 'test -e /bin/vi && echo present || echo gone')).to.equal('gone\n');
    expect((await execIn(copy, 'hostname')).trim()).to.equal(copy);

    // deregistering keeps the instance launched from it running; its layers go once nothing uses them
    const snapshot = image.BlockDeviceMappings![0].Ebs!.SnapshotId!;
    const inUse = await alice.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshot })).catch((e) => e);
    expect(inUse.name).to.equal('InvalidSnapshot.InUse');
    await alice.ec2.send(new DeregisterImageCommand({ ImageId }));
    await alice.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshot }));
    // EC2: "Recently deregistered images appear in the returned results for a short interval and then return
    // empty results. After all instances that reference a deregistered AMI are terminated, specifying the ID of
    // the image will eventually return an error indicating that the AMI ID cannot be found." (DescribeImages)
    const recent = await alice.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }));
    expect(recent.Images!.map((i) => [i.ImageId, i.State])).to.deep.equal([[ImageId, 'deregistered']]);
    expect((await alice.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images, 'listings leave it out at once').to.deep.equal([]);
    await setDeregisteredAt(ImageId!, new Date(Date.now() - (DEREGISTERED_SHOWN_SECONDS + 60) * 1000));
    const referenced = await alice.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }));
    expect(referenced.Images, 'an instance still runs from it: empty, no error').to.deep.equal([]);
    await sleep(1000);
    expect(await execIn(copy, 'cat /root/file')).to.equal('captured\n');
    const launchDeregistered = await alice.ec2.send(new RunInstancesCommand({ ImageId, MinCount: 1, MaxCount: 1 })).catch((e) => e);
    expect(launchDeregistered.name).to.equal('InvalidAMIID.NotFound');

    const store = new ImageStore(config.dataDir);
    const layersBefore = store.layers();
    await alice.ec2.send(new TerminateInstancesCommand({ InstanceIds: [source, copy] }));
    await waitForStates(alice.ec2, [source, copy], ['terminated']);
    const gone = await alice.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] })).catch((e) => e);
    expect(gone.name, 'nothing references it any more').to.equal('InvalidAMIID.NotFound');
    let layersAfter = store.layers();
    for (let i = 0; i < 60 && layersAfter.length >= layersBefore.length; i++) {
      await sleep(250);
      layersAfter = store.layers();
    }
    expect(layersAfter.length, 'the captured layer is collected').to.equal(layersBefore.length - 1);
  });

  it('shares an image with exactly the named account, which can launch it; others get NotFound', async () => {
    const source = await runOne(alice.ec2, IMAGES.busybox);
    await alice.ec2.send(new StopInstancesCommand({ InstanceIds: [source] }));
    await waitForStates(alice.ec2, [source], ['stopped']);
    const { ImageId } = await alice.ec2.send(new CreateImageCommand({ InstanceId: source, Name: `shared-${Date.now()}` }));
    expect((await waitForImage(alice.ec2, ImageId!)).State).to.equal('available');

    const hidden = await bob.ec2.send(new RunInstancesCommand({ ImageId, MinCount: 1, MaxCount: 1 })).catch((e) => e);
    expect(hidden.name).to.equal('InvalidAMIID.NotFound');
    await alice.ec2.send(new ModifyImageAttributeCommand({ ImageId, LaunchPermission: { Add: [{ UserId: bob.accountId }] } }));
    const perms = await alice.ec2.send(new DescribeImageAttributeCommand({ ImageId, Attribute: 'launchPermission' }));
    expect(perms.LaunchPermissions).to.deep.equal([{ UserId: bob.accountId }]);
    // AWS takes any 12-digit account id, one with no account here too (ModifyImageAttribute: "The AWS account IDs")
    await alice.ec2.send(new ModifyImageAttributeCommand({ ImageId, LaunchPermission: { Add: [{ UserId: '000000000042' }] } }));
    const withUnknown = await alice.ec2.send(new DescribeImageAttributeCommand({ ImageId, Attribute: 'launchPermission' }));
    expect(withUnknown.LaunchPermissions?.map((p) => p.UserId).sort()).to.deep.equal(['000000000042', bob.accountId].sort());
    await alice.ec2.send(new ModifyImageAttributeCommand({ ImageId, LaunchPermission: { Remove: [{ UserId: '000000000042' }] } }));

    const seen = await bob.ec2.send(new DescribeImagesCommand({ ExecutableUsers: ['self'] }));
    expect(seen.Images?.map((i) => i.ImageId)).to.deep.equal([ImageId]);
    expect((await bob.ec2.send(new DescribeImagesCommand({ Owners: [alice.accountId] }))).Images?.map((i) => i.ImageId)).to.deep.equal([ImageId]);
    expect((await carol.ec2.send(new DescribeImagesCommand({ Owners: [alice.accountId] }))).Images).to.deep.equal([]);
    const carolLaunch = await carol.ec2.send(new RunInstancesCommand({ ImageId, MinCount: 1, MaxCount: 1 })).catch((e) => e);
    expect(carolLaunch.name).to.equal('InvalidAMIID.NotFound');
    const bobDeregister = await bob.ec2.send(new DeregisterImageCommand({ ImageId })).catch((e) => e);
    expect(bobDeregister.name).to.equal('UnauthorizedOperation');

    const bobInstance = await runOne(bob.ec2, ImageId!);
    expect(bobInstance).to.match(/^i-/);
    await alice.ec2.send(new ModifyImageAttributeCommand({ ImageId, LaunchPermission: { Remove: [{ UserId: bob.accountId }] } }));
    const revoked = await bob.ec2.send(new RunInstancesCommand({ ImageId, MinCount: 1, MaxCount: 1 })).catch((e) => e);
    expect(revoked.name).to.equal('InvalidAMIID.NotFound');
    await alice.ec2.send(new DeregisterImageCommand({ ImageId }));
  });

  it('imports a root filesystem tarball with `oarcloud image import` and launches it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'oarcloud-import-'));
    const tarball = path.join(dir, 'rootfs.tar.zst');
    const base = new ImageStore(config.dataDir).layerPath('base-busybox');
    await execFileAsync('tar', ['-C', base, '--zstd', '--exclude=./sbin/ec2-init', '-cf', tarball, '.']);
    const cli = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
    const name = `imported-${Date.now()}`;
    const out = (await execFileAsync(process.execPath, [cli, 'image', 'import', tarball, '--name', name])).stdout;
    const imageId = /^(ami-[0-9a-f]{17})\t/.exec(out)![1];
    expect((await execFileAsync(process.execPath, [cli, 'image', 'list'])).stdout).to.contain(name);
    const found = await carol.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }));
    expect(found.Images?.[0]).to.deep.include({ ImageId: imageId, Public: true, ImageOwnerAlias: 'oarcloud' });
    const id = await runOne(carol.ec2, imageId);
    expect((await execIn(id, 'hostname')).trim()).to.equal(id);
    await carol.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForStates(carol.ec2, [id], ['terminated']);
    await execFileAsync(process.execPath, [cli, 'image', 'delete', imageId]);
    expect(existsSync(tarball)).to.equal(true);
  });
});
