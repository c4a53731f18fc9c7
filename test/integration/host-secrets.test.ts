/**
 * Secrets on the host: a local user who is not root can neither read OAR Cloud's secrets nor log in to
 * PostgreSQL as OAR Cloud or as OAR with the packages' well-known passwords (provisioning generated others).
 */
import { expect } from 'chai';
import { statSync } from 'node:fs';
import { DATABASE_SECRETS_FILE } from '../../src/config';
import { config, execFileAsync } from '../support/live';

/** Runs psql as the unprivileged user `nobody`, over TCP as any local user could. */
const psqlAsNobody = (url: string) =>
  execFileAsync('runuser', ['-u', 'nobody', '--', 'psql', url, '-Atc', 'select 1'], { env: { PGCONNECT_TIMEOUT: '3', PATH: process.env.PATH } }).then(
    () => 'connected',
    (err) => String(err.stderr),
  );

describe('host secrets', function () {
  it('keeps the database passwords, master key and bootstrap credentials readable by root only', () => {
    for (const file of [DATABASE_SECRETS_FILE, config.masterKeyFile, '/etc/oarcloud/bootstrap-credentials.json']) {
      const st = statSync(file);
      expect(st.uid, file).to.equal(0);
      expect(st.mode & 0o077, `${file} mode ${(st.mode & 0o777).toString(8)}`).to.equal(0);
    }
    expect(statSync('/etc/oarcloud').mode & 0o077).to.equal(0);
  });

  it('refuses the well-known default passwords of the oarcloud, oar and oar_ro roles', async () => {
    for (const url of [
      'postgres://oarcloud:oarcloud@127.0.0.1:5432/oarcloud',
      'postgres://oar:oarpw@127.0.0.1:5432/oar',
      'postgres://oar_ro:oarropw@127.0.0.1:5432/oar',
    ]) {
      expect(await psqlAsNobody(url), url).to.match(/password authentication failed/);
    }
  });

  it('lets the server in with the generated ones (the same check, so a refusal above means something)', async () => {
    expect(await psqlAsNobody(config.databaseUrl)).to.equal('connected');
    expect(config.databaseUrl).not.to.contain(':oarcloud@');
  });
});
