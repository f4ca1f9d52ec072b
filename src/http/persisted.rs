//! Automatic persisted queries (Apollo's protocol): a client sends
//! `extensions.persistedQuery.sha256Hash` without the query; the server
//! answers PERSISTED_QUERY_NOT_FOUND until the client has sent the query once
//! with its hash. Queries are kept by hash in a cache bounded in bytes, the
//! oldest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

pub struct PersistedQueries {
    max_bytes: usize,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    queries: HashMap<String, Arc<str>>,
    order: VecDeque<String>,
    bytes: usize,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: i64,
    sha256_hash: String,
}

impl PersistedQueries {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            cache: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fills in the query of a request that names one by hash, or keeps the
    /// query it sends with its hash.
    pub fn resolve(&self, request: &mut async_graphql::Request) -> AppResult<()> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let persisted: PersistedQuery = extension
            .into_json()
            .ok()
            .and_then(|json| serde_json::from_value(json).ok())
            .ok_or_else(|| {
                AppError::bad_input(
                    "extensions.persistedQuery",
                    "expected {\"version\": 1, \"sha256Hash\": \"…\"}",
                )
            })?;
        if persisted.version != 1 {
            return Err(AppError::bad_input(
                "extensions.persistedQuery",
                "only version 1 of persisted queries is supported",
            ));
        }
        let hash = persisted.sha256_hash.to_ascii_lowercase();
        if request.query.is_empty() {
            let found = self.lock().queries.get(&hash).cloned();
            let query = found.ok_or(AppError::PersistedQueryNotFound)?;
            request.query = query.to_string();
            return Ok(());
        }
        let actual = format!("{:x}", Sha256::digest(request.query.as_bytes()));
        if actual != hash {
            return Err(AppError::bad_input(
                "extensions.persistedQuery",
                "sha256Hash is not the hash of the query",
            ));
        }
        self.keep(hash, &request.query);
        Ok(())
    }

    fn keep(&self, hash: String, query: &str) {
        if query.len() > self.max_bytes {
            return;
        }
        let mut cache = self.lock();
        if cache.queries.contains_key(&hash) {
            return;
        }
        cache.bytes += query.len();
        cache.queries.insert(hash.clone(), query.into());
        cache.order.push_back(hash);
        while cache.bytes > self.max_bytes {
            let Some(oldest) = cache.order.pop_front() else {
                break;
            };
            if let Some(gone) = cache.queries.remove(&oldest) {
                cache.bytes -= gone.len();
            }
        }
    }
}
