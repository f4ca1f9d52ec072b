//! `runEvents`: a run's events replayed from the database after a seq,
//! then each new one as it commits, ending after the terminal event. Every
//! event is read by seq, so nothing is skipped or repeated whether it was
//! written before the watch began, while it caught up, or live.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use entity::{agent_run, run_event};
use futures_util::Stream;
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::watch;

use super::RunEvent;
use super::service::events;
use crate::access::{Capability, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Events read per statement while catching up.
const BATCH: u64 = 500;
/// How often a watcher looks without being woken.
const RECHECK: Duration = Duration::from_secs(1);

fn is_terminal(kind: &str) -> bool {
    matches!(kind, "run.succeeded" | "run.failed" | "run.cancelled")
}

struct Watcher {
    db: DatabaseConnection,
    /// Who watches: its access to the workroom is read again at most once
    /// per `RECHECK`, and the watch ends (NOT_FOUND) once it is gone.
    principal: Principal,
    workspace_id: String,
    workroom_id: String,
    checked: Instant,
    run_id: String,
    last: i32,
    woken: watch::Receiver<u64>,
    ready: VecDeque<run_event::Model>,
    done: bool,
}

impl Watcher {
    async fn next(&mut self) -> Option<AppResult<RunEvent>> {
        loop {
            if self.checked.elapsed() >= RECHECK {
                self.checked = Instant::now();
                if let Err(err) = self.still_visible().await {
                    self.done = true;
                    self.ready.clear();
                    return Some(Err(err));
                }
            }
            if let Some(event) = self.ready.pop_front() {
                self.done = is_terminal(&event.kind);
                return Some(Ok(event.into()));
            }
            if self.done {
                return None;
            }
            // Marked before reading, so a wake-up during the read is kept.
            self.woken.borrow_and_update();
            let batch = match events(&self.db, &self.run_id, self.last, BATCH).await {
                Ok(batch) => batch,
                Err(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            };
            if let Some(last) = batch.last() {
                self.last = last.seq;
                self.ready.extend(batch);
                continue;
            }
            match self.ended_before().await {
                Ok(true) => return None,
                Ok(false) => {}
                Err(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            }
            let _ = tokio::time::timeout(RECHECK, self.woken.changed()).await;
        }
    }

    async fn still_visible(&self) -> AppResult<()> {
        let viewer = crate::access::load::visible(&self.db, &self.workspace_id, &self.principal)
            .await
            .map_err(|_| AppError::NotFound("run"))?;
        viewer
            .require_in_workroom(Capability::ReadWorkroom, &self.workroom_id)
            .map_err(|_| AppError::NotFound("run"))
    }

    /// Whether the run ended at or before the last event seen (a watch
    /// that began after the terminal event).
    async fn ended_before(&self) -> AppResult<bool> {
        let run = agent_run::Entity::find_by_id(&self.run_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("run"))?;
        Ok(run.status.is_terminal() && run.last_seq <= self.last)
    }
}

/// The events of `run` after `after_seq`, then live until the terminal one.
pub fn events_after(
    state: &AppState,
    principal: Principal,
    run: &agent_run::Model,
    after_seq: i32,
) -> impl Stream<Item = AppResult<RunEvent>> + use<> {
    let watcher = Watcher {
        db: state.db.clone(),
        principal,
        workspace_id: run.workspace_id.clone(),
        workroom_id: run.workroom_id.clone(),
        checked: Instant::now(),
        woken: state.hub.runs().watch(&run.id),
        run_id: run.id.clone(),
        last: after_seq,
        ready: VecDeque::new(),
        done: false,
    };
    futures_util::stream::unfold(watcher, |mut watcher| async move {
        let next = watcher.next().await?;
        Some((next, watcher))
    })
}
