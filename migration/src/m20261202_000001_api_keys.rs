use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // A workspace key has `workspace_id`; a personal key has `owner_id`.
    "CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        lookup TEXT NOT NULL UNIQUE,
        workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
        owner_id TEXT REFERENCES users (id) ON DELETE CASCADE,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        name TEXT NOT NULL,
        environment TEXT NOT NULL,
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        previous_hash TEXT,
        grace_ends_at {ts},
        scopes {json} NOT NULL,
        created_at {ts} NOT NULL,
        expires_at {ts},
        last_used_at {ts},
        revoked_at {ts},
        CHECK ((workspace_id IS NULL) <> (owner_id IS NULL))
    )",
    "CREATE INDEX api_keys_workspace ON api_keys (workspace_id)",
    "CREATE INDEX api_keys_owner ON api_keys (owner_id)",
    // Requests per key and UTC day, added to in batches.
    "CREATE TABLE api_key_usage (
        api_key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        day TEXT NOT NULL,
        requests BIGINT NOT NULL,
        PRIMARY KEY (api_key_id, day)
    )",
    // Who acted: USER, API_KEY, AGENT or SYSTEM, and the key when one did.
    "ALTER TABLE activity_events ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'USER'",
    "ALTER TABLE activity_events ADD COLUMN api_key_id TEXT",
];

const DOWN: &[&str] = &[
    "ALTER TABLE activity_events DROP COLUMN api_key_id",
    "ALTER TABLE activity_events DROP COLUMN actor_kind",
    "DROP TABLE api_key_usage",
    "DROP TABLE api_keys",
];

ddl::migration!("m20261202_000001_api_keys");
