use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::ddl;

/// Search finds the same words on both engines: letters and digits split on
/// everything else (an e-mail address or a host is several words), case
/// folded, accents kept ("cafe" does not find "Café").
///
/// SQLite: the FTS5 table is rebuilt with a tokenizer that keeps accents
/// and counts only letters, digits and private-use characters as word
/// characters (symbols separate words, as on PostgreSQL).
const UP_SQLITE: &[&str] = &[
    "DROP TABLE prompt_search",
    "CREATE VIRTUAL TABLE prompt_search USING fts5 (title, description, tags,
        tokenize = \"unicode61 remove_diacritics 0 categories 'L* N* Co'\")",
    "INSERT INTO prompt_search (rowid, title, description, tags)
        SELECT seq, title, coalesce(description, ''), tags FROM prompts",
];

/// PostgreSQL: the vector is built from the text with every run of other
/// characters turned into a space, so that the parser sees plain words
/// (not e-mail addresses, hosts, URLs or hyphenated compounds).
const UP_POSTGRES: &[&str] = &[
    "ALTER TABLE prompts DROP COLUMN search",
    "ALTER TABLE prompts ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', regexp_replace(
            title || ' ' || coalesce(description, '') || ' ' || tags::text,
            '[^[:alnum:]]+', ' ', 'g'))
    ) STORED",
    "CREATE INDEX prompts_search ON prompts USING GIN (search)",
];

const DOWN_SQLITE: &[&str] = &[
    "DROP TABLE prompt_search",
    "CREATE VIRTUAL TABLE prompt_search USING fts5 (title, description, tags)",
    "INSERT INTO prompt_search (rowid, title, description, tags)
        SELECT seq, title, coalesce(description, ''), tags FROM prompts",
];

const DOWN_POSTGRES: &[&str] = &[
    "ALTER TABLE prompts DROP COLUMN search",
    "ALTER TABLE prompts ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', title || ' ' || coalesce(description, '')) || to_tsvector('simple', tags)
    ) STORED",
    "CREATE INDEX prompts_search ON prompts USING GIN (search)",
];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_search_words"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => ddl::run(manager, UP_POSTGRES).await,
            _ => ddl::run(manager, UP_SQLITE).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => ddl::run(manager, DOWN_POSTGRES).await,
            _ => ddl::run(manager, DOWN_SQLITE).await,
        }
    }
}
