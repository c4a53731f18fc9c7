/** Files the server writes into an instance's root file system never follow a link of the image out of it. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImageStore } from '../../src/adapters/image-store';

describe('instance files and the links of a user image', () => {
  const data = mkdtempSync(path.join(tmpdir(), 'oarcloud-files-'));
  const store = new ImageStore(data);
  const id = 'i-0123456789abcdef0';
  const rootfs = store.rootfs(id);
  const outside = path.join(data, 'outside');

  before(() => {
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'precious'), 'untouched');
    mkdirSync(path.join(rootfs, 'root'), { recursive: true });
    symlinkSync(outside, path.join(rootfs, 'etc')); // etc -> a directory out of the image
    symlinkSync(path.join(outside, 'precious'), path.join(rootfs, 'root', 'link')); // a file link out of it
  });

  it('refuses to write through a directory link that leads out of the rootfs', async () => {
    await store.writeFiles(id, [{ path: 'etc/hostname', content: 'x\n', mode: 0o644 }], process.getuid!()).then(
      () => expect.fail('wrote through etc -> outside'),
      (err) => expect(String(err)).to.match(/link out of the rootfs/),
    );
  });

  it('replaces a file link by a file of its own, leaving the link target alone', async () => {
    await store.writeFiles(id, [{ path: 'root/link', content: 'mine\n', mode: 0o600 }], process.getuid!());
    expect(lstatSync(path.join(rootfs, 'root', 'link')).isSymbolicLink()).to.equal(false);
    expect(readFileSync(path.join(rootfs, 'root', 'link'), 'utf8')).to.equal('mine\n');
    expect(readFileSync(path.join(outside, 'precious'), 'utf8')).to.equal('untouched');
  });
});
