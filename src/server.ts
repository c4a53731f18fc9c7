/** The API server process: builds the services, starts the reconciler, serves HTTP, shuts down gracefully. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import { loadConfig, type Config } from './config';
import { createLogger, type Logger } from './log';
import { connect, migrate, type Db } from './adapters/db';
import { Oar } from './adapters/oar';
import { Libvirt } from './adapters/libvirt';
import { ImageStore } from './adapters/image-store';
import { NetworkIsolation } from './adapters/isolation';
import { Accounts } from './domain/accounts';
import { SecretBox } from './domain/secrets';
import { InstanceStore } from './domain/instances';
import { Images } from './domain/images';
import { KeyPairs } from './domain/key-pairs';
import { NetworkView } from './domain/network';
import { Quotas } from './domain/quotas';
import { AddressPool } from './domain/addresses';
import { Reconciler } from './domain/reconciler';
import { ImageCapturer } from './domain/image-capture';
import { CredentialCache } from './domain/credential-cache';
import { Administration } from './domain/administration';
import { createApp } from './transport/app';
import { actionRegistry } from './actions';
import type { Services } from './services';

export interface Runtime {
  services: Services;
  reconciler: Reconciler;
  close(): Promise<void>;
}

/** Services without HTTP: what the CLI's admin commands and the server share. */
export function buildServices(config: Config, log: Logger, db: Db = connect(config.databaseUrl)): { services: Services; reconciler: Reconciler } {
  const network = new NetworkView(config);
  const addresses = new AddressPool(config);
  const oar = new Oar(config);
  const store = new ImageStore(config.dataDir);
  const libvirt = new Libvirt(config.libvirtUri);
  const isolation = new NetworkIsolation(config.bridge);
  const reconciler = new Reconciler(db, config, oar, libvirt, store, addresses, network, isolation, log.child({ component: 'reconciler' }));
  const capturer = new ImageCapturer(db, store, libvirt, log.child({ component: 'images' }), config.idmapBase);
  const accounts = new Accounts(db, SecretBox.fromFile(config.masterKeyFile));
  const quotas = new Quotas(db);
  const services: Services = {
    config,
    log,
    db,
    accounts,
    credentials: new CredentialCache(accounts, config.databaseUrl, log.child({ component: 'credentials' })),
    instances: new InstanceStore(db, network, config.terminatedRetentionSeconds),
    images: new Images(db),
    keyPairs: new KeyPairs(db),
    network,
    quotas,
    addresses,
    oar,
    capturer,
    admin: new Administration({ db, oar, quotas, accounts, oarServerPort: config.oarServerPort, kick: (id) => reconciler.kick(id) }),
    kick: (id) => reconciler.kick(id),
  };
  return { services, reconciler };
}

export async function startServer(config = loadConfig()): Promise<{ server: Server; runtime: Runtime }> {
  const log = createLogger(config.logLevel, config.logFile);
  const db = connect(config.databaseUrl);
  await migrate(db);
  const { services, reconciler } = buildServices(config, log, db);
  await services.credentials.start();
  const app = createApp(services, actionRegistry());
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.on('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  reconciler.start();
  await services.capturer.resumePending();
  // layers of deregistered images go once no live instance uses them any more
  const collector = setInterval(() => void services.capturer.collectLayers().catch((err) => log.warn({ err: String(err) }, 'layer collection failed')), 10_000);
  mkdirSync(path.dirname(config.pidFile), { recursive: true });
  writeFileSync(config.pidFile, `${process.pid}\n`);
  log.info({ host: config.host, port: config.port, pid: process.pid }, 'listening');
  const runtime: Runtime = {
    services,
    reconciler,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      clearInterval(collector);
      await reconciler.stop();
      await services.capturer.idle();
      await services.credentials.stop();
      await services.oar.close();
      await db.destroy();
      rmSync(config.pidFile, { force: true });
    },
  };
  return { server, runtime };
}

/** `oarcloud serve`: runs until SIGTERM/SIGINT, then stops accepting, finishes work under way and exits. */
export async function serveForever(): Promise<void> {
  const { runtime } = await startServer();
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    runtime.services.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    runtime.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
