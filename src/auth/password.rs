//! Password hashing with argon2id, off the async executor and bounded: each
//! hash takes about 19 MiB and a core, so at most `concurrency` run at once,
//! and a caller that cannot get a slot within the queue time is refused
//! with RATE_LIMITED instead of piling up memory.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::OsRng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

pub fn validate(password: &str) -> AppResult<()> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(AppError::bad_input(
            "password",
            format!("a password needs at least {MIN_LEN} characters"),
        ));
    }
    if len > MAX_LEN {
        return Err(AppError::bad_input(
            "password",
            format!("a password has at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

/// The hashing slots of one server.
pub struct Passwords {
    slots: Arc<Semaphore>,
    queue: Duration,
}

impl Passwords {
    pub fn new(concurrency: usize, queue: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            queue,
        }
    }

    async fn slot(&self) -> AppResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.queue, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::RateLimited(
                "the server is busy checking passwords; try again shortly",
            )),
        }
    }

    pub async fn hash(&self, password: String) -> AppResult<String> {
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| AppError::internal(anyhow::anyhow!("hashing a password: {e}")))
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Checks a password against a stored hash. With no hash (unknown
    /// account) it still does the work of one check, in the same slots, so
    /// both answers take as long.
    pub async fn verify(&self, password: String, stored: Option<String>) -> AppResult<bool> {
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let stored = stored.as_deref().unwrap_or(DUMMY_HASH);
            let parsed = PasswordHash::new(stored)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash: {e}")))?;
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(ok && stored != DUMMY_HASH)
        })
        .await
        .map_err(AppError::internal)?
    }
}

/// The argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3nQ5lCvcJ4nQfNhcbBb4BPgqGQhXq0lJ0zb2pUu0wS8";
