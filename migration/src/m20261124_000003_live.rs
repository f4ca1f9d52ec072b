use sea_orm_migration::prelude::*;

use crate::ddl;

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

ddl::migration!("m20261124_000003_live");
