use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // Days of activity kept (null: for good), and the newest seq the
    // retention job deleted, so that cursors older than what is kept are
    // told apart from cursors that never existed.
    "ALTER TABLE workspaces ADD COLUMN activity_retention_days INTEGER",
    "ALTER TABLE workspaces ADD COLUMN activity_purged_seq BIGINT NOT NULL DEFAULT 0",
    // Reads by period (retention, analytics) without touching the rows.
    "CREATE INDEX activity_events_workspace_time ON activity_events (workspace_id, created_at, actor_id)",
];

const DOWN: &[&str] = &[
    "DROP INDEX activity_events_workspace_time",
    "ALTER TABLE workspaces DROP COLUMN activity_purged_seq",
    "ALTER TABLE workspaces DROP COLUMN activity_retention_days",
];

ddl::migration!("m20261206_000003_retention");
