use sea_orm_migration::prelude::*;

use crate::ddl;

/// A workspace's members in joining order (ids are time-ordered), so that a
/// page of them is read from the index without sorting.
const UP: &[&str] = &["CREATE INDEX members_workspace_order ON members (workspace_id, id)"];

const DOWN: &[&str] = &["DROP INDEX members_workspace_order"];

ddl::migration!("m20261203_000001_member_order");
