-- Elastic Load Balancing (v2): load balancers (each a HAProxy on this machine, with an address in its VPC's first
-- subnet and, when internet-facing, a pool address), target groups and their targets, listeners and their rules.
-- Ids are the last part of each ARN; the ARNs themselves are made from them (domain/load-balancers.ts).
create table if not exists load_balancers (
  id                  text primary key,
  account_id          char(12) not null references accounts(id) on delete cascade,
  name                text not null,
  type                text not null check (type in ('application', 'network')),
  scheme              text not null check (scheme in ('internal', 'internet-facing')),
  vpc_id              text not null references vpcs(id),
  subnet_ids          text[] not null,
  security_group_ids  text[] not null default '{}',
  state               text not null default 'provisioning' check (state in ('provisioning', 'active', 'failed')),
  state_reason        text,
  private_ip          inet,
  mac                 text not null,
  attributes          jsonb not null default '{}',
  created_at          timestamptz not null default now(),
  unique (account_id, name)
);

create table if not exists target_groups (
  id            text primary key,
  account_id    char(12) not null references accounts(id) on delete cascade,
  name          text not null,
  protocol      text not null,
  port          int not null check (port between 1 and 65535),
  vpc_id        text not null references vpcs(id),
  target_type   text not null default 'instance' check (target_type in ('instance', 'ip')),
  health_check  jsonb not null,
  attributes    jsonb not null default '{}',
  created_at    timestamptz not null default now(),
  unique (account_id, name)
);

create table if not exists lb_targets (
  target_group_id  text not null references target_groups(id) on delete cascade,
  target_id        text not null,
  port             int not null check (port between 1 and 65535),
  registered_at    timestamptz not null default now(),
  -- deregistered: served no new connections, and gone at this time (the group's deregistration delay)
  draining_until   timestamptz,
  primary key (target_group_id, target_id, port)
);

create table if not exists listeners (
  id                text primary key,
  account_id        char(12) not null references accounts(id) on delete cascade,
  load_balancer_id  text not null references load_balancers(id) on delete cascade,
  protocol          text not null,
  port              int not null check (port between 1 and 65535),
  default_actions   jsonb not null,
  attributes        jsonb not null default '{}',
  created_at        timestamptz not null default now(),
  unique (load_balancer_id, port)
);

create table if not exists listener_rules (
  id           text primary key,
  account_id   char(12) not null references accounts(id) on delete cascade,
  listener_id  text not null references listeners(id) on delete cascade,
  priority     int not null check (priority between 1 and 50000),
  conditions   jsonb not null,
  actions      jsonb not null,
  created_at   timestamptz not null default now(),
  unique (listener_id, priority)
);

-- a load balancer's address in its subnet, and its pool address when internet-facing
alter table ip_leases alter column instance_id drop not null;
alter table ip_leases add column if not exists load_balancer_id text unique references load_balancers(id) on delete cascade;
alter table elastic_ips add column if not exists load_balancer_id text unique references load_balancers(id) on delete cascade;
alter table ip_leases add constraint ip_leases_one_owner check (num_nonnulls(instance_id, load_balancer_id) = 1);

-- ELBv2 tags (AddTags/RemoveTags/DescribeTags by ARN), apart from EC2's: EC2's DescribeTags never lists them
create table if not exists elb_tags (
  resource_id  text not null,
  account_id   char(12) not null references accounts(id) on delete cascade,
  key          text not null,
  value        text not null default '',
  primary key (resource_id, key)
);
