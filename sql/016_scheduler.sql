-- EventBridge Scheduler: schedule groups, schedules, and the record of every run.
--
-- Each account has the group "default" (made on first use, as AWS shows it); deleting a group deletes its schedules.
-- next_run_at is when the leader's runner fires the schedule next: null when it never will again (disabled, an at()
-- already run, past its end date). A run fires its target once, however late (a server down for five periods runs
-- the schedule once when it is back, and records how late), then next_run_at moves past now.
create table if not exists schedule_groups (
  account_id    char(12) not null references accounts(id) on delete cascade,
  name          text not null,
  tags          jsonb not null default '{}',
  -- the ClientToken it was created with: the same creation retried answers as the first did
  client_token  text,
  created_at    timestamptz not null default now(),
  modified_at   timestamptz not null default now(),
  primary key (account_id, name)
);

create table if not exists schedules (
  id                          bigserial primary key,
  account_id                  char(12) not null,
  group_name                  text not null,
  name                        text not null,
  description                 text,
  expression                  text not null,
  timezone                    text not null default 'UTC',
  start_date                  timestamptz,
  end_date                    timestamptz,
  state                       text not null check (state in ('ENABLED', 'DISABLED')),
  flexible_mode               text not null check (flexible_mode in ('OFF', 'FLEXIBLE')),
  flexible_window_minutes     int,
  action_after_completion     text not null default 'NONE' check (action_after_completion in ('NONE', 'DELETE')),
  client_token                text,
  -- the Target structure as the client sent it (Arn, RoleArn, Input, RetryPolicy, ...)
  target                      jsonb not null,
  created_at                  timestamptz not null default now(),
  modified_at                 timestamptz not null default now(),
  next_run_at                 timestamptz,
  last_run_at                 timestamptz,
  last_outcome                text,
  unique (account_id, group_name, name),
  foreign key (account_id, group_name) references schedule_groups (account_id, name) on delete cascade
);
create index if not exists schedules_due on schedules (next_run_at) where next_run_at is not null;

create table if not exists schedule_runs (
  id              bigserial primary key,
  schedule_id     bigint references schedules(id) on delete set null,
  account_id      char(12) not null references accounts(id) on delete cascade,
  group_name      text not null,
  schedule_name   text not null,
  target_arn      text not null,
  due_at          timestamptz not null,
  started_at      timestamptz not null,
  finished_at     timestamptz,
  late_ms         int not null,
  outcome         text check (outcome in ('succeeded', 'failed')),
  error           text
);
create index if not exists schedule_runs_by_schedule on schedule_runs (account_id, group_name, schedule_name, id desc);
