use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // An archived workroom is hidden from lists and read-only.
    "ALTER TABLE workrooms ADD COLUMN archived_at {ts}",
    // Custom agents; each change of instructions or style memory is a new
    // row of `agent_versions`, and `version` names the newest.
    "CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        instructions TEXT NOT NULL,
        style_memory {json},
        version INTEGER NOT NULL,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        updated_at {ts} NOT NULL,
        archived_at {ts}
    )",
    "CREATE INDEX agents_workspace ON agents (workspace_id, id)",
    "CREATE TABLE agent_versions (
        agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        instructions TEXT NOT NULL,
        style_memory {json},
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        PRIMARY KEY (agent_id, version)
    )",
    // Credits held by runs in progress; `credit_balance` is what was granted
    // minus what was spent.
    "ALTER TABLE workspaces ADD COLUMN credits_reserved BIGINT NOT NULL DEFAULT 0",
    // A run of an agent (or a bare model call) in a workroom. `last_seq` is
    // the seq of its newest event; a worker holds it by `lease_owner` until
    // `lease_expires_at`.
    "CREATE TABLE agent_runs (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        workroom_id TEXT NOT NULL REFERENCES workrooms (id) ON DELETE CASCADE,
        agent_id TEXT REFERENCES agents (id) ON DELETE SET NULL,
        agent_version INTEGER,
        task_id TEXT,
        actor_kind TEXT NOT NULL,
        started_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        api_key_id TEXT,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        output TEXT NOT NULL DEFAULT '',
        error TEXT,
        credits_reserved BIGINT NOT NULL,
        credits_used BIGINT NOT NULL DEFAULT 0,
        last_seq INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_expires_at {ts},
        created_at {ts} NOT NULL,
        started_at {ts},
        finished_at {ts}
    )",
    "CREATE INDEX agent_runs_workroom ON agent_runs (workroom_id, created_at)",
    "CREATE INDEX agent_runs_status ON agent_runs (status, created_at)",
    "CREATE INDEX agent_runs_spender ON agent_runs (workspace_id, started_by, created_at)",
    "CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data {json},
        at {ts} NOT NULL,
        PRIMARY KEY (run_id, seq)
    )",
    // The credit ledger: one row per grant, reservation, debit and release,
    // written in the transaction of the change it records.
    "CREATE TABLE credit_entries (
        seq {seq},
        id TEXT NOT NULL UNIQUE,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        amount BIGINT NOT NULL,
        balance_after BIGINT NOT NULL,
        actor_kind TEXT NOT NULL,
        actor_id TEXT REFERENCES users (id) ON DELETE SET NULL,
        api_key_id TEXT,
        run_id TEXT REFERENCES agent_runs (id) ON DELETE SET NULL,
        reason TEXT,
        created_at {ts} NOT NULL
    )",
    "CREATE INDEX credit_entries_workspace ON credit_entries (workspace_id, seq)",
    // A member's own monthly cap on what its runs may spend.
    "CREATE TABLE member_credit_limits (
        member_id TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
        monthly_limit BIGINT NOT NULL
    )",
];

const DOWN: &[&str] = &[
    "DROP TABLE member_credit_limits",
    "DROP TABLE credit_entries",
    "DROP TABLE run_events",
    "DROP TABLE agent_runs",
    "ALTER TABLE workspaces DROP COLUMN credits_reserved",
    "DROP TABLE agent_versions",
    "DROP TABLE agents",
    "ALTER TABLE workrooms DROP COLUMN archived_at",
];

ddl::migration!("m20261204_000001_work");
