//! Request rate limits per principal (a person, an API key, or an anonymous
//! client address) and per workspace over all its workspace keys.
//!
//! Counts are kept per fixed minute window. Each server counts locally and
//! admits while its own count plus what the other servers reported stays
//! under the limit; on PostgreSQL the servers add their counts to one table
//! at most once a second (`share`), so a limit holds across servers without a
//! database round trip per request. A fixed window is used rather than a
//! token bucket (such as `governor`'s GCRA) because counts of one window can
//! be summed across servers, while bucket states cannot.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::access::Principal;
use crate::error::{AppError, AppResult};

const WINDOW_SECS: i64 = 60;

#[derive(Default, Clone, Copy)]
struct Bucket {
    window: i64,
    /// Admitted here in this window.
    local: u64,
    /// Of `local`, not yet added to the shared table.
    unshared: u64,
    /// Counted by the other servers in this window, as last read.
    remote: u64,
}

pub struct RateLimits {
    per_principal: u64,
    per_workspace: u64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Refused: try again after this many seconds.
pub struct Limited {
    pub retry_after: u64,
}

impl RateLimits {
    pub fn new(per_principal: u32, per_workspace: u32) -> Self {
        Self {
            per_principal: u64::from(per_principal),
            per_workspace: u64::from(per_workspace),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one request of `principal` (or of an anonymous client at
    /// `address`), or refuses it when a limit is reached.
    pub fn admit(&self, principal: Option<&Principal>, address: Option<&str>) -> AppResult<()> {
        let mut keys: Vec<(String, u64)> = Vec::with_capacity(2);
        match principal {
            Some(Principal::Person { user_id }) => {
                keys.push((format!("p:{user_id}"), self.per_principal))
            }
            Some(Principal::Key(key)) => {
                keys.push((format!("k:{}", key.id), self.per_principal));
                if let Some(workspace) = &key.workspace_id {
                    keys.push((format!("w:{workspace}"), self.per_workspace));
                }
            }
            Some(Principal::System) => return Ok(()),
            None => match address {
                Some(address) => keys.push((format!("a:{address}"), self.per_principal)),
                None => return Ok(()),
            },
        }
        let now = Utc::now().timestamp();
        let window = now.div_euclid(WINDOW_SECS);
        let retry_after = (WINDOW_SECS - now.rem_euclid(WINDOW_SECS)).max(1) as u64;
        let mut buckets = self.lock();
        let full = keys.iter().any(|(key, limit)| {
            buckets
                .get(key)
                .filter(|b| b.window == window)
                .is_some_and(|b| b.local + b.remote >= *limit)
        });
        if full {
            return Err(AppError::TooManyRequests { retry_after });
        }
        for (key, _) in keys {
            let bucket = buckets.entry(key).or_default();
            if bucket.window != window {
                *bucket = Bucket {
                    window,
                    ..Bucket::default()
                };
            }
            bucket.local += 1;
            bucket.unshared += 1;
        }
        Ok(())
    }

    /// Adds this server's counts to the shared table and reads the others'
    /// (PostgreSQL; SQLite runs one server). Forgets past windows.
    pub async fn share(&self, db: &DatabaseConnection) -> AppResult<()> {
        let window = Utc::now().timestamp().div_euclid(WINDOW_SECS);
        let current: Vec<(String, u64)> = {
            let mut buckets = self.lock();
            buckets.retain(|_, b| b.window >= window);
            buckets
                .iter_mut()
                .map(|(key, b)| {
                    let delta = std::mem::take(&mut b.unshared);
                    (key.clone(), delta)
                })
                .collect()
        };
        if db.get_database_backend() != DbBackend::Postgres || current.is_empty() {
            return Ok(());
        }
        for (key, delta) in current {
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO rate_counts (bucket, window_start, requests) VALUES ($1, $2, $3)
                 ON CONFLICT (bucket, window_start)
                 DO UPDATE SET requests = rate_counts.requests + EXCLUDED.requests
                 RETURNING requests",
                [key.clone().into(), window.into(), (delta as i64).into()],
            );
            let total = match db.query_one_raw(statement).await {
                Ok(row) => row.and_then(|r| r.try_get_by_index::<i64>(0).ok()),
                Err(err) => {
                    // Counted again at the next share.
                    if let Some(b) = self.lock().get_mut(&key) {
                        b.unshared += delta;
                    }
                    return Err(err.into());
                }
            };
            if let (Some(total), Some(b)) = (total, self.lock().get_mut(&key))
                && b.window == window
            {
                // What this server has shared so far is in `total` already.
                let shared = b.local - b.unshared;
                b.remote = (total.max(0) as u64).saturating_sub(shared);
            }
        }
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM rate_counts WHERE window_start < $1",
            [(window - 1).into()],
        ))
        .await?;
        Ok(())
    }
}
