-- The compute node (OAR network address) that holds the instance's disk (its overlay upper layer): where it last
-- ran. A stopped instance started on another node has its disk moved there first. NULL: never started.
alter table instances add column if not exists disk_node text;
