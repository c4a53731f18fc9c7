#!/usr/bin/env node
/** The `oarcloud` command: bring the cloud up, serve, test, and administer accounts, keys, images, nodes and quotas. */
import { Command } from 'commander';
import { loadConfig, endpointUrl } from '../config';
import { withDatabase } from '../adapters/db';
import { Images } from '../domain/images';
import { Accounts, type Role } from '../domain/accounts';
import { SecretBox } from '../domain/secrets';
import { credentialsFile, envExports, prepareDatabase, provisionHost, startServerInBackground, stopServer } from './bootstrap';
import { doctor } from './doctor';
import { serveForever } from '../server';
import { buildImage, deleteImage, importImage, listImages } from './images';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './bootstrap';
import { registerAdminCommands, withAdministration } from './admin';
import { registerNotifyCommands } from './notify';
import { printMyEvents } from './my-events';
import { ensureSimulatedNodes, reconnectNodes, removeSimulatedNodes } from './nodes';
import { simulatedNodes } from '../adapters/node-join';

const config = loadConfig();

/** Provisions the host, then rereads the configuration in place (provisioning may have written new database passwords). */
function provision(quiet = false): void {
  provisionHost(quiet);
  Object.assign(config, loadConfig());
}
const program = new Command('oarcloud').description('OAR Cloud: an EC2-compatible cloud on OAR and libvirt-LXC').showHelpAfterError();

/** Runs an admin action with the database, then closes it. */
function withAccounts<T>(fn: (accounts: Accounts) => Promise<T>): Promise<T> {
  return withDatabase(config.databaseUrl, (db) => fn(new Accounts(db, SecretBox.fromFile(config.masterKeyFile))));
}

program
  .command('up')
  .description('provision what is missing, start the API server in the background, print how to use it')
  .option('--skip-provision', 'do not run docker/provision.sh (services already set up)')
  .option('--nodes <n>', 'also run N simulated compute nodes on this machine (namespaces; for tests and demos)', (v) => {
    if (!/^\d+$/.test(v) || Number(v) > 50) throw new Error('--nodes must be a whole number up to 50');
    return Number(v);
  })
  .action(async (opts) => {
    if (!opts.skipProvision) provision();
    const creds = await prepareDatabase(config);
    await startServerInBackground(config);
    if (opts.nodes) {
      // each simulated node offers one core and that core's share of this machine's memory
      const size = { cores: 1, memoryMib: Math.floor(config.localMemoryMib / config.localCores), slotsPerCore: config.slotsPerCore };
      await withAdministration(config, (admin) => ensureSimulatedNodes(config, admin, opts.nodes, size));
    } else await withAdministration(config, (admin) => reconnectNodes(config, admin));
    const images = await withDatabase(config.databaseUrl, (db) => new Images(db).systemImages({ publicOnly: true }));
    console.log(`\nOAR Cloud is up at ${endpointUrl(config)} (account ${creds.accountId}).`);
    console.log(`Images: ${images.map((i) => `${i.name}=${i.id}`).join('  ')}`);
    console.log('\nTry it:');
    console.log(`  eval "$(bin/oarcloud env)"`);
    console.log(`  AWS_ACCESS_KEY_ID=${creds.accessKeyId} AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey} \\`);
    console.log(`    aws ec2 describe-instances --region ${config.regions[0]} --endpoint-url ${endpointUrl(config)}`);
    console.log(`\nAdmin dashboard: ${endpointUrl(config)}/_oarcloud/admin/ (sign in with the key above; it is an admin key)`);
  });

program
  .command('serve')
  .description('run the API server in the foreground (what the Dockerfile and a service manager run)')
  .option('--provision', 'first provision the host and prepare the database, as `up` does')
  .action(async (opts) => {
    if (opts.provision) {
      provision();
      await prepareDatabase(config);
    }
    await serveForever();
  });

program
  .command('down')
  .description('stop the API server')
  .option('--all', 'also stop Almighty, the OAR sshd, libvirtd and PostgreSQL')
  .action(async (opts) => {
    // simulated nodes go first, while the server can still see their instances end
    if (simulatedNodes().length) await withAdministration(config, (admin) => removeSimulatedNodes(config, admin));
    console.log((await stopServer(config)) ? 'API server stopped' : 'API server was not running');
    if (opts.all) spawnSync('bash', [path.join(ROOT, 'docker', 'provision.sh'), '--stop'], { stdio: 'inherit' });
  });

program
  .command('env')
  .description('print exports that point the aws CLI and boto3 at this server')
  .action(async () => {
    const file = credentialsFile(config);
    const creds = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : await prepareDatabase(config, true);
    console.log(envExports(config, creds));
  });

