use sea_orm_migration::prelude::*;

use crate::ddl;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000001_member_order"
    }
}

/// A workspace's members in joining order (ids are time-ordered), so that a
/// page of them is read from the index without sorting.
const UP: &[&str] = &["CREATE INDEX members_workspace_order ON members (workspace_id, id)"];

const DOWN: &[&str] = &["DROP INDEX members_workspace_order"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, DOWN).await
    }
}
