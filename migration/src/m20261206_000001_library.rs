use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::ddl;

const UP: &[&str] = &[
    // Informational type, and whether the workspace works with agents.
    "ALTER TABLE workspaces ADD COLUMN workspace_type TEXT NOT NULL DEFAULT 'MY_BRAND'",
    "ALTER TABLE workspaces ADD COLUMN mode TEXT NOT NULL DEFAULT 'AGENTIC'",
    // The prompt library. `seq` is the row's stable number for the search
    // index; `published_version` names the highest published version.
    "CREATE TABLE prompts (
        seq {seq},
        id TEXT NOT NULL UNIQUE,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT,
        category TEXT,
        tags {json} NOT NULL,
        published_version TEXT,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        updated_at {ts} NOT NULL,
        archived_at {ts},
        UNIQUE (workspace_id, name)
    )",
    // Versions of a prompt: the one open draft has no number and no
    // `published_at`; published ones never change.
    "CREATE TABLE prompt_versions (
        id TEXT PRIMARY KEY,
        prompt_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
        major INTEGER,
        minor INTEGER,
        patch INTEGER,
        body TEXT NOT NULL,
        variables {json} NOT NULL,
        notes TEXT,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        published_at {ts}
    )",
    "CREATE UNIQUE INDEX prompt_versions_number ON prompt_versions (prompt_id, major, minor, patch)",
    "CREATE UNIQUE INDEX prompt_versions_draft ON prompt_versions (prompt_id) WHERE published_at IS NULL",
    "CREATE TABLE collections (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        UNIQUE (workspace_id, name)
    )",
    "CREATE TABLE prompt_collections (
        prompt_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
        collection_id TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
        PRIMARY KEY (prompt_id, collection_id)
    )",
    "CREATE INDEX prompt_collections_collection ON prompt_collections (collection_id)",
    // Resolutions of references, per prompt and UTC day.
    "CREATE TABLE prompt_fetches (
        prompt_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
        day {ts} NOT NULL,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        fetches BIGINT NOT NULL,
        PRIMARY KEY (prompt_id, day)
    )",
    "CREATE INDEX prompt_fetches_workspace ON prompt_fetches (workspace_id, day)",
];

/// Full-text search over title, description and tags: an FTS5 table kept
/// by triggers on SQLite, a generated `tsvector` on PostgreSQL.
const SEARCH_SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE prompt_search USING fts5 (title, description, tags)",
    "CREATE TRIGGER prompts_search_insert AFTER INSERT ON prompts BEGIN
        INSERT INTO prompt_search (rowid, title, description, tags)
        VALUES (new.seq, new.title, coalesce(new.description, ''), new.tags);
    END",
    "CREATE TRIGGER prompts_search_update AFTER UPDATE OF title, description, tags ON prompts BEGIN
        UPDATE prompt_search SET title = new.title, description = coalesce(new.description, ''),
            tags = new.tags WHERE rowid = new.seq;
    END",
    "CREATE TRIGGER prompts_search_delete AFTER DELETE ON prompts BEGIN
        DELETE FROM prompt_search WHERE rowid = old.seq;
    END",
];

const SEARCH_POSTGRES: &[&str] = &[
    "ALTER TABLE prompts ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', title || ' ' || coalesce(description, '')) || to_tsvector('simple', tags)
    ) STORED",
    "CREATE INDEX prompts_search ON prompts USING GIN (search)",
];

const DOWN: &[&str] = &[
    "DROP TABLE prompt_fetches",
    "DROP TABLE prompt_collections",
    "DROP TABLE collections",
    "DROP TABLE prompt_versions",
    "DROP TABLE prompts",
    "ALTER TABLE workspaces DROP COLUMN mode",
    "ALTER TABLE workspaces DROP COLUMN workspace_type",
];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_library"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => ddl::run(manager, SEARCH_POSTGRES).await,
            _ => ddl::run(manager, SEARCH_SQLITE).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Sqlite {
            ddl::run(manager, &["DROP TABLE prompt_search"]).await?;
        }
        ddl::run(manager, DOWN).await
    }
}
