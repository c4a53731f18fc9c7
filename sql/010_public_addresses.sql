-- Automatic public addresses (RunInstances NetworkInterfaces.1.AssociatePublicIpAddress, a subnet's
-- MapPublicIpOnLaunch): the instance asks for one while it runs; the address is a row of elastic_ips marked
-- auto_assigned, hidden from DescribeAddresses, taken from the same pool and given back when the instance stops.
alter table instances add column if not exists public_address boolean not null default false;
alter table elastic_ips add column if not exists auto_assigned boolean not null default false;
