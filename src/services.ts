/**
 * Everything an action (and the admin API) may use, built once per process: configuration, the log, and the domain
 * services, which hold all state and all SQL. No database handle and no OAR or libvirt adapter is handed out here.
 */
import type { Config } from './config';
import type { Logger } from './log';
import type { Accounts } from './domain/accounts';
import type { InstanceStore } from './domain/instances';
import type { Images } from './domain/images';
import type { KeyPairs } from './domain/key-pairs';
import type { NetworkView } from './domain/network';
import type { Quotas } from './domain/quotas';
import type { AddressPool } from './domain/addresses';
import type { Tags } from './domain/tags';
import type { ImageCapturer } from './domain/image-capture';
import type { CredentialCache } from './domain/credential-cache';
import type { Administration } from './domain/administration';
import type { AdminSessions } from './domain/admin-sessions';
import type { NodeHealth } from './domain/node-health';
import type { Vpcs } from './domain/vpcs';
import type { SecurityGroups } from './domain/security-groups';
import type { ElasticIps } from './domain/elastic-ips';
import type { InstanceMetadata } from './domain/instance-metadata';
import type { LoadBalancers, TargetProbe } from './domain/load-balancers';
import type { Metrics } from './domain/metrics';
import type { MetricAlarms } from './domain/metric-alarms';
import type { Topics } from './domain/topics';
import type { DeliveryWorker } from './domain/deliveries';
import type { Settings } from './domain/settings';
import type { MetricCollector } from './domain/metric-collector';
import type { AdminNotifier } from './domain/admin-notifier';
import type { Schedules } from './domain/schedules';
import type { ScheduleRunner } from './domain/schedule-runner';
import type { EventLog } from './domain/events';

export interface Services {
  config: Config;
  log: Logger;
  accounts: Accounts;
  credentials: CredentialCache;
  instances: InstanceStore;
  images: Images;
  keyPairs: KeyPairs;
  tags: Tags;
  network: NetworkView;
  vpcs: Vpcs;
  securityGroups: SecurityGroups;
  elasticIps: ElasticIps;
  /** The instance metadata service's data and tokens. */
  metadata: InstanceMetadata;
  quotas: Quotas;
  addresses: AddressPool;
  capturer: ImageCapturer;
  /** Cluster-wide views and changes, for admins. */
  admin: Administration;
  adminSessions: AdminSessions;
  /** Which compute nodes answer (DescribeInstanceStatus reports their instances impaired when one does not). */
  nodeHealth: NodeHealth;
  /** Elastic Load Balancing's state, and what the proxies' checks say of each target. */
  loadBalancers: LoadBalancers;
  probeTarget: (lbId: string, targetGroupId: string, key: string) => TargetProbe | undefined;
  /** CloudWatch: metrics (the collector's and PutMetricData's) and metric alarms. */
  metrics: Metrics;
  alarms: MetricAlarms;
  collector: MetricCollector;
  /** SNS: topics and subscriptions; the deliveries' signing key, certificate and links. */
  topics: Topics;
  deliveries: DeliveryWorker;
  settings: Settings;
  /** The admin topic: the cloud's own alarms to admins' e-mail and webhooks. */
  notifier: AdminNotifier;
  /** EventBridge Scheduler: schedules, their groups and runs; the leader's runner fires them. */
  schedules: Schedules;
  scheduleRunner: ScheduleRunner;
  /** The event log: each owner reads their account's own (the account API). */
  events: EventLog;
}
