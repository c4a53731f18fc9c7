-- Launch permissions: accounts an image is shared with (is_public covers the group "all").
create table image_launch_permissions (
  image_id    text not null references images(id) on delete cascade,
  account_id  char(12) not null,
  primary key (image_id, account_id)
);
create index image_launch_permissions_account on image_launch_permissions (account_id);