program
  .command('my-events')
  .description("your own account's events (state changes, resizes and who asked, schedule runs), with the aws CLI's credentials")
  .option('--resource <id>', 'only of this resource (an instance id, a schedule ARN)')
  .option('--kind <kind>', 'only of this kind (state, resize, schedule, error)')
  .option('--limit <n>', 'how many', (v) => Number(v), 30)
  .action(async (opts) => {
    try {
      await printMyEvents(config, opts);
    } catch (err) {
      console.error(`oarcloud my-events: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  });

program
  .command('doctor')
  .description('check every component; exit 0 only when all are well')
  .action(async () => {
    process.exitCode = (await doctor(config)) ? 0 : 1;
  });

program
  .command('test')
  .description('lint, then run the whole test suite against real services (starting what it needs)')
  .option('-g, --grep <pattern>', 'only tests whose title matches')
  .option('--suite <names...>', 'suites to run: test/unit test/integration test/browser compat-tests', [
    'test/unit',
    'test/integration',
    'test/browser',
    'compat-tests',
  ])
  .option('--skip-lint', 'do not run npm run lint first')
  .action(async (opts) => {
    if (!opts.skipLint) {
      console.log('== npm run lint (ESLint, Prettier, knip)');
      if (spawnSync('npm', ['run', '--silent', 'lint'], { stdio: 'inherit', cwd: ROOT }).status !== 0) {
        console.log('lint failed: fix it (npm run format fixes the formatting), or run with --skip-lint\n0 passed, 1 failed');
        process.exitCode = 1;
        return;
      }
    }
    provision(true);
    const creds = await prepareDatabase(config, true);
    await startServerInBackground(config, true);
    // mocha is a development dependency: loaded only for this command
    const { runTests } = await import('./test-runner.js');
    process.exitCode = (await runTests(config, creds, { grep: opts.grep, suites: opts.suite })) ? 0 : 1;
  });

program
  .command('bench')
  .description('run the benchmarks against real services and rewrite BENCHMARKS.md')
  .option('--quick', 'a short run of every part (what the test suite runs)')
  .option('--no-write', 'print the report instead of rewriting BENCHMARKS.md')
  .option('--only <parts...>', 'run only these parts (launch api images load cluster network lb monitoring resize) and print their figures as JSON')
  .action(async (opts) => {
    provision(true);
    await prepareDatabase(config, true);
    await startServerInBackground(config, true);
    // the bench is built with the rest of the project, outside src/
    const bench = require(path.join(ROOT, 'dist', 'bench', 'run.js')) as typeof import('../../bench/run');
    if (opts.only) {
      console.log(JSON.stringify(await bench.runBenchParts(opts.only, Boolean(opts.quick)), null, 2));
      return;
    }
    const result = await bench.runBench({ quick: Boolean(opts.quick), write: opts.write !== false });
    console.log(result.text);
  });

const account = program.command('account').description('manage accounts (admin)');
account.command('create <name>').action((name) =>
  withAccounts(async (a) => {
    const acc = await a.create(name);
    console.log(`${acc.id}\t${acc.name}`);
  }),
);
account.command('delete <nameOrId>').action((id) =>
  withAccounts(async (a) => {
    await a.delete(id);
    console.log(`deleted ${id}`);
  }),
);
account.command('list').action(() =>
  withAccounts(async (a) => {
    console.log('ID\tNAME\tSYSTEM\tUSERS\tACTIVE_KEYS\tCREATED');
    for (const r of await a.list()) console.log(`${r.id}\t${r.name}\t${r.is_system}\t${r.users}\t${r.keys}\t${r.created_at.toISOString()}`);
  }),
);

const key = program.command('key').description('manage access keys (admin)');
key
  .command('create <account>')
  .option('--user <name>', 'user the key belongs to', 'default')
  .option('--role <role>', 'admin or user', 'user')
  .action((acc, opts) =>
    withAccounts(async (a) => {
      if (!['admin', 'user'].includes(opts.role)) throw new Error('--role must be admin or user');
      const k = await a.createKey(acc, opts.user, opts.role as Role);
      console.log(
        `AccessKeyId: ${k.accessKeyId}\nSecretAccessKey: ${k.secretAccessKey}\nAccount: ${k.accountId}\nUser: ${k.userName}\n(the secret is shown only once)`,
      );
    }),
  );
key.command('list [account]').action((acc) =>
  withAccounts(async (a) => {
    console.log('ACCESS_KEY_ID\tSTATUS\tACCOUNT\tUSER\tROLE\tCREATED');
    for (const k of await a.listKeys(acc))
      console.log(`${k.access_key_id}\t${k.status}\t${k.account_id}(${k.account})\t${k.user}\t${k.role}\t${k.created_at.toISOString()}`);
  }),
);
key.command('revoke <accessKeyId>').action((id) =>
  withAccounts(async (a) => {
    await a.revokeKey(id);
    console.log(`revoked ${id}`);
  }),
);

const image = program.command('image').description('manage system images (admin)');
image
  .command('build <kind>')
  .description('build a base image: busybox, debian or debian-cloud')
  .action((kind) => buildImage(config, kind));
image
  .command('import <source>')
  .description('import a root filesystem (directory, .tar or .tar.zst) as a public image')
  .requiredOption('--name <name>', 'image name')
  .option('--description <text>', 'image description')
  .action((source, opts) => importImage(config, source, opts.name, opts.description));
image.command('list').action(() => listImages(config));
image.command('delete <imageId>').action((id) => deleteImage(config, id));

registerAdminCommands(program, config);
registerNotifyCommands(program, config);

program.parseAsync(process.argv).catch((err) => {
  console.error(`oarcloud: ${err?.message ?? err}`);
  process.exit(1);
});
