-- Who asked for a live resize ("user alice", "alarm tf-grow", "schedule default/nightly"): its event says so.
alter table instances add column if not exists resize_by text;
