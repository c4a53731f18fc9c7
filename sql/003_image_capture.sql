-- CreateImage's NoReboot, kept so that a capture resumed after a restart behaves as asked.
alter table images add column no_reboot boolean not null default false;
