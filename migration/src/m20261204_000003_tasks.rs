use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // Work items of a workroom, with ordered steps.
    "CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        workroom_id TEXT NOT NULL REFERENCES workrooms (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        description TEXT,
        status TEXT NOT NULL,
        assignee_id TEXT REFERENCES members (id) ON DELETE SET NULL,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        started_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        updated_at {ts} NOT NULL
    )",
    "CREATE INDEX tasks_workroom ON tasks (workroom_id, created_at)",
    "CREATE TABLE approval_requests (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        workroom_id TEXT NOT NULL REFERENCES workrooms (id) ON DELETE CASCADE,
        task_id TEXT REFERENCES tasks (id) ON DELETE CASCADE,
        run_id TEXT REFERENCES agent_runs (id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        required_approvals INTEGER NOT NULL,
        eligible_role TEXT NOT NULL,
        requested_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        expires_at {ts} NOT NULL,
        decided_at {ts}
    )",
    "CREATE INDEX approval_requests_run ON approval_requests (run_id, created_at)",
    "CREATE INDEX approval_requests_task ON approval_requests (task_id, created_at)",
    "CREATE INDEX approval_requests_pending ON approval_requests (state, expires_at)",
    "CREATE TABLE task_steps (
        id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        agent_id TEXT REFERENCES agents (id) ON DELETE SET NULL,
        run_id TEXT REFERENCES agent_runs (id) ON DELETE SET NULL,
        approval_id TEXT REFERENCES approval_requests (id) ON DELETE SET NULL,
        required_approvals INTEGER,
        eligible_role TEXT,
        UNIQUE (task_id, position)
    )",
    "CREATE INDEX task_steps_status ON task_steps (status)",
    // One decision per member and request.
    "CREATE TABLE approval_decisions (
        request_id TEXT NOT NULL REFERENCES approval_requests (id) ON DELETE CASCADE,
        member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        decision TEXT NOT NULL,
        comment TEXT,
        at {ts} NOT NULL,
        PRIMARY KEY (request_id, member_id)
    )",
    "CREATE TABLE approval_policies (
        workroom_id TEXT PRIMARY KEY REFERENCES workrooms (id) ON DELETE CASCADE,
        required_approvals INTEGER NOT NULL,
        eligible_role TEXT NOT NULL
    )",
    "CREATE TABLE export_profiles (
        workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
        format TEXT NOT NULL,
        include_branding BOOLEAN NOT NULL,
        header TEXT,
        footer TEXT
    )",
    // A rendered deliverable, kept as rendered.
    "CREATE TABLE exports (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        workroom_id TEXT NOT NULL REFERENCES workrooms (id) ON DELETE CASCADE,
        task_id TEXT REFERENCES tasks (id) ON DELETE SET NULL,
        run_id TEXT REFERENCES agent_runs (id) ON DELETE SET NULL,
        format TEXT NOT NULL,
        content TEXT NOT NULL,
        downloads INTEGER NOT NULL DEFAULT 0,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL
    )",
    "CREATE INDEX exports_workroom ON exports (workroom_id, created_at)",
];

const DOWN: &[&str] = &[
    "DROP TABLE exports",
    "DROP TABLE export_profiles",
    "DROP TABLE approval_policies",
    "DROP TABLE approval_decisions",
    "DROP TABLE task_steps",
    "DROP TABLE approval_requests",
    "DROP TABLE tasks",
];

ddl::migration!("m20261204_000003_tasks");
