-- Per-account limits set by an admin (null: the server's default, OARCLOUD_MAX_INSTANCES / OARCLOUD_MAX_CORES).
create table account_quotas (
  account_id     char(12) primary key references accounts(id) on delete cascade,
  max_instances  integer check (max_instances >= 0),
  max_cores      integer check (max_cores >= 0),
  updated_at     timestamptz not null default now()
);

-- Dashboard sign-ins: only a hash of the cookie's token is kept; a session dies with its access key.
create table admin_sessions (
  token_hash     text primary key,
  access_key_id  text not null references access_keys(access_key_id) on delete cascade,
  created_at     timestamptz not null default now(),
  expires_at     timestamptz not null
);

create index events_at on events (at desc);
