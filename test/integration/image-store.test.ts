/** The layer store on a real overlayfs: copies keep whiteouts and opaque directories; flattening resolves them. */
import { expect } from 'chai';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ImageStore } from '../../src/adapters/image-store';
import { runOk } from '../../src/adapters/exec';

describe('Layer store (real overlayfs)', () => {
  let data: string;
  let store: ImageStore;
  before(() => {
    data = mkdtempSync('/var/lib/oarcloud/test-store-');
    store = new ImageStore(data);
  });
  after(() => rm(data, { recursive: true, force: true }));

  it('captures an upper directory with its whiteouts and opaque directories, and flattens a chain', async () => {
    const base = store.layerPath('base-x');
    mkdirSync(path.join(base, 'etc', 'app'), { recursive: true });
    writeFileSync(path.join(base, 'etc', 'keep'), 'base');
    writeFileSync(path.join(base, 'etc', 'drop'), 'base');
    writeFileSync(path.join(base, 'etc', 'app', 'old'), 'base');
    writeFileSync(path.join(base, '.complete'), '');
    // an instance on top of it deletes a file and replaces a directory
    const id = 'i-0000000000000abcd';
    const rootfs = await store.mount(id, ['base-x']);
    await runOk('sh', ['-c', `rm ${rootfs}/etc/drop && rm -rf ${rootfs}/etc/app && mkdir ${rootfs}/etc/app && echo new > ${rootfs}/etc/app/new`]);
    await store.unmount(id);

    await store.createLayer('lyr-delta', [store.upperDir(id)]);
    const whiteout = path.join(store.layerPath('lyr-delta'), 'etc', 'drop');
    expect((await runOk('stat', ['-c', '%F %t:%T', whiteout])).trim()).to.equal('character special file 0:0');
    expect(
      (
        await runOk('getfattr', ['-n', 'trusted.overlay.opaque', '--only-values', path.join(store.layerPath('lyr-delta'), 'etc', 'app')]).catch(() => '')
      ).trim(),
    ).to.equal('y');

    const copy = 'i-0000000000000abce';
    const copyRoot = await store.mount(copy, ['lyr-delta', 'base-x']);
    expect(readdirSync(path.join(copyRoot, 'etc')).sort()).to.deep.equal(['app', 'keep']);
    expect(readdirSync(path.join(copyRoot, 'etc', 'app'))).to.deep.equal(['new']);
    await store.remove(copy);

    await store.createLayer('lyr-flat', [store.layerPath('lyr-delta'), base]);
    const flat = store.layerPath('lyr-flat');
    expect(existsSync(path.join(flat, 'etc', 'drop'))).to.equal(false);
    expect(readFileSync(path.join(flat, 'etc', 'keep'), 'utf8')).to.equal('base');
    expect(readdirSync(path.join(flat, 'etc', 'app'))).to.deep.equal(['new']);
    expect(store.layers().sort()).to.deep.equal(['base-x', 'lyr-delta', 'lyr-flat']);
    await store.remove(id);
    expect(store.isMounted(id)).to.equal(false);
  });
});
