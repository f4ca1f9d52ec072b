use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // A workspace's brand profile: at most one row, absent until first saved.
    "CREATE TABLE brand_profiles (
        workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
        industry TEXT,
        website TEXT,
        colors {json} NOT NULL,
        voice {json} NOT NULL,
        audience TEXT,
        goals TEXT,
        main_offer TEXT,
        updated_at {ts} NOT NULL
    )",
    // Brand memory: facts about the brand that members and agents rely on.
    "CREATE TABLE brand_facts (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL
    )",
    "CREATE INDEX brand_facts_workspace ON brand_facts (workspace_id, created_at)",
];

const DOWN: &[&str] = &["DROP TABLE brand_facts", "DROP TABLE brand_profiles"];

ddl::migration!("m20261206_000002_brand");
