use sea_orm_migration::prelude::*;

use crate::ddl;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_invitation_mail_budget"
    }
}

/// Counting a workspace's recent invitation e-mails reads only those events.
const UP: &[&str] = &[
    "CREATE INDEX activity_workspace_action_time ON activity_events (workspace_id, action, created_at)",
];

const DOWN: &[&str] = &["DROP INDEX activity_workspace_action_time"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, DOWN).await
    }
}
