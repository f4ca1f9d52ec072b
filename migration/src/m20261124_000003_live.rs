use sea_orm_migration::prelude::*;

use crate::ddl;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000003_live"
    }
}

const UP: &[&str] = &[
    "CREATE TABLE workroom_viewers (
        id TEXT PRIMARY KEY,
        workroom_id TEXT NOT NULL REFERENCES workrooms (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at {ts} NOT NULL
    )",
    "CREATE INDEX workroom_viewers_room ON workroom_viewers (workroom_id, expires_at)",
];

const DOWN: &[&str] = &["DROP TABLE workroom_viewers"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, DOWN).await
    }
}
