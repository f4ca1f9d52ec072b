//! Password hashing with argon2id, off the async executor and bounded: each
//! hash takes about 19 MiB and a core, so at most `concurrency` run at once,
//! and a caller that cannot get a slot within the queue time is refused
//! with RATE_LIMITED instead of piling up memory.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::OsRng;
use tokio::sync::Semaphore;

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

/// Work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The hashing slots of one server: a semaphore that bounds and queues
/// callers, and as many threads of its own, so that the memory argon2 frees
/// stays in a few allocator arenas instead of one per blocking thread.
pub struct Passwords {
    slots: Arc<Semaphore>,
    queue: Duration,
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl Passwords {
    pub fn new(concurrency: usize, queue: Duration) -> Self {
        let concurrency = concurrency.max(1);
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(concurrency);
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for _ in 0..concurrency {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name("atrium-password".into())
                .spawn(move || {
                    loop {
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        // Ends when the server's `Passwords` is dropped.
                        let Ok(job) = job else { return };
                        job();
                        // The 19 MiB a hash used would otherwise stay with
                        // the allocator, once per arena it landed in.
                        crate::memory::release();
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "no thread for password hashing");
            }
        }
        Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            queue,
            jobs,
        }
    }

    /// Runs `work` on a hashing thread once a slot is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        // The slot goes with the job: a caller that gives up waiting for
        // the result does not free it while the job still runs.
        let slot = match tokio::time::timeout(self.queue, self.slots.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                return Err(AppError::RateLimited(
                    "the server is busy checking passwords; try again shortly",
                ));
            }
        };
        let (done, result) = tokio::sync::oneshot::channel();
        // Never full: no more jobs are in flight than there are slots.
        self.jobs
            .try_send(Box::new(move || {
                let _slot = slot;
                let _ = done.send(work());
            }))
            .map_err(|_| AppError::internal(anyhow::anyhow!("password threads are gone")))?;
        result
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("a password job was dropped")))?
    }

    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| AppError::internal(anyhow::anyhow!("hashing a password: {e}")))
        })
        .await
    }

    /// Checks a password against a stored hash. With no hash (unknown
    /// account) it still does the work of one check, in the same slots, so
    /// both answers take as long.
    pub async fn verify(&self, password: String, stored: Option<String>) -> AppResult<bool> {
        self.run(move || {
            let stored = stored.as_deref().unwrap_or(DUMMY_HASH);
            let parsed = PasswordHash::new(stored)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash: {e}")))?;
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(ok && stored != DUMMY_HASH)
        })
        .await
    }
}

/// The argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3nQ5lCvcJ4nQfNhcbBb4BPgqGQhXq0lJ0zb2pUu0wS8";
