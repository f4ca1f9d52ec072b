use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::ddl;

const UP: &[&str] = &[
    // Events per workspace, UTC day (`YYYY-MM-DD`) and acting person ('' for
    // none), kept in the transaction of each event: what analytics read.
    "CREATE TABLE activity_daily (
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        day TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        events BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, day, actor_id)
    )",
];

const FILL_SQLITE: &str = "INSERT INTO activity_daily (workspace_id, day, actor_id, events)
    SELECT workspace_id, substr(created_at, 1, 10), COALESCE(actor_id, ''), COUNT(*)
    FROM activity_events GROUP BY 1, 2, 3";
const FILL_POSTGRES: &str = "INSERT INTO activity_daily (workspace_id, day, actor_id, events)
    SELECT workspace_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), COALESCE(actor_id, ''), COUNT(*)
    FROM activity_events GROUP BY 1, 2, 3";

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000006_activity_daily"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await?;
        let fill = match manager.get_database_backend() {
            DbBackend::Postgres => FILL_POSTGRES,
            _ => FILL_SQLITE,
        };
        ddl::run(manager, &[fill]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, &["DROP TABLE activity_daily"]).await
    }
}
