use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // Keys of the workspace's images in the file store.
    "ALTER TABLE workspaces ADD COLUMN logo_file TEXT",
    "ALTER TABLE workspaces ADD COLUMN avatar_file TEXT",
    "ALTER TABLE workspaces ADD COLUMN banner_file TEXT",
];

const DOWN: &[&str] = &[
    "ALTER TABLE workspaces DROP COLUMN banner_file",
    "ALTER TABLE workspaces DROP COLUMN avatar_file",
    "ALTER TABLE workspaces DROP COLUMN logo_file",
];

ddl::migration!("m20261206_000005_images");
