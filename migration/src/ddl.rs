//! Runs hand-written DDL on either backend. Statements use a few
//! placeholders for the types that differ between SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Executes each statement after replacing `{ts}` (a UTC timestamp),
/// `{json}` and `{seq}` (an auto-incrementing 64-bit primary key).
pub async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    let (ts, json, seq) = match backend {
        DbBackend::Postgres => ("TIMESTAMPTZ", "JSONB", "BIGSERIAL PRIMARY KEY"),
        _ => ("TEXT", "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    };
    let conn = manager.get_connection();
    for statement in statements {
        let sql = statement
            .replace("{ts}", ts)
            .replace("{json}", json)
            .replace("{seq}", seq);
        conn.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// A migration made of the `UP` and `DOWN` statements of the module it is
/// invoked in, under the given name.
macro_rules! migration {
    ($name:literal) => {
        pub struct Migration;

        impl MigrationName for Migration {
            fn name(&self) -> &str {
                $name
            }
        }

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::ddl::run(manager, UP).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::ddl::run(manager, DOWN).await
            }
        }
    };
}

pub(crate) use migration;
