-- VPC networking: VPCs, subnets, internet gateways, route tables, network ACLs, security groups and their rules,
-- elastic addresses. Each account's default VPC, subnet, group, route table and ACL are rows too (made the first
-- time the account needs them, with the ids it always had); the default VPC is the machine's shared instance
-- network (vni null), any other VPC a VXLAN segment of its own (vni).

create sequence if not exists vpc_vni start 5001 maxvalue 16000000;

create table if not exists vpcs (
  id                    text primary key,
  account_id            char(12) not null references accounts(id) on delete cascade,
  cidr                  cidr not null,
  vni                   int unique,
  is_default            boolean not null default false,
  enable_dns_support    boolean not null default true,
  enable_dns_hostnames  boolean not null default false,
  instance_tenancy      text not null default 'default',
  created_at            timestamptz not null default now()
);
create unique index if not exists vpcs_one_default on vpcs (account_id) where is_default;

create table if not exists subnets (
  id                 text primary key,
  account_id         char(12) not null references accounts(id) on delete cascade,
  vpc_id             text not null references vpcs(id) on delete cascade,
  cidr               cidr not null,
  availability_zone  text not null,
  map_public_ip      boolean not null default false,
  is_default         boolean not null default false,
  created_at         timestamptz not null default now()
);
create index if not exists subnets_vpc on subnets (vpc_id);

create table if not exists internet_gateways (
  id          text primary key,
  account_id  char(12) not null references accounts(id) on delete cascade,
  vpc_id      text unique references vpcs(id),
  created_at  timestamptz not null default now()
);

create table if not exists route_tables (
  id          text primary key,
  account_id  char(12) not null references accounts(id) on delete cascade,
  vpc_id      text not null references vpcs(id) on delete cascade,
  is_main     boolean not null default false,
  client_token text,
  created_at  timestamptz not null default now()
);
create unique index if not exists route_tables_client_token on route_tables (account_id, client_token) where client_token is not null;
create unique index if not exists route_tables_one_main on route_tables (vpc_id) where is_main;

-- routes besides each table's implicit local route to its VPC's CIDR
create table if not exists routes (
  route_table_id    text not null references route_tables(id) on delete cascade,
  destination       cidr not null,
  gateway_id        text not null,
  primary key (route_table_id, destination)
);

create table if not exists route_table_associations (
  id              text primary key,
  route_table_id  text not null references route_tables(id) on delete cascade,
  subnet_id       text unique references subnets(id) on delete cascade,
  gateway_id      text unique
);

create table if not exists network_acls (
  id          text primary key,
  account_id  char(12) not null references accounts(id) on delete cascade,
  vpc_id      text not null references vpcs(id) on delete cascade,
  is_default  boolean not null default false,
  created_at  timestamptz not null default now()
);

create table if not exists network_acl_entries (
  network_acl_id  text not null references network_acls(id) on delete cascade,
  egress          boolean not null,
  rule_number     int not null,
  protocol        text not null,
  rule_action     text not null check (rule_action in ('allow', 'deny')),
  cidr            cidr not null,
  from_port       int,
  to_port         int,
  icmp_type       int,
  icmp_code       int,
  primary key (network_acl_id, egress, rule_number)
);

-- every subnet is associated with exactly one ACL (its VPC's default one unless replaced)
create table if not exists network_acl_associations (
  id              text primary key,
  network_acl_id  text not null references network_acls(id) on delete cascade,
  subnet_id       text not null unique references subnets(id) on delete cascade
);

create table if not exists security_groups (
  id           text primary key,
  account_id   char(12) not null references accounts(id) on delete cascade,
  vpc_id       text not null references vpcs(id) on delete cascade,
  name         text not null,
  description  text not null,
  is_default   boolean not null default false,
  created_at   timestamptz not null default now(),
  unique (vpc_id, name)
);

create table if not exists security_group_rules (
  id               text primary key,
  group_id         text not null references security_groups(id) on delete cascade,
  account_id       char(12) not null,
  egress           boolean not null,
  protocol         text not null,
  from_port        int,
  to_port          int,
  cidr             cidr,
  source_group_id  text references security_groups(id) on delete cascade,
  description      text,
  created_at       timestamptz not null default now(),
  check ((cidr is null) <> (source_group_id is null))
);
create index if not exists security_group_rules_group on security_group_rules (group_id);

-- which subnet an instance's primary interface is in (null: its account's default subnet) and its groups
alter table instances add column if not exists subnet_id text references subnets(id);
create table if not exists instance_security_groups (
  instance_id  text not null references instances(id) on delete cascade,
  group_id     text not null references security_groups(id) on delete cascade,
  primary key (instance_id, group_id)
);

-- addresses are unique per network: the shared instance network ('default') or one VPC (its id)
alter table ip_leases add column if not exists network text not null default 'default';
alter table ip_leases drop constraint if exists ip_leases_pkey;
alter table ip_leases add primary key (network, ip);

create table if not exists elastic_ips (
  id              text primary key,
  account_id      char(12) not null references accounts(id) on delete cascade,
  public_ip       inet not null unique,
  instance_id     text references instances(id) on delete set null,
  association_id  text unique,
  created_at      timestamptz not null default now()
);
