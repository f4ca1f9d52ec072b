//! One subscriber's view of a workspace's activity: replay from a cursor,
//! then live events, each checked against the subscriber's current access.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Sleep};

use crate::access::{Audience, Membership, Principal, Redaction, WorkroomScope};
use crate::activity::Action;
use crate::error::{AppError, AppResult};
use crate::events::{FeedEvent, read_range};
use crate::state::AppState;

const CATCH_UP_BATCH: u64 = 500;

fn expired_token() -> AppError {
    AppError::Unauthenticated("the access token expired: renew it and subscribe again")
}

/// What a subscriber's watch yields.
pub enum Step {
    Event(Arc<FeedEvent>),
    AccessChanged,
}

pub struct Watch {
    state: AppState,
    principal: Principal,
    /// For a key: revoked keys' ids, to end the watch when it is one.
    revocations: Option<broadcast::Receiver<Arc<str>>>,
    pub viewer: Membership,
    /// Which events the viewer may see, kept with it.
    audience: Audience,
    rx: broadcast::Receiver<Arc<FeedEvent>>,
    /// The newest `seq` already judged.
    sent: i64,
    backlog: VecDeque<Arc<FeedEvent>>,
    /// An event taken but not yet judged (kept if a wait is cancelled).
    pending: Option<Arc<FeedEvent>>,
    catching_up: bool,
    /// When the access token expires, ending the watch.
    expiry: Option<Pin<Box<Sleep>>>,
    done: bool,
}

impl Watch {
    /// Subscribes first, then (with `after`) replays from the database, so
    /// nothing falls between replay and live.
    pub async fn start(
        state: AppState,
        viewer: Membership,
        principal: Principal,
        after: Option<i64>,
        expires_at: Option<i64>,
    ) -> AppResult<Self> {
        let (rx, position) = state.hub.subscribe(viewer.workspace_id()).await?;
        let (sent, catching_up) = match after {
            Some(after) => (after, after < position),
            None => (position, false),
        };
        let revocations = principal.key().map(|_| state.hub.revocations());
        Ok(Self {
            audience: Audience::of(&viewer),
            state,
            principal,
            revocations,
            viewer,
            rx,
            sent,
            backlog: VecDeque::new(),
            pending: None,
            catching_up,
            expiry: expires_at.map(|exp| {
                let left = (exp * 1000 - Utc::now().timestamp_millis()).max(0) as u64;
                Box::pin(tokio::time::sleep(Duration::from_millis(left)))
            }),
            done: false,
        })
    }

    /// What this subscriber's access hides of events' changes.
    pub fn redaction(&self) -> Redaction {
        Redaction::for_reader(&self.viewer)
    }

    fn finish<T>(&mut self, err: AppError) -> Option<AppResult<T>> {
        self.done = true;
        Some(Err(err))
    }

    async fn catch_up(&mut self) -> AppResult<()> {
        let up_to = self.state.hub.position(self.viewer.workspace_id());
        let events = read_range(
            &self.state.db,
            self.viewer.workspace_id(),
            self.sent,
            up_to,
            CATCH_UP_BATCH,
        )
        .await?;
        self.catching_up = events.len() as u64 == CATCH_UP_BATCH;
        self.backlog.extend(events.into_iter().map(Arc::new));
        Ok(())
    }

    async fn next_raw(&mut self) -> Option<AppResult<Arc<FeedEvent>>> {
        if let Some(event) = self.pending.take() {
            return Some(Ok(event));
        }
        loop {
            // Checked before every event: a subscriber never short of
            // events (replaying, or on a busy feed) would otherwise never
            // see its token expire. The deadline, not the timer: a timer
            // never polled never reports that it elapsed.
            if self
                .expiry
                .as_ref()
                .is_some_and(|expiry| expiry.deadline() <= Instant::now())
            {
                return Some(Err(expired_token()));
            }
            if let Some(event) = self.backlog.pop_front() {
                return Some(Ok(event));
            }
            if self.catching_up {
                // Boxed: a rare wait should not grow every idle subscriber.
                if let Err(err) = Box::pin(self.catch_up()).await {
                    return Some(Err(err));
                }
                continue;
            }
            let expired = async {
                match self.expiry.as_mut() {
                    Some(expiry) => expiry.await,
                    None => std::future::pending().await,
                }
            };
            let key_id = self.principal.key().map(|k| k.id.clone());
            // Resolves with true when this key was revoked, with false when
            // revocations were missed (then the key is checked again).
            let revoked = async {
                match (self.revocations.as_mut(), key_id.as_deref()) {
                    (Some(rx), Some(id)) => loop {
                        match rx.recv().await {
                            Ok(revoked) if *revoked == *id => return true,
                            Ok(revoked) if &*revoked == crate::events::ANY_KEY => return false,
                            Ok(_) => continue,
                            Err(RecvError::Lagged(_)) => return false,
                            Err(RecvError::Closed) => std::future::pending::<()>().await,
                        }
                    },
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                received = self.rx.recv() => match received {
                    Ok(event) => return Some(Ok(event)),
                    // Fell behind the bounded buffer: read the gap from the
                    // database, then go on live.
                    Err(RecvError::Lagged(_)) => {
                        self.catching_up = true;
                        self.state.metrics.activity_catch_ups.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => return None,
                },
                () = expired => return Some(Err(expired_token())),
                definite = revoked => {
                    if definite {
                        return Some(Err(AppError::Unauthenticated("this API key was revoked")));
                    }
                    if let Some(key) = self.principal.key()
                        && let Err(err) =
                            crate::access::load::still_valid(&self.state.db, &key.id).await
                    {
                        return Some(Err(err));
                    }
                }
            }
        }
    }

    /// The next event this subscriber may see; an error ends the stream.
    pub async fn next(&mut self) -> Option<AppResult<Arc<FeedEvent>>> {
        loop {
            match self.step().await? {
                Ok(Step::Event(event)) => return Some(Ok(event)),
                Ok(Step::AccessChanged) => continue,
                Err(err) => return Some(Err(err)),
            }
        }
    }

    /// The next event this subscriber may see, or word that its access was
    /// read again after an event it may not see.
    pub async fn step(&mut self) -> Option<AppResult<Step>> {
        loop {
            if self.done {
                return None;
            }
            let event = match self.next_raw().await? {
                Ok(event) => event,
                Err(err) => return self.finish(err),
            };
            if event.model.seq <= self.sent {
                continue;
            }
            // A member limited to selected workrooms is given the ones it
            // makes, without a membership event.
            let action = Action::parse(&event.model.action);
            let made_by_me = action == Some(Action::WorkroomCreated)
                && event.model.actor_id.as_deref() == self.viewer.user_id()
                && matches!(self.viewer.effective.scope(), WorkroomScope::Selected(_));
            let reload = action.is_some_and(Action::changes_access) || made_by_me;
            if reload {
                self.pending = Some(event.clone());
                let reloaded = Box::pin(crate::access::load::visible(
                    &self.state.db,
                    self.viewer.workspace_id(),
                    &self.principal,
                ))
                .await;
                self.pending = None;
                match reloaded {
                    Ok(viewer) => {
                        self.audience = Audience::of(&viewer);
                        self.viewer = viewer;
                    }
                    Err(err) => return self.finish(err),
                }
            }
            self.sent = event.model.seq;
            if self
                .audience
                .admits(&event.model.area, event.model.workroom_id.as_deref())
            {
                return Some(Ok(Step::Event(event)));
            }
            if reload {
                return Some(Ok(Step::AccessChanged));
            }
        }
    }
}
