use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // A workspace's own model provider key, sealed under SECRETS_KEY; only
    // its last four characters are kept in the clear.
    "CREATE TABLE provider_keys (
        workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
        provider TEXT NOT NULL,
        sealed TEXT NOT NULL,
        last4 TEXT NOT NULL,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL
    )",
];

const DOWN: &[&str] = &["DROP TABLE provider_keys"];

ddl::migration!("m20261204_000002_provider_keys");
