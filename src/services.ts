/** Everything an action may use, built once per process. */
import type { Config } from './config';
import type { Logger } from './log';
import type { Db } from './adapters/db';
import type { Accounts } from './domain/accounts';
import type { InstanceStore } from './domain/instances';
import type { Images } from './domain/images';
import type { KeyPairs } from './domain/key-pairs';
import type { NetworkView } from './domain/network';
import type { Quotas } from './domain/quotas';
import type { AddressPool } from './domain/addresses';
import type { Oar } from './adapters/oar';
import type { ImageCapturer } from './domain/image-capture';
import type { CredentialCache } from './domain/credential-cache';
import type { Administration } from './domain/administration';

export interface Services {
  config: Config;
  log: Logger;
  db: Db;
  accounts: Accounts;
  credentials: CredentialCache;
  instances: InstanceStore;
  images: Images;
  keyPairs: KeyPairs;
  network: NetworkView;
  quotas: Quotas;
  addresses: AddressPool;
  oar: Oar;
  capturer: ImageCapturer;
  /** Cluster-wide views and changes, for admins. */
  admin: Administration;
  /** Asks the reconciler to look at an instance now. */
  kick(instanceId: string): void;
}
