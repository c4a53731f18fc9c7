/** `oarcloud doctor`: one line per component, and for each failure what to run. */
import { ProxyHost } from '../adapters/haproxy';
import { endpointUrl, type Config } from '../config';
import { ping, withDatabase } from '../adapters/db';
import { Images } from '../domain/images';
import { run } from '../adapters/exec';
import { Oar } from '../adapters/oar';
import { bridgedTrafficFiltered, portOpen } from '../adapters/net';
import { serverHealthy } from './bootstrap';

interface Check {
  name: string;
  run(): Promise<string>; // resolves with a detail, throws with the problem
  fix: string;
}

export async function doctor(config: Config): Promise<boolean> {
  const up = 'bin/oarcloud up';
  const checks: Check[] = [
    {
      name: 'PostgreSQL',
      fix: up,
      run: async () => {
        await withDatabase(config.databaseUrl, ping);
        return 'oarcloud database answers';
      },
    },
    {
      name: 'OAR database',
      fix: `${up}  (or: oar-database --check)`,
      run: async () => {
        const oar = new Oar(config);
        try {
          return `${await oar.jobsRecorded()} jobs recorded`;
        } finally {
          await oar.close();
        }
      },
    },
    {
      name: 'Almighty',
      fix: `${up}  (or: /etc/init.d/oar-server start)`,
      run: async () => {
        if (!(await portOpen(config.oarServerPort))) throw new Error(`nothing listens on port ${config.oarServerPort}`);
        return `listening on ${config.oarServerPort}`;
      },
    },
    {
      name: 'OAR node',
      fix: `${up}  (or: /etc/init.d/oar-node start)`,
      run: async () => {
        if (!(await portOpen(6667))) throw new Error('the OAR sshd does not listen on port 6667');
        return 'OAR sshd on 6667';
      },
    },
    {
      name: 'OAR resources',
      fix: 'bin/oarcloud node list; bin/oarcloud node alive <host>; bin/oarcloud node undrain <host>',
      run: async () => {
        const oar = new Oar(config);
        try {
          const { nodes } = await oar.capacity();
          if (![...nodes.values()].some((n) => n.cores > 0)) throw new Error('no Alive, undrained core resource: RunInstances has nowhere to go');
          return [...nodes.entries()]
            .map(([host, n]) => `${host}: ${n.cores} Alive, undrained cores of ${n.slotsPerCore} slots (${n.memoryPerSlotMib} MiB each)`)
            .join('; ');
        } finally {
          await oar.close();
        }
      },
    },
    {
      name: 'libvirtd',
      fix: up,
      run: async () => {
        const r = await run('virsh', ['-c', config.libvirtUri, 'version']);
        if (r.code !== 0) throw new Error(r.stderr.trim().split('\n')[0] || 'libvirtd does not answer');
        return (/Running hypervisor: (.*)/.exec(r.stdout)?.[1] ?? 'answers').trim();
      },
    },
    {
      name: 'network',
      fix: up,
      run: async () => {
        const r = await run('virsh', ['-c', config.libvirtUri, 'net-info', config.network]);
        if (r.code !== 0 || !/Active:\s+yes/.test(r.stdout)) throw new Error(`libvirt network ${config.network} is not active`);
        return `${config.network} active (${config.subnetPrefix}.0/24)`;
      },
    },
    {
      name: 'packet filter',
      fix: `${up}  (needs the br_netfilter kernel module and nftables)`,
      run: async () => {
        if (!(await bridgedTrafficFiltered())) throw new Error('bridged frames bypass netfilter: security groups are not enforced');
        const table = await run('nft', ['list', 'table', 'inet', 'oarcloud']);
        return table.code === 0 ? `security groups enforced (nftables table inet oarcloud)` : `br_netfilter on; the rules are written with the first instance`;
      },
    },
    {
      name: 'load balancers',
      fix: `${up}  (installs Debian's haproxy)`,
      run: async () => {
        const version = await run('haproxy', ['-v']);
        if (version.code !== 0) throw new Error('haproxy is not installed: load balancers cannot run');
        const running = (await new ProxyHost().namespaces()).length;
        return `${/version (\S+)/.exec(version.stdout)?.[1] ?? 'haproxy'}; ${running} load balancer(s) on this machine`;
      },
    },
    {
      name: 'images',
      fix: up,
      run: async () => {
        const rows = await withDatabase(config.databaseUrl, (db) => new Images(db).systemImages());
        if (!rows.length) throw new Error('no system image is registered');
        return rows.map((r) => `${r.name}=${r.id}`).join(' ');
      },
    },
    {
      name: 'API',
      fix: up,
      run: async () => {
        if (!(await serverHealthy(config))) throw new Error(`no answer at ${endpointUrl(config)}`);
        return `answering at ${endpointUrl(config)}; dashboard at ${endpointUrl(config)}/_oarcloud/admin/`;
      },
    },
  ];
  let ok = true;
  for (const c of checks) {
    try {
      const detail = await c.run();
      console.log(`ok    ${c.name.padEnd(14)} ${detail}`);
    } catch (err: any) {
      ok = false;
      console.log(`FAIL  ${c.name.padEnd(14)} ${String(err?.message ?? err).split('\n')[0]}  -> run: ${c.fix}`);
    }
  }
  return ok;
}
