-- Accounts, users and their access keys. Secrets are encrypted at rest with a master key kept outside the database.
create table accounts (
  id          char(12) primary key check (id ~ '^[0-9]{12}$'),
  name        text not null unique,
  is_system   boolean not null default false,
  created_at  timestamptz not null default now()
);
create table users (
  id          bigserial primary key,
  account_id  char(12) not null references accounts(id) on delete cascade,
  name        text not null,
  role        text not null check (role in ('admin', 'user')),
  created_at  timestamptz not null default now(),
  unique (account_id, name)
);
create table access_keys (
  access_key_id      text primary key,
  user_id            bigint not null references users(id) on delete cascade,
  secret_ciphertext  bytea not null,
  status             text not null default 'Active' check (status in ('Active', 'Revoked')),
  created_at         timestamptz not null default now(),
  revoked_at         timestamptz
);

-- Images: an ordered list of read-only layers (layers[1] is the top, the last one the base root filesystem).
create table images (
  id                  text primary key,
  account_id          char(12) not null references accounts(id) on delete cascade,
  name                text not null,
  description         text,
  state               text not null check (state in ('pending', 'available', 'failed', 'deregistered')),
  state_reason        text,
  architecture        text not null default 'x86_64',
  root_device_name    text not null default '/dev/xvda',
  is_public           boolean not null default false,
  source_instance_id  text,
  layers              text[] not null,
  size_bytes          bigint,
  created_at          timestamptz not null default now(),
  deregistered_at     timestamptz
);
create unique index images_name_per_account on images (account_id, name) where state <> 'deregistered';

create table key_pairs (
  id           text primary key,
  account_id   char(12) not null references accounts(id) on delete cascade,
  name         text not null,
  key_type     text not null default 'rsa',
  fingerprint  text not null,
  public_key   text not null,
  created_at   timestamptz not null default now(),
  unique (account_id, name)
);

create table reservations (
  id            text primary key,
  account_id    char(12) not null references accounts(id) on delete cascade,
  client_token  text,
  request_hash  text not null,
  created_at    timestamptz not null default now()
);
create unique index reservations_client_token on reservations (account_id, client_token) where client_token is not null;

-- One row per instance. `state` is what clients see; `desired_state` is what the last API call asked for;
-- the reconciler moves `state` towards it by acting on OAR and libvirt.
create table instances (
  id                       text primary key,
  account_id               char(12) not null references accounts(id) on delete cascade,
  reservation_id           text not null references reservations(id),
  ami_launch_index         integer not null,
  image_id                 text not null,
  layers                   text[] not null,
  instance_type            text not null,
  vcpus                    integer not null,
  memory_mib               integer not null,
  oar_cores                integer not null,
  key_name                 text,
  public_key               text,
  user_data                bytea,
  state                    text not null check (state in ('pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped')),
  desired_state            text not null check (desired_state in ('running', 'stopped', 'terminated')),
  state_reason_code        text,
  state_reason_message     text,
  transition_reason        text not null default '',
  private_ip               inet,
  mac                      text,
  availability_zone        text not null,
  launch_time              timestamptz not null default now(),
  disable_api_termination  boolean not null default false,
  disable_api_stop         boolean not null default false,
  shutdown_behavior        text not null default 'stop' check (shutdown_behavior in ('stop', 'terminate')),
  oar_job_id               integer,
  oar_node                 text,
  reboot_requested         boolean not null default false,
  client_token             text,
  created_at               timestamptz not null default now(),
  updated_at               timestamptz not null default now(),
  terminated_at            timestamptz
);
create index instances_account on instances (account_id, id);
create index instances_active on instances (state) where state <> 'terminated';

-- Private addresses handed out by our own address management (static, known before the container starts).
create table ip_leases (
  ip           inet primary key,
  instance_id  text not null unique references instances(id) on delete cascade,
  leased_at    timestamptz not null default now()
);

create table tags (
  resource_id    text not null,
  account_id     char(12) not null references accounts(id) on delete cascade,
  resource_type  text not null,
  key            text not null,
  value          text not null default '',
  primary key (resource_id, key)
);
create index tags_account on tags (account_id, key);

-- What happened, for admins: state changes, OAR and libvirt events, errors.
create table events (
  id           bigserial primary key,
  at           timestamptz not null default now(),
  account_id   char(12),
  resource_id  text,
  kind         text not null,
  message      text not null
);
