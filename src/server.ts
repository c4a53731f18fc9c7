/** The API server process: builds the services, starts the reconciler, serves HTTP, shuts down gracefully. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import { loadConfig, type Config } from './config';
import { createLogger, type Logger } from './log';
import { connect, migrate, type Db } from './adapters/db';
import { Oar } from './adapters/oar';
import { Libvirt } from './adapters/libvirt';
import { ComputeNodes, isThisMachine, probeNode } from './adapters/compute-node';
import { NodeHealth } from './domain/node-health';
import { ImageStore } from './adapters/image-store';
import { Accounts } from './domain/accounts';
import { SecretBox } from './domain/secrets';
import { InstanceStore } from './domain/instances';
import { Images } from './domain/images';
import { KeyPairs } from './domain/key-pairs';
import { NetworkView } from './domain/network';
import { Quotas } from './domain/quotas';
import { AddressPool } from './domain/addresses';
import { Reconciler } from './domain/reconciler';
import { Sweeper } from './domain/sweeper';
import { NetworkSync } from './domain/network-sync';
import { NetworkState } from './domain/network-state';
import { Vpcs } from './domain/vpcs';
import { SecurityGroups } from './domain/security-groups';
import { ElasticIps } from './domain/elastic-ips';
import { LoadBalancers } from './domain/load-balancers';
import { LoadBalancerSync } from './domain/load-balancer-sync';
import { ProxyHost } from './adapters/haproxy';
import { defaultZone } from './domain/zones';
import { InstanceMetadata } from './domain/instance-metadata';
import { createMetadataApp, type MetadataSources } from './transport/metadata-app';
import { EventLog } from './domain/events';
import { Tags } from './domain/tags';
import { AdminSessions } from './domain/admin-sessions';
import { Leadership } from './domain/leadership';
import { AdvisoryLock } from './adapters/advisory-lock';
import { ImageCapturer } from './domain/image-capture';
import { CredentialCache } from './domain/credential-cache';
import { Administration } from './domain/administration';
import { createApp } from './transport/app';
import { actionRegistry } from './actions';
import { elbActionRegistry } from './actions/elbv2';
import { cloudwatchActionRegistry } from './actions/cloudwatch';
import { snsActionRegistry } from './actions/sns';
import { schedulerActionRegistry } from './actions/scheduler';
import { invokeTarget } from './actions/scheduler/targets';
import { Schedules } from './domain/schedules';
import { ScheduleRunner } from './domain/schedule-runner';
import { InstanceNotifier } from './domain/instance-notifier';
import stopInstances from './actions/stop-instances';
import terminateInstances from './actions/terminate-instances';
import rebootInstances from './actions/reboot-instances';
import { cloudwatchModel, ec2Model, elbv2Model, schedulerModel, snsModel } from './protocol/model';
import { endpointUrl } from './config';
import { Metrics } from './domain/metrics';
import { MetricAlarms } from './domain/metric-alarms';
import { MetricCollector } from './domain/metric-collector';
import { Topics } from './domain/topics';
import { Settings } from './domain/settings';
import { DeliveryWorker } from './domain/deliveries';
import { AdminNotifier } from './domain/admin-notifier';
import { Mailer } from './adapters/mailer';
import { postNotification } from './adapters/webhook';
import type { Services } from './services';

export interface Runtime {
  services: Services;
  loops: Loops;
  close(): Promise<void>;
}

/** Services without HTTP: what the CLI's admin commands and the server share, and the loops the server runs. */
export function buildServices(
  config: Config,
  log: Logger,
  db: Db = connect(config.databaseUrl),
): { services: Services; loops: Loops; metadataSources: MetadataSources } {
  const network = new NetworkView(config);
  const addresses = new AddressPool(config, db);
  const oar = new Oar(config);
  const store = new ImageStore(config.dataDir);
  const nodes = new ComputeNodes(new Libvirt(config.libvirtUri), store, { ...config, gateway: network.gateway, subnet: network.cidr });
  const events = new EventLog(db);
  const tags = new Tags(db);
  const images = new Images(db);
  const keyPairs = new KeyPairs(db);
  const quotas = new Quotas(db);
  const masterKey = SecretBox.fromFile(config.masterKeyFile);
  const accounts = new Accounts(db, masterKey);
  const credentials = new CredentialCache(accounts, config.databaseUrl, log.child({ component: 'credentials' }));
  const vpcs = new Vpcs(db, network, () => defaultZone(config));
  const securityGroups = new SecurityGroups(db);
  vpcs.attach(securityGroups);
  const elasticIps = new ElasticIps(db, config.publicPool);
  // the instance store hands changed instances to the reconciler, which is built after it (it reads the store)
  const kick = (id: string) => reconciler.kick(id);
  const instances = new InstanceStore({
    db,
    network,
    images,
    keyPairs,
    quotas,
    addresses,
    tags,
    vpcs,
    securityGroups,
    capacity: oar,
    events,
    retentionSeconds: config.terminatedRetentionSeconds,
    kick,
  });
  const loadBalancers = new LoadBalancers(db, { vpcs, securityGroups, addresses, region: config.regions[0] });
  const rules = new NetworkSync(
    new NetworkState(db, network, (lb) => loadBalancers.dnsName(lb)),
    () => [nodes.local, ...nodes.remotes()],
    (address) => nodes.get(address),
    {
      sharedGateway: network.gateway,
      sharedPrefix: 24,
      mtu: config.overlayMtu,
      metadataPort: config.metadataPort,
      settlePublicAddresses: () => elasticIps.settleAutoAssigned(),
    },
    log.child({ component: 'network' }),
  );
  const reconciler = new Reconciler(instances, config, oar, nodes, addresses, rules, events, log.child({ component: 'reconciler' }));
  const proxies = new LoadBalancerSync(
    loadBalancers,
    rules,
    new ProxyHost(),
    () => nodes.local,
    { mtu: config.overlayMtu, hostsFile: config.hostsFile },
    log.child({ component: 'load-balancers' }),
  );
  const sweeper = new Sweeper(
    instances,
    oar,
    nodes,
    addresses,
    (id) => reconciler.isBusy(id),
    config.terminatedPurgeSeconds,
    log.child({ component: 'sweeper' }),
  );
  const capturer = new ImageCapturer(
    db,
    store,
    nodes,
    events,
    (id, work) => reconciler.exclusive(id, work),
    log.child({ component: 'images' }),
    config.idmapBase,
  );
  const metrics = new Metrics(db);
  const settings = new Settings(db);
  const topics = new Topics(db, config.regions[0], endpointUrl(config));
  const mailer = new Mailer();
  const deliveries = new DeliveryWorker(
    db,
    topics,
    settings,
    { mail: (relay, mail) => mailer.send(relay, mail), post: postNotification },
    endpointUrl(config),
    masterKey.derive('sns unsubscribe links'),
    events,
    log.child({ component: 'deliveries' }),
  );
  topics.whenQueued(() => deliveries.wake());
  // an instance tagged oarcloud:notify has its resizes published to that topic
  const instanceNotifier = new InstanceNotifier(tags, topics, log.child({ component: 'instance-notifier' }));
  events.onRecord((event) => instanceNotifier.heard(event));
  const alarms = new MetricAlarms(db, metrics, config.regions[0]);
  const admin = new Administration({ db, oar, quotas, accounts, events, oarServerPort: config.oarServerPort, slotsPerCore: config.slotsPerCore, kick });
  const notifier = new AdminNotifier(db, { topics, settings, admin }, log.child({ component: 'admin-notifier' }));
  const collector = new MetricCollector(db, metrics, (address) => nodes.get(address), log.child({ component: 'metrics' }));
  const schedules = new Schedules(db, config.regions[0]);
  // a schedule's target takes the path of the API as the schedule's owner (actions/scheduler/targets.ts)
  const scheduleRunner = new ScheduleRunner(
    schedules,
    (s) => invokeTarget(services, s.accountId, s.target, `${s.groupName}/${s.name}`),
    events,
    log.child({ component: 'scheduler' }),
  );
  const services: Services = {
    config,
    log,
    accounts,
    credentials,
    instances,
    images,
    keyPairs,
    tags,
    network,
    vpcs,
    securityGroups,
    elasticIps,
    metadata: new InstanceMetadata(db, network, masterKey.derive('instance metadata tokens'), config.regions[0]),
    quotas,
    addresses,
    capturer,
    admin,
    adminSessions: new AdminSessions(db, credentials),
    nodeHealth: new NodeHealth(
      db,
      oar.nodes,
      (address) => !isThisMachine(address),
      probeNode,
      events,
      log.child({ component: 'nodes' }),
      (addresses) => nodes.retain(addresses),
    ),
    loadBalancers,
    probeTarget: (lbId, tgId, key) => proxies.probe(lbId, tgId, key),
    metrics,
    alarms,
    collector,
    topics,
    deliveries,
    settings,
    notifier,
    schedules,
    scheduleRunner,
    events,
  };
  // an alarm's actions take the paths of the API: Publish, and StopInstances, TerminateInstances, RebootInstances
  // as the alarm's account
  const ec2Actions = { stop: stopInstances, terminate: terminateInstances, reboot: rebootInstances };
  alarms.setTargets({
    publish: async (accountId, topicArn, subject, message) => {
      await topics.publish(accountId, topicArn, message, subject);
    },
    instance: async (accountId, action, instanceId) => {
      const caller = { accountId, accountName: '', userName: 'cloudwatch-alarm', role: 'user' as const, accessKeyId: '' };
      await ec2Actions[action].handle({ InstanceIds: [instanceId] }, { caller, requestId: 'alarm-action', services, log: log.child({ component: 'alarms' }) });
    },
    resize: (accountId, instanceId, instanceType, by) => instances.resizeByRule(accountId, instanceId, instanceType, config.resizeCooldownSeconds, by),
  });
  const metadataSources: MetadataSources = {
    shared: (address) => address.startsWith(`${config.subnetPrefix}.`),
    // a local router's uplink (100.64.0.0/10), or a compute node whose routers' relays come masqueraded as it
    relay: (address) => /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./.test(address) || nodes.remotes().some((n) => n.address === address),
  };
  return { services, loops: { reconciler, sweeper, rules, proxies, oar, mailer }, metadataSources };
}

