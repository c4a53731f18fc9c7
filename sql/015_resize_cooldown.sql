-- When the instance was last resized in place: alarm actions wait OARCLOUD_RESIZE_COOLDOWN after it (no flapping).
alter table instances add column if not exists resized_at timestamptz;
