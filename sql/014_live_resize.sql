-- Live resize (ModifyInstanceAttribute InstanceType on a running instance): the type asked for, until the reconciler
-- has moved the container onto a new OAR job of that size (or failed, saying why in resize_error).
alter table instances add column if not exists resize_type text;
alter table instances add column if not exists resize_error text;
