use sea_orm_migration::prelude::*;

use crate::ddl;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000002_rate_counts"
    }
}

/// Requests per rate-limit bucket and minute, summed over the servers.
const UP: &[&str] = &["CREATE TABLE rate_counts (
        bucket TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        requests BIGINT NOT NULL,
        PRIMARY KEY (bucket, window_start)
    )"];

const DOWN: &[&str] = &["DROP TABLE rate_counts"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, DOWN).await
    }
}
