use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    "CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at {ts} NOT NULL
    )",
    "CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        family_id TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at {ts} NOT NULL,
        expires_at {ts} NOT NULL,
        replaced_at {ts},
        revoked_at {ts}
    )",
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
    "CREATE TABLE workspaces (
        id TEXT PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        description TEXT,
        website TEXT,
        visibility TEXT NOT NULL,
        plan TEXT NOT NULL,
        personal BOOLEAN NOT NULL DEFAULT FALSE,
        credit_balance BIGINT NOT NULL DEFAULT 0,
        created_at {ts} NOT NULL,
        deleted_at {ts},
        purge_after {ts}
    )",
    "CREATE TABLE members (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        status TEXT NOT NULL,
        joined_at {ts} NOT NULL,
        UNIQUE (workspace_id, user_id)
    )",
    // Exactly one owner per workspace, held by the database itself.
    "CREATE UNIQUE INDEX members_one_owner ON members (workspace_id) WHERE role = 'OWNER'",
    "CREATE INDEX members_user ON members (user_id)",
    "CREATE TABLE workrooms (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL
    )",
    "CREATE INDEX workrooms_workspace ON workrooms (workspace_id)",
    "CREATE TABLE activity_events (
        seq {seq},
        id TEXT NOT NULL UNIQUE,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        actor_id TEXT REFERENCES users (id) ON DELETE SET NULL,
        action TEXT NOT NULL,
        area TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT,
        workroom_id TEXT,
        changes {json},
        created_at {ts} NOT NULL
    )",
    "CREATE INDEX activity_workspace_seq ON activity_events (workspace_id, seq)",
    "CREATE INDEX activity_workroom_seq ON activity_events (workroom_id, seq)",
];

const DOWN: &[&str] = &[
    "DROP TABLE activity_events",
    "DROP TABLE workrooms",
    "DROP TABLE members",
    "DROP TABLE workspaces",
    "DROP TABLE refresh_tokens",
    "DROP TABLE users",
];

ddl::migration!("m20261124_000001_foundation");
