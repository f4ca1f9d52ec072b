//! Wake-ups for run watchers and run workers. What a run did is always read
//! from its rows (`run_events` by seq), so a lost wake-up only delays a
//! watcher until its next check; these signals only say "look now".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tokio::sync::{Notify, watch};

use crate::error::AppResult;

/// PostgreSQL channel carrying the id of a run with new events.
pub const RUNS_CHANNEL: &str = "atrium_run";
/// PostgreSQL channel saying that a run was queued.
pub const QUEUE_CHANNEL: &str = "atrium_run_queued";

#[derive(Default)]
pub struct RunSignals {
    /// Per watched run: bumped when it has new events.
    watched: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Wakes an idle worker when a run is queued.
    queued: Notify,
    /// Wakes what follows runs' endings (tasks moving on).
    ended: Notify,
}

impl RunSignals {
    /// A receiver that changes whenever the run has new events.
    pub fn watch(&self, run_id: &str) -> watch::Receiver<u64> {
        let mut watched = self.lock();
        watched.retain(|_, tx| tx.receiver_count() > 0);
        watched
            .entry(run_id.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// The run has new events: its watchers on this server look.
    pub fn progressed(&self, run_id: &str) {
        if let Some(tx) = self.lock().get(run_id) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A run ended on this server.
    pub fn ended(&self, run_id: &str) {
        self.progressed(run_id);
        self.ended.notify_one();
    }

    pub async fn wait_ended(&self) {
        self.ended.notified().await;
    }

    pub fn queued(&self) {
        self.queued.notify_one();
    }

    /// Waits for a run to be queued on this server (or by another, on
    /// PostgreSQL).
    pub async fn wait_queued(&self) {
        self.queued.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<u64>>> {
        self.watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Tells the other servers, on commit, that a run has news (PostgreSQL).
pub async fn notify(db: &impl ConnectionTrait, channel: &str, run_id: &str) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), run_id.into()],
        ))
        .await?;
    }
    Ok(())
}

pub type Signals = Arc<RunSignals>;
