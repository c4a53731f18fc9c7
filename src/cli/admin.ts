/**
 * `oarcloud node|instance|quota|events`: running the cluster from the shell, through the same Administration
 * module as the admin API and dashboard (nodes are changed with OAR's own tools underneath).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Config } from '../config';
import { withDatabase } from '../adapters/db';
import { Oar } from '../adapters/oar';
import { Administration } from '../domain/administration';
import { Quotas } from '../domain/quotas';
import { EventLog } from '../domain/events';
import { Accounts } from '../domain/accounts';
import { SecretBox } from '../domain/secrets';
import { joinAndAdd, removeNode } from './nodes';

/** Who changes things from the shell, as the event log records it. */
const operator = () => `${process.env.SUDO_USER || userInfo().username}@cli`;

export async function withAdministration<T>(config: Config, fn: (admin: Administration, accounts: Accounts) => Promise<T>): Promise<T> {
  return withDatabase(config.databaseUrl, async (db) => {
    const oar = new Oar(config);
    try {
      const accounts = new Accounts(db, SecretBox.fromFile(config.masterKeyFile));
      return await fn(
        new Administration({
          db,
          oar,
          quotas: new Quotas(db),
          accounts,
          events: new EventLog(db),
          oarServerPort: config.oarServerPort,
          slotsPerCore: config.slotsPerCore,
        }),
        accounts,
      );
    } finally {
      await oar.close();
    }
  });
}

/** Prints rows as aligned columns under a header. */
export function printTable(header: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  for (const r of cells) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '));
}

