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
use crate::auth::Identity;
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
                keys.push((format!("k:{}", key.lookup), self.per_principal));
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
        self.count(&keys)
    }

    /// Counts one request in each bucket, or refuses it when one is full.
    fn count(&self, keys: &[(String, u64)]) -> AppResult<()> {
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
            let bucket = buckets.entry(key.clone()).or_default();
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

    /// Counts an operation over a WebSocket: a person, a key (by the id
    /// part of its secret, verified when the operation runs), or an address.
    pub fn admit_identity(&self, identity: &Identity, address: Option<&str>) -> AppResult<()> {
        if identity.principal.is_some() {
            return self.admit(identity.principal.as_ref(), address);
        }
        match identity
            .key_secret
            .as_deref()
            .and_then(crate::auth::key_secret::parse)
        {
            Some(presented) => {
                self.count(&[(format!("k:{}", presented.lookup), self.per_principal)])
            }
            None => self.admit(None, address),
        }
    }

    /// Counts a request that failed to authenticate against its address,
    /// so that guessing keys is held to the anonymous limit.
    pub fn failed(&self, address: Option<&str>) {
        let _ = self.admit(None, address);
    }

    /// Whether an address is past its limit (checked before a presented key
    /// costs a lookup).
    pub fn address_full(&self, address: Option<&str>) -> Option<u64> {
        let address = address?;
        let now = Utc::now().timestamp();
        let window = now.div_euclid(WINDOW_SECS);
        let full = self
            .lock()
            .get(&format!("a:{address}"))
            .filter(|b| b.window == window)
            .is_some_and(|b| b.local + b.remote >= self.per_principal);
        full.then(|| (WINDOW_SECS - now.rem_euclid(WINDOW_SECS)).max(1) as u64)
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
        // One statement for every bucket: add the deltas, read the totals.
        let deltas: Vec<serde_json::Value> = current
            .iter()
            .map(|(bucket, delta)| serde_json::json!({ "bucket": bucket, "requests": delta }))
            .collect();
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO rate_counts (bucket, window_start, requests)
             SELECT bucket, $2, requests
             FROM jsonb_to_recordset($1::text::jsonb) AS t(bucket text, requests bigint)
             ON CONFLICT (bucket, window_start)
             DO UPDATE SET requests = rate_counts.requests + EXCLUDED.requests
             RETURNING bucket, requests",
            [
                serde_json::Value::Array(deltas).to_string().into(),
                window.into(),
            ],
        );
        let rows = match db.query_all_raw(statement).await {
            Ok(rows) => rows,
            Err(err) => {
                self.unshare(current);
                return Err(err.into());
            }
        };
        self.record_totals(window, rows);
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM rate_counts WHERE window_start < $1",
            [(window - 1).into()],
        ))
        .await?;
        Ok(())
    }

    /// Puts back deltas that could not be shared, for the next round.
    fn unshare(&self, deltas: Vec<(String, u64)>) {
        let mut buckets = self.lock();
        for (key, delta) in deltas {
            if let Some(b) = buckets.get_mut(&key) {
                b.unshared += delta;
            }
        }
    }

    /// Takes the totals the shared table returned as the others' counts.
    fn record_totals(&self, window: i64, rows: Vec<sea_orm::QueryResult>) {
        let mut buckets = self.lock();
        for row in rows {
            let (Ok(key), Ok(total)) = (
                row.try_get_by_index::<String>(0),
                row.try_get_by_index::<i64>(1),
            ) else {
                continue;
            };
            if let Some(b) = buckets.get_mut(&key)
                && b.window == window
            {
                // What this server has shared so far is in `total`.
                let shared = b.local - b.unshared;
                b.remote = (total.max(0) as u64).saturating_sub(shared);
            }
        }
    }
}
