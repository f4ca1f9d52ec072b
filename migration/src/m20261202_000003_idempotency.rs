use sea_orm_migration::prelude::*;

use crate::ddl;

/// Responses of mutations sent with an `Idempotency-Key`, per principal;
/// `response` is null while the first request runs; `token` names that run.
const UP: &[&str] = &[
    "CREATE TABLE idempotency_keys (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        token TEXT NOT NULL,
        status INTEGER,
        media TEXT,
        response TEXT,
        created_at {ts} NOT NULL,
        PRIMARY KEY (owner, key)
    )",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
];

const DOWN: &[&str] = &["DROP TABLE idempotency_keys"];

ddl::migration!("m20261202_000003_idempotency");
