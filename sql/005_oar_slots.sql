-- Instances hold OAR slots (OARCLOUD_SLOTS_PER_CORE resources per core) rather than whole cores: how many of each
-- of their cores. NULL: whole cores (dedicated types, and instances launched before slots existed).
alter table instances add column if not exists oar_slots integer check (oar_slots is null or oar_slots > 0);
-- The memory per slot the instance was sized with; its job goes only where slots carry at least this much.
alter table instances add column if not exists oar_min_memory_mib integer;
