use sea_orm_migration::prelude::*;

use crate::ddl;

/// Requests per rate-limit bucket and minute, summed over the servers.
const UP: &[&str] = &["CREATE TABLE rate_counts (
        bucket TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        requests BIGINT NOT NULL,
        PRIMARY KEY (bucket, window_start)
    )"];

const DOWN: &[&str] = &["DROP TABLE rate_counts"];

ddl::migration!("m20261202_000002_rate_counts");
