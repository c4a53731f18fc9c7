-- What the leading server last saw of each compute node other than its own machine: whether its node agent answers,
-- and since when. DescribeInstanceStatus reports the instances of a node that does not answer as impaired.
create table if not exists node_health (
  address     text primary key,
  reachable   boolean not null,
  since       timestamptz not null default now(),
  message     text not null default ''
);
