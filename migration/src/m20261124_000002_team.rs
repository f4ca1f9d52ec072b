use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    "CREATE TABLE custom_roles (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        base_role TEXT NOT NULL,
        area_access {json} NOT NULL,
        all_workrooms BOOLEAN NOT NULL,
        workroom_access {json} NOT NULL,
        created_at {ts} NOT NULL,
        UNIQUE (workspace_id, name)
    )",
    "ALTER TABLE members ADD COLUMN custom_role_id TEXT REFERENCES custom_roles (id) ON DELETE SET NULL",
    "ALTER TABLE members ADD COLUMN area_access {json}",
    "ALTER TABLE members ADD COLUMN all_workrooms BOOLEAN",
    "ALTER TABLE members ADD COLUMN workroom_access {json}",
    "ALTER TABLE workspaces ADD COLUMN admins_manage_billing BOOLEAN NOT NULL DEFAULT TRUE",
    "ALTER TABLE workspaces ADD COLUMN hidden_navigation {json}",
    "CREATE TABLE invitations (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        email TEXT NOT NULL,
        role TEXT NOT NULL,
        custom_role_id TEXT REFERENCES custom_roles (id) ON DELETE SET NULL,
        area_access {json},
        all_workrooms BOOLEAN,
        workroom_access {json},
        token_hash TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        expires_at {ts} NOT NULL,
        created_at {ts} NOT NULL,
        invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        accepted_at {ts},
        revoked_at {ts}
    )",
    // One live invitation per address and workspace.
    "CREATE UNIQUE INDEX invitations_one_pending ON invitations (workspace_id, email)
        WHERE status = 'PENDING'",
    "CREATE TABLE mail_outbox (
        id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at {ts} NOT NULL,
        sent_at {ts},
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    )",
    "CREATE INDEX mail_outbox_unsent ON mail_outbox (sent_at, created_at)",
];

const DOWN: &[&str] = &[
    "DROP TABLE mail_outbox",
    "DROP TABLE invitations",
    "ALTER TABLE workspaces DROP COLUMN hidden_navigation",
    "ALTER TABLE workspaces DROP COLUMN admins_manage_billing",
    "ALTER TABLE members DROP COLUMN workroom_access",
    "ALTER TABLE members DROP COLUMN all_workrooms",
    "ALTER TABLE members DROP COLUMN area_access",
    "ALTER TABLE members DROP COLUMN custom_role_id",
    "DROP TABLE custom_roles",
];

ddl::migration!("m20261124_000002_team");
