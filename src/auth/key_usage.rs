//! What keys' use costs the database: `lastUsedAt` is written at most once a
//! minute per key, and requests are counted in memory and added to the
//! per-day rollup in batches.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::error::AppResult;

/// How often `lastUsedAt` may be written for one key.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct KeyUsage {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    touched: HashMap<String, Instant>,
    /// Requests not yet added to the rollup, by key and day.
    pending: HashMap<(String, String), i64>,
}

impl KeyUsage {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one request; true when `lastUsedAt` is due a write.
    pub fn count(&self, key_id: &str) -> bool {
        let day = Utc::now().format("%Y-%m-%d").to_string();
        let mut inner = self.lock();
        *inner.pending.entry((key_id.to_owned(), day)).or_default() += 1;
        let now = Instant::now();
        match inner.touched.get(key_id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                inner.touched.insert(key_id.to_owned(), now);
                true
            }
        }
    }

    /// Adds what was counted to the rollup. Counts whose write fails are
    /// kept for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> AppResult<()> {
        let pending = std::mem::take(&mut self.lock().pending);
        let mut failed = Vec::new();
        let mut first_error = None;
        for ((key_id, day), requests) in pending {
            let sql = match db.get_database_backend() {
                DbBackend::Postgres => {
                    "INSERT INTO api_key_usage (api_key_id, day, requests) VALUES ($1, $2, $3)
                     ON CONFLICT (api_key_id, day)
                     DO UPDATE SET requests = api_key_usage.requests + EXCLUDED.requests"
                }
                _ => {
                    "INSERT INTO api_key_usage (api_key_id, day, requests) VALUES (?, ?, ?)
                     ON CONFLICT (api_key_id, day)
                     DO UPDATE SET requests = api_key_usage.requests + excluded.requests"
                }
            };
            let statement = Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [key_id.clone().into(), day.clone().into(), requests.into()],
            );
            match db.execute_raw(statement).await {
                Ok(_) => {}
                // The key is gone: its counts go with it.
                Err(err) if err.to_string().to_lowercase().contains("foreign key") => {}
                Err(err) => {
                    failed.push(((key_id, day), requests));
                    first_error.get_or_insert(err);
                }
            }
        }
        let mut inner = self.lock();
        for (slot, requests) in failed {
            *inner.pending.entry(slot).or_default() += requests;
        }
        match first_error {
            Some(err) => Err(err.into()),
            None => Ok(()),
        }
    }
}
