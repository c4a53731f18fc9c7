-- StopInstances / TerminateInstances SkipOsShutdown: the next stop of the container skips the graceful shutdown.
alter table instances add column if not exists skip_os_shutdown boolean not null default false;