/** What runs in the background of a server: the reconciler, the sweeper, the network rule sync, OAR's connection. */
export interface Loops {
  reconciler: Reconciler;
  sweeper: Sweeper;
  rules: NetworkSync;
  proxies: LoadBalancerSync;
  oar: Oar;
  mailer: Mailer;
}

export async function startServer(config = loadConfig()): Promise<{ server: Server; runtime: Runtime }> {
  const log = createLogger(config.logLevel, config.logFile);
  const db = connect(config.databaseUrl);
  await migrate(db);
  const { services, loops, metadataSources } = buildServices(config, log, db);
  await services.credentials.start();
  const leadership = leadLoops(config, services, loops);
  const apis = [
    { model: ec2Model, actions: actionRegistry() },
    { model: elbv2Model, actions: elbActionRegistry() },
    { model: cloudwatchModel, actions: cloudwatchActionRegistry() },
    { model: snsModel, actions: snsActionRegistry() },
    { model: schedulerModel, actions: schedulerActionRegistry() },
  ];
  const app = createApp(services, apis, () => ({ leader: leadership.isLeader }));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.on('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  // the metadata service: one per machine (a second server here leaves it to the first)
  const metadataServer = createMetadataApp(services, metadataSources).listen(config.metadataPort, '0.0.0.0');
  metadataServer.on('error', (err) => log.warn({ err: String(err), port: config.metadataPort }, 'instance metadata service not served by this process'));
  await leadership.start();
  mkdirSync(path.dirname(config.pidFile), { recursive: true });
  writeFileSync(config.pidFile, `${process.pid}\n`);
  log.info({ host: config.host, port: config.port, pid: process.pid, leader: leadership.isLeader }, 'listening');
  const runtime: Runtime = {
    services,
    loops,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      metadataServer.close();
      metadataServer.closeAllConnections();
      await leadership.stop();
      await services.credentials.stop();
      await loops.oar.close();
      loops.mailer.close();
      await db.destroy();
      // only our own: a server started after this one was asked to stop has written its pid there by now
      if (existsSync(config.pidFile) && readFileSync(config.pidFile, 'utf8').trim() === String(process.pid)) rmSync(config.pidFile, { force: true });
    },
  };
  return { server, runtime };
}

