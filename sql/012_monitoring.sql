-- CloudWatch metrics and alarms, SNS topics, subscriptions and their deliveries, and the settings admins give them.
--
-- A metric is an account's namespace + name + exact set of dimensions. Its data lives twice:
--   metric_points: every value as it came (the collector's 10-second samples, PutMetricData's values), kept 3 hours
--                  (as long as AWS keeps sub-minute data): sub-minute periods and exact percentiles read these;
--   metric_hours:  the rollup, one row per metric and hour holding 60 per-minute statistics in arrays (about 1.3 KB
--                  a row instead of one ~100-byte row per sample), kept OARCLOUD_METRIC_RETENTION_DAYS (63). The
--                  leader folds each minute in once it is complete (metric_rollup.watermark: everything before it is
--                  folded).
create table if not exists metrics (
  id               bigserial primary key,
  account_id       char(12) not null references accounts(id) on delete cascade,
  namespace        text not null,
  name             text not null,
  -- [{"Name": .., "Value": ..}] sorted by name; dimensions_key is its canonical text, unique per metric
  dimensions       jsonb not null default '[]',
  dimensions_key   text not null,
  unit             text,
  last_at          timestamptz not null default now(),
  unique (account_id, namespace, name, dimensions_key)
);
create index if not exists metrics_by_name on metrics (account_id, namespace, name);

create table if not exists metric_points (
  metric_id  bigint not null references metrics(id) on delete cascade,
  at         timestamptz not null,
  n          double precision not null check (n > 0),
  sum        double precision not null,
  min        double precision not null,
  max        double precision not null
);
create index if not exists metric_points_by_metric on metric_points (metric_id, at);
create index if not exists metric_points_by_time on metric_points using brin (at);

create table if not exists metric_hours (
  metric_id  bigint not null references metrics(id) on delete cascade,
  hour       int not null, -- hours since the epoch; minute i (1..60) of the hour is element i
  n          real[] not null,
  sum        double precision[] not null,
  min        real[] not null,
  max        real[] not null,
  primary key (metric_id, hour)
);

create table if not exists metric_rollup (
  one        boolean primary key default true check (one),
  watermark  timestamptz not null
);
insert into metric_rollup (watermark) values (date_trunc('minute', now())) on conflict do nothing;

create table if not exists metric_alarms (
  account_id                   char(12) not null references accounts(id) on delete cascade,
  name                         text not null,
  description                  text,
  actions_enabled              boolean not null default true,
  ok_actions                   text[] not null default '{}',
  alarm_actions                text[] not null default '{}',
  insufficient_data_actions    text[] not null default '{}',
  namespace                    text not null,
  metric_name                  text not null,
  dimensions                   jsonb not null default '[]',
  statistic                    text,
  extended_statistic           text,
  period                       int not null check (period > 0),
  unit                         text,
  evaluation_periods           int not null check (evaluation_periods > 0),
  datapoints_to_alarm          int,
  threshold                    double precision not null,
  comparison_operator          text not null,
  treat_missing_data           text not null default 'missing',
  evaluate_low_sample_count_percentile text,
  state_value                  text not null default 'INSUFFICIENT_DATA' check (state_value in ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
  state_reason                 text not null default 'Unchecked: Initial alarm creation',
  state_reason_data            text,
  state_updated_at             timestamptz not null default now(),
  state_transitioned_at        timestamptz not null default now(),
  configuration_updated_at     timestamptz not null default now(),
  tags                         jsonb not null default '{}',
  primary key (account_id, name)
);

create table if not exists alarm_history (
  id           bigserial primary key,
  account_id   char(12) not null references accounts(id) on delete cascade,
  alarm_name   text not null,
  at           timestamptz not null default now(),
  item_type    text not null check (item_type in ('ConfigurationUpdate', 'StateUpdate', 'Action')),
  summary      text not null,
  data         jsonb not null default '{}'
);
create index if not exists alarm_history_by_alarm on alarm_history (account_id, alarm_name, at);

create table if not exists sns_topics (
  account_id   char(12) not null references accounts(id) on delete cascade,
  name         text not null,
  attributes   jsonb not null default '{}',
  tags         jsonb not null default '{}',
  created_at   timestamptz not null default now(),
  primary key (account_id, name)
);

create table if not exists sns_subscriptions (
  id            uuid primary key,
  account_id    char(12) not null, -- the topic's owner
  topic_name    text not null,
  owner_id      char(12) not null, -- who subscribed
  protocol      text not null,
  endpoint      text not null,
  -- the secret of the confirmation link; null once confirmed
  token         text unique,
  confirmed     boolean not null default false,
  attributes    jsonb not null default '{}',
  created_at    timestamptz not null default now(),
  foreign key (account_id, topic_name) references sns_topics(account_id, name) on delete cascade
);
create index if not exists sns_subscriptions_by_topic on sns_subscriptions (account_id, topic_name);

-- What is to be sent, and how it went: retried with back-off until delivered or given up ('failed', visible to
-- admins); one slow or failing endpoint never holds up the others.
create table if not exists sns_deliveries (
  id               bigserial primary key,
  subscription_id  uuid not null references sns_subscriptions(id) on delete cascade,
  kind             text not null check (kind in ('Notification', 'SubscriptionConfirmation')),
  message_id       uuid not null,
  message          jsonb not null,
  state            text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
  attempts         int not null default 0,
  next_attempt_at  timestamptz not null default now(),
  last_error       text,
  created_at       timestamptz not null default now(),
  delivered_at     timestamptz
);
create index if not exists sns_deliveries_due on sns_deliveries (next_attempt_at) where state = 'pending';

-- Settings admins change at run time (`oarcloud notify smtp ..`): the SMTP relay mail goes through.
create table if not exists settings (
  key    text primary key,
  value  jsonb not null
);

-- The admin alarms (domain/alarms.ts) last sent to the admin topic, so that each is sent when it appears and when it
-- clears, once, whichever server leads.
create table if not exists admin_alarm_notices (
  key         text primary key,
  level       text not null,
  message     text not null,
  raised_at   timestamptz not null default now()
);