function positiveInt(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number`);
    return Number(value);
  };
}

/** A quota value: a whole number, or "default" for the server's default. */
function quotaValue(value: string): number | null {
  if (value === 'default') return null;
  if (!/^\d+$/.test(value)) throw new Error(`a quota must be a whole number or "default", not '${value}'`);
  return Number(value);
}

export function registerAdminCommands(program: Command, config: Config): void {
  const node = program.command('node').description('manage OAR nodes (admin; uses oarnodesetting and oarremoveresource)');
  node
    .command('list')
    .description('nodes with their state, drain, cores used/free, memory, slots and instances')
    .action(() =>
      withAdministration(config, async (admin) => {
        const nodes = await admin.nodes();
        printTable(
          ['HOST', 'STATE', 'DRAIN', 'CORES', 'USED', 'FREE', 'MEMORY_MIB', 'SLOTS', 'FREE_SLOTS', 'INSTANCES'],
          nodes.map((n) => [
            n.host,
            n.state,
            n.drain ? 'yes' : 'no',
            n.cores,
            n.usedCores,
            n.freeCores,
            n.memoryMib,
            n.slots,
            n.freeSlots,
            n.instanceIds.join(','),
          ]),
        );
      }),
    );
  node
    .command('add <host>')
    .description('add a host to OAR as N cores of OARCLOUD_SLOTS_PER_CORE slots each, sharing a memory size')
    .requiredOption('--cores <n>', 'number of cores', positiveInt('--cores'))
    .requiredOption('--memory <mib>', 'memory of the host in MiB', positiveInt('--memory'))
    .option('--slots-per-core <n>', 'OAR resources per core (default OARCLOUD_SLOTS_PER_CORE)', positiveInt('--slots-per-core'))
    .action((host, opts) =>
      withAdministration(config, async (admin) => {
        const n = await admin.addNode(operator(), host, opts.cores, opts.memory, opts.slotsPerCore);
        console.log(`added ${n.host}: ${n.cores} core(s) of ${n.slots / n.cores} slots, ${n.memoryMib} MiB, ${n.state}`);
      }),
    );
  node
    .command('join <root@host>')
    .description('make a Debian 12 host a compute node over ssh (packages, OAR node, libvirtd, node agent, network), then add it; idempotent')
    .option('--cores <n>', 'cores to offer (default: all of the host)', positiveInt('--cores'))
    .option('--memory <mib>', 'memory to offer in MiB (default: all of the host)', positiveInt('--memory'))
    .option('--slots-per-core <n>', 'OAR resources per core (default OARCLOUD_SLOTS_PER_CORE)', positiveInt('--slots-per-core'))
    .action((target, opts) =>
      withAdministration(config, (admin) =>
        joinAndAdd(config, admin, operator(), target, { cores: opts.cores, memoryMib: opts.memory, slotsPerCore: opts.slotsPerCore }),
      ),
    );
  node
    .command('drain <host>')
    .description('OAR starts no new job on the host; running instances go on')
    .action((host) =>
      withAdministration(config, async (admin) => {
        const n = await admin.drainNode(operator(), host, true);
        console.log(`${n.host} drained (${n.usedCores} core(s) still in use)`);
      }),
    );
  node
    .command('undrain <host>')
    .description('OAR may start jobs on the host again')
    .action((host) =>
      withAdministration(config, async (admin) => {
        const n = await admin.drainNode(operator(), host, false);
        console.log(`${n.host} undrained (${n.freeCores} core(s) free)`);
      }),
    );
  node
    .command('absent <host>')
    .description('set the host Absent in OAR (refused while instances run there, unless --force: OAR ends them)')
    .option('--force', 'end the instances running there')
    .action((host, opts) =>
      withAdministration(config, async (admin) => {
        const n = await admin.setNodeState(operator(), host, 'Absent', Boolean(opts.force));
        console.log(`${n.host} is ${n.state}`);
      }),
    );
  node
    .command('alive <host>')
    .description('set the host Alive in OAR')
    .action((host) =>
      withAdministration(config, async (admin) => {
        const n = await admin.setNodeState(operator(), host, 'Alive');
        console.log(`${n.host} is ${n.state}`);
      }),
    );
  node
    .command('remove <host>')
    .description('drain the host, then remove it from OAR (refused while instances still run there, unless --force)')
    .option('--force', 'end the instances running there')
    .action((host, opts) =>
      withAdministration(config, async (admin) => {
        await removeNode(config, admin, operator(), host, Boolean(opts.force));
        console.log(`removed ${host}`);
      }),
    );

  const instance = program.command('instance').description('see instances of every account (admin)');
  instance
    .command('list')
    .description('instances of all accounts (terminated ones for an hour)')
    .option('--account <nameOrId>', 'only this account')
    .option('--state <state>', 'only this state')
    .action((opts) =>
      withAdministration(config, async (admin) => {
        const list = await admin.instances({ account: opts.account, state: opts.state });
        printTable(
          ['INSTANCE', 'ACCOUNT', 'STATE', 'TYPE', 'CORES', 'NODE', 'OAR_JOB', 'PRIVATE_IP', 'NAME'],
          list.map((i) => [i.id, `${i.accountName}(${i.accountId})`, i.state, i.instanceType, i.cores, i.node, i.oarJobId, i.privateIp, i.name]),
        );
      }),
    );

  for (const [action, to] of [
    ['terminate', 'terminated'],
    ['stop', 'stopped'],
  ] as const) {
    instance
      .command(`${action} <instanceIds...>`)
      .description(`${action} instances of any account (protection notwithstanding; the owner sees "${to} by an administrator")`)
      .action((ids: string[]) =>
        withAdministration(config, async (admin) => {
          for (const id of ids) {
            const changed = await admin.changeInstance(operator(), id, to);
            console.log(`${id}: ${changed.state} -> ${to} (the server's reconciler does it within a second)`);
          }
        }),
      );
  }

  const quota = program.command('quota').description('per-account quotas enforced by RunInstances (admin)');
  quota
    .command('show [account]')
    .description('limits and usage of every account, or of one')
    .action((acc) =>
      withAdministration(config, async (admin) => {
        const list = (await admin.accounts()).filter((a) => !acc || a.name === acc || a.id === acc);
        if (acc && list.length === 0) throw new Error(`no account '${acc}'`);
        printTable(
          ['ACCOUNT', 'NAME', 'INSTANCES', 'MAX_INSTANCES', 'CORES', 'MAX_CORES'],
          list.map((a) => [a.id, a.name, a.usage.instances, a.limits.maxInstances, a.usage.cores, a.limits.maxCores]),
        );
      }),
    );
  quota
    .command('set <account>')
    .description('set limits ("default" goes back to the server default)')
    .option('--instances <n>', 'most instances not terminated', quotaValue)
    .option('--cores <n>', 'most OAR cores held by instances not terminated', quotaValue)
    .action((acc, opts) =>
      withAdministration(config, async (admin, accounts) => {
        if (opts.instances === undefined && opts.cores === undefined) throw new Error('give --instances and/or --cores');
        const account = await accounts.get(acc);
        const limits = await admin.setQuota(operator(), account.id, { maxInstances: opts.instances, maxCores: opts.cores });
        console.log(`${account.name}: at most ${limits.maxInstances} instance(s) and ${limits.maxCores} core(s)`);
      }),
    );

  program
    .command('alarms')
    .description('what needs an admin now; exits 2 if anything is critical, 1 for warnings, 0 if all is well')
    .action(() =>
      withAdministration(config, async (admin) => {
        const alarms = await admin.alarms();
        if (alarms.length === 0) console.log('no alarm');
        else
          printTable(
            ['LEVEL', 'SUBJECT', 'MESSAGE'],
            alarms.map((a) => [a.level, a.subject, a.message]),
          );
        process.exitCode = alarms.some((a) => a.level === 'critical') ? 2 : alarms.length ? 1 : 0;
      }),
    );

  program
    .command('events')
    .description('recent events: state changes, OAR submissions, resizes, schedule runs, admin changes, errors')
    .option('--errors', 'only errors')
    .option('--limit <n>', 'how many', positiveInt('--limit'), 30)
    .action((opts) =>
      withAdministration(config, async (admin) => {
        const list = (await admin.events({ limit: opts.limit, errorsOnly: Boolean(opts.errors) })).reverse();
        printTable(
          ['AT', 'KIND', 'RESOURCE', 'MESSAGE'],
          list.map((e) => [e.at, e.kind, e.resourceId, e.message]),
        );
      }),
    );
}