/**
 * The loops run by whichever server leads: the reconciler, the sweeper, the network rule sync, image capture (and
 * pending captures another server accepted), layer collection, and monitoring (metric sampling and rollup, alarm
 * evaluation, SNS deliveries, admin notifications) and EventBridge Scheduler's runs.
 */
function leadLoops(config: Config, services: Services, loops: Loops): Leadership {
  const log = services.log;
  let images: NodeJS.Timeout | undefined;
  let collector: NodeJS.Timeout | undefined;
  let monitoring: NodeJS.Timeout | undefined;
  let monitoringPass: Promise<void> | undefined;
  const warn = (what: string) => (err: unknown) => log.warn({ err: String(err) }, what);
  return new Leadership(
    new AdvisoryLock(config.databaseUrl, 'oarcloud.leader'),
    () => {
      loops.rules.start();
      loops.proxies.start();
      loops.reconciler.start();
      loops.sweeper.start();
      services.nodeHealth.start();
      services.capturer.setActive(true);
      void services.capturer.resumePending().catch(warn('image capture not resumed'));
      images = setInterval(() => void services.capturer.resumePending().catch(warn('image capture not resumed')), 1000);
      // layers of deregistered images go once no live instance uses them any more
      collector = setInterval(() => void services.capturer.collectLayers().catch(warn('layer collection failed')), 10_000);
      // CloudWatch: samples every 10 s, the rollup and alarm evaluation every 5 s, deliveries every second
      services.collector.start();
      services.deliveries.start();
      services.notifier.start();
      services.scheduleRunner.start();
      monitoring = setInterval(() => {
        monitoringPass ??= (async () => {
          await services.metrics.rollup();
          await services.alarms.evaluateAll();
        })()
          .catch(warn('alarm evaluation failed'))
          .finally(() => (monitoringPass = undefined));
      }, 5000);
    },
    async () => {
      clearInterval(images);
      clearInterval(collector);
      clearInterval(monitoring);
      await monitoringPass;
      await services.alarms.idle();
      await services.collector.stop();
      await services.deliveries.stop();
      await services.notifier.stop();
      await services.scheduleRunner.stop();
      services.capturer.setActive(false);
      loops.sweeper.stop();
      services.nodeHealth.stop();
      await loops.reconciler.stop();
      await loops.proxies.stop();
      await loops.rules.stop();
      await services.capturer.idle();
    },
    log.child({ component: 'leadership' }),
  );
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
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
