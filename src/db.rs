//! Connecting, migrating, and the one way to start a write transaction.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, QueryResult, QueryTrait, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

/// How long a pooled connection may sit unused before it is pinged when
/// next taken.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);
/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(15);
/// Rows a SQLite connection's thread may hand over before its reader takes
/// them.
const SQLITE_ROW_CHANNEL: usize = 1024;
/// How much of the database file SQLite reads through memory mapping.
const SQLITE_MMAP_BYTES: u64 = 256 << 20;

/// A pool of at most `max_connections`; on SQLite each keeps a page cache
/// of `sqlite_cache_mib`.
pub async fn connect(
    url: &str,
    max_connections: u32,
    sqlite_cache_mib: u32,
) -> Result<DatabaseConnection, DbErr> {
    if url.starts_with("sqlite:") {
        let dir = crate::config::data_dir(url);
        if !url.contains(":memory:") {
            std::fs::create_dir_all(&dir).map_err(|e| DbErr::Custom(e.to_string()))?;
        }
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        // A connection is pinged before use only after sitting idle: a ping
        // on every acquire is a round trip per statement (on SQLite, two
        // thread switches).
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.busy_timeout(SQLITE_BUSY_TIMEOUT)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                // Rows stream from each connection's thread without waiting
                // for the reader after every 50.
                .row_buffer_size(SQLITE_ROW_CHANNEL)
                .pragma(
                    "cache_size",
                    format!("-{}", u64::from(sqlite_cache_mib) << 10),
                )
                .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
                .pragma("temp_store", "memory")
        })
        // Every statement is prepared once per connection; its plan is made
        // once too, instead of again at each run (PostgreSQL's default for
        // statements with parameters weighs a fresh plan against the cached
        // one, and planning costs more than running these indexed reads).
        .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_generic_plan")]));
    Database::connect(options).await
}

/// The key of the PostgreSQL advisory lock that migrations run under.
const MIGRATION_LOCK: i64 = 0x0041_7472_6975_6d00; // "\0Atrium\0"

/// Applies pending migrations. On PostgreSQL they run in one transaction
/// that first takes an advisory lock, so that any number of servers
/// starting at once on one database migrate it once, one after the other.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [MIGRATION_LOCK.into()],
    ))
    .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Begins a transaction that will write. On SQLite it takes the write lock at
/// `BEGIN` (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy
/// timeout instead of failing with `database is locked` when a deferred
/// transaction tries to upgrade. On PostgreSQL writers lock the rows that
/// guard their invariants (see `workspaces::service::lock`).
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Runs a query and reads each of its rows with `read`, which takes the
/// columns by position (`Model::at`): the hot listings skip looking every
/// column of every row up by name.
pub async fn read_rows<T>(
    db: &impl ConnectionTrait,
    query: &impl QueryTrait,
    read: impl Fn(&QueryResult) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    let statement = query.build(db.get_database_backend());
    db.query_all_raw(statement)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// An entity's columns in declaration order, each as `alias.column`: the
/// select list of a hand-written statement whose rows are read by position.
pub fn column_list<C: sea_orm::Iterable + sea_orm::IdenStatic>(alias: &str) -> String {
    C::iter()
        .map(|c| format!("{alias}.{}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `n`th bound value (from 1) in a hand-written statement: `$n` on
/// PostgreSQL, `?n` on SQLite, which both let one value be used twice.
pub fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}
