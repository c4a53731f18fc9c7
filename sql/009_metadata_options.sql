-- The instance metadata service's options per instance (RunInstances MetadataOptions, ModifyInstanceMetadataOptions).
alter table instances add column if not exists metadata_endpoint text not null default 'enabled'
  check (metadata_endpoint in ('enabled', 'disabled'));
alter table instances add column if not exists metadata_tokens text not null default 'optional'
  check (metadata_tokens in ('optional', 'required'));
alter table instances add column if not exists metadata_hop_limit int not null default 1
  check (metadata_hop_limit between 1 and 64);
alter table instances add column if not exists metadata_tags text not null default 'disabled'
  check (metadata_tags in ('enabled', 'disabled'));
