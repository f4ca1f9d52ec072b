//! The event bus. Activity rows, committed by the domain services, are read
//! back in commit order by one tailer per server and fanned out in-process to
//! the subscribers of each workspace through a bounded broadcast channel.
//!
//! Within a workspace, `activity_events.seq` grows in commit order (every
//! write holds the workspace's row lock while it inserts its event), so a
//! cursor on `seq` never skips a row that commits late. The tailer is woken
//! after each request of this server, by PostgreSQL `NOTIFY` (sent inside the
//! writing transaction, so only on commit) for writes of other servers, and by
//! a timer; a notification lost while the listener reconnects only delays
//! delivery until the next catch-up.

mod listener;
pub mod presence;
pub mod runs;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entity::{activity_event, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use tokio::sync::{Notify, OnceCell, broadcast};

use crate::error::AppResult;
use crate::metrics::Metrics;
pub use presence::{PresenceEvent, PresenceKind};

const BATCH: u64 = 500;
/// How often every live feed is checked, whatever woke it before.
const SQLITE_TICK: Duration = Duration::from_millis(250);
const POSTGRES_TICK: Duration = Duration::from_secs(1);

/// PostgreSQL channel carrying the id of a workspace with new activity.
pub const ACTIVITY_CHANNEL: &str = "atrium_activity";
/// Sent as a revoked key's id when revocations may have been missed: every
/// key's subscriptions check their key again.
pub const ANY_KEY: &str = "*";
/// Where a revoked API key's id is announced to every server.
pub const KEYS_CHANNEL: &str = "atrium_key_revoked";

/// Announces, on commit, that a key was revoked (PostgreSQL: to every
/// server; the revoking server also tells its own subscribers at once).
pub async fn notify_key_revoked(db: &impl ConnectionTrait, key_id: &str) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [KEYS_CHANNEL.into(), key_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A committed activity event with its actor, shared by every subscriber.
pub struct FeedEvent {
    pub model: activity_event::Model,
    pub actor: Option<user::Person>,
    /// What subscribers were sent for this event, rendered once per distinct
    /// operation.
    pub renders: Renders,
}

impl FeedEvent {
    pub fn new(model: activity_event::Model, actor: Option<user::Person>) -> Self {
        Self {
            model,
            actor,
            renders: Renders::default(),
        }
    }
}

/// Payloads rendered from one event, each keyed by the operation that
/// renders it, so subscribers who would get identical payloads share one.
#[derive(Default)]
pub struct Renders {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    slots: Vec<(Arc<str>, PayloadSlot)>,
    bytes: usize,
    /// Set once the event is old: late readers render their own.
    retired: bool,
}

/// One operation's payload for one event, once rendered.
pub type PayloadSlot = Arc<OnceCell<Arc<str>>>;

/// Most payloads, and bytes of payloads, kept with one event; past these,
/// subscribers of further operations render their own.
const RENDERS_KEPT: usize = 32;
const RENDER_BYTES_KEPT: usize = 256 << 10;
/// Events of a feed whose payloads are kept; older ones drop theirs, so
/// what the feed's buffer holds stays small.
const RENDERED_EVENTS: usize = 64;

impl Renders {
    /// The payload slot of one operation: filled by the first subscriber
    /// that renders it, read by the rest. None when the event keeps enough
    /// payloads already.
    pub fn slot(&self, key: &Arc<str>) -> Option<PayloadSlot> {
        let mut kept = self.lock();
        if let Some((_, slot)) = kept.slots.iter().find(|(k, _)| same_key(k, key)) {
            return Some(slot.clone());
        }
        if kept.retired || kept.slots.len() >= RENDERS_KEPT || kept.bytes >= RENDER_BYTES_KEPT {
            return None;
        }
        let slot = Arc::new(OnceCell::new());
        kept.slots.push((key.clone(), slot.clone()));
        Some(slot)
    }

    /// Counts a payload just rendered into the slot of `key`. One that
    /// would take the event past its byte budget is not kept: its slot is
    /// dropped once the subscribers waiting on it have their copy.
    pub fn kept(&self, key: &Arc<str>, bytes: usize) {
        let mut kept = self.lock();
        if kept.retired {
            return;
        }
        if kept.bytes + bytes > RENDER_BYTES_KEPT {
            kept.slots.retain(|(k, _)| !same_key(k, key));
        } else {
            kept.bytes += bytes;
        }
    }

    fn retire(&self) {
        let mut kept = self.lock();
        kept.retired = true;
        kept.slots = Vec::new();
        kept.bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Operation keys are interned, so the pointer usually answers.
fn same_key(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

struct Feed {
    tx: broadcast::Sender<Arc<FeedEvent>>,
    /// The newest `seq` sent on `tx`.
    position: i64,
    /// The newest events, which keep their rendered payloads.
    rendered: VecDeque<Arc<FeedEvent>>,
}

struct Inner {
    db: DatabaseConnection,
    /// Where the delivery lag is recorded.
    metrics: Arc<Metrics>,
    /// Events each feed buffers.
    capacity: usize,
    feeds: Mutex<HashMap<String, Feed>>,
    dirty: Mutex<Dirty>,
    wake: Notify,
    presence: presence::Rooms,
    /// Ids of revoked API keys, for the subscriptions they hold.
    revoked: broadcast::Sender<Arc<str>>,
    runs: runs::Signals,
}

#[derive(Default)]
struct Dirty {
    all: bool,
    workspaces: HashSet<String>,
}

/// The event bus of one server.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl Hub {
    pub fn new(db: DatabaseConnection, capacity: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                metrics,
                capacity: capacity.max(1),
                feeds: Mutex::new(HashMap::new()),
                dirty: Mutex::new(Dirty::default()),
                wake: Notify::new(),
                presence: presence::Rooms::default(),
                runs: Arc::default(),
                revoked: broadcast::channel(64).0,
            }),
        }
    }

    /// Ends the subscriptions a revoked key holds on this server.
    pub fn key_revoked(&self, key_id: &str) {
        let _ = self.inner.revoked.send(Arc::from(key_id));
    }

    /// Revoked keys' ids, as they are revoked.
    pub fn revocations(&self) -> broadcast::Receiver<Arc<str>> {
        self.inner.revoked.subscribe()
    }

    /// Wake-ups of run watchers and workers.
    pub fn runs(&self) -> &runs::RunSignals {
        &self.inner.runs
    }

    pub(crate) fn presence(&self) -> &presence::Rooms {
        &self.inner.presence
    }

    /// Something may have been written: check every live feed now.
    pub fn poke(&self) {
        if let Ok(mut dirty) = self.inner.dirty.lock() {
            dirty.all = true;
        }
        self.inner.wake.notify_one();
    }

    /// A workspace has new activity (from another server).
    pub fn poke_workspace(&self, workspace_id: &str) {
        if let Ok(mut dirty) = self.inner.dirty.lock() {
            dirty.workspaces.insert(workspace_id.to_owned());
        }
        self.inner.wake.notify_one();
    }

    /// Joins a workspace's live feed. Returns the receiver and the newest
    /// `seq` already sent on it: everything after it arrives on the receiver.
    pub async fn subscribe(
        &self,
        workspace_id: &str,
    ) -> AppResult<(broadcast::Receiver<Arc<FeedEvent>>, i64)> {
        if let Some(joined) = self.join_existing(workspace_id) {
            return Ok(joined);
        }
        let newest = newest_seq(&self.inner.db, workspace_id).await?;
        let mut feeds = self.lock_feeds();
        let feed = feeds
            .entry(workspace_id.to_owned())
            .or_insert_with(|| Feed {
                tx: broadcast::channel(self.inner.capacity).0,
                position: newest,
                rendered: VecDeque::new(),
            });
        Ok((feed.tx.subscribe(), feed.position))
    }

    fn join_existing(
        &self,
        workspace_id: &str,
    ) -> Option<(broadcast::Receiver<Arc<FeedEvent>>, i64)> {
        let feeds = self.lock_feeds();
        feeds
            .get(workspace_id)
            .map(|feed| (feed.tx.subscribe(), feed.position))
    }

    /// Live feeds and their subscribers, for `/metrics`.
    pub fn load(&self) -> (usize, usize) {
        let feeds = self.lock_feeds();
        let subscribers = feeds.values().map(|f| f.tx.receiver_count()).sum();
        (feeds.len(), subscribers)
    }

    /// The newest `seq` sent on a workspace's feed.
    pub fn position(&self, workspace_id: &str) -> Option<i64> {
        self.lock_feeds().get(workspace_id).map(|f| f.position)
    }

    fn lock_feeds(&self) -> std::sync::MutexGuard<'_, HashMap<String, Feed>> {
        self.inner
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the tailer (and, on PostgreSQL, the listener).
    pub fn start(&self) {
        let backend = self.inner.db.get_database_backend();
        let tick = if backend == DbBackend::Postgres {
            listener::spawn(self.clone());
            POSTGRES_TICK
        } else {
            SQLITE_TICK
        };
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = hub.inner.wake.notified() => {}
                    () = tokio::time::sleep(tick) => hub.mark_all(),
                }
                if let Err(err) = hub.tail().await {
                    tracing::warn!(error = %err, "reading new activity failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    hub.mark_all();
                }
            }
        });
    }

    fn mark_all(&self) {
        if let Ok(mut dirty) = self.inner.dirty.lock() {
            dirty.all = true;
        }
    }

    /// Reads what is new for the feeds that may have news, and sends it.
    async fn tail(&self) -> AppResult<()> {
        let dirty = {
            let mut dirty = self
                .inner
                .dirty
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::take(&mut *dirty)
        };
        let targets: Vec<(String, i64)> = {
            let mut feeds = self.lock_feeds();
            // Feeds nobody listens to any more are dropped.
            feeds.retain(|_, feed| feed.tx.receiver_count() > 0);
            feeds
                .iter()
                .filter(|(id, _)| dirty.all || dirty.workspaces.contains(*id))
                .map(|(id, feed)| (id.clone(), feed.position))
                .collect()
        };
        for (workspace_id, position) in targets {
            let mut from = position;
            loop {
                let events = read_after(&self.inner.db, &workspace_id, from, BATCH).await?;
                let Some(last) = events.last() else { break };
                from = last.model.seq;
                let full = events.len() as u64 == BATCH;
                let mut feeds = self.lock_feeds();
                let Some(feed) = feeds.get_mut(&workspace_id) else {
                    break;
                };
                for event in events {
                    if event.model.seq > feed.position {
                        feed.position = event.model.seq;
                        let lag = chrono::Utc::now() - event.model.created_at;
                        self.inner
                            .metrics
                            .observe_delivery(lag.to_std().unwrap_or_default());
                        let event = Arc::new(event);
                        // No receivers is fine: they may have just left.
                        let _ = feed.tx.send(event.clone());
                        feed.rendered.push_back(event);
                        if feed.rendered.len() > RENDERED_EVENTS
                            && let Some(old) = feed.rendered.pop_front()
                        {
                            old.renders.retire();
                        }
                    }
                }
                if !full {
                    break;
                }
            }
        }
        Ok(())
    }
}

async fn newest_seq(db: &DatabaseConnection, workspace_id: &str) -> AppResult<i64> {
    let newest: Option<i64> = activity_event::Entity::find()
        .filter(activity_event::Column::WorkspaceId.eq(workspace_id))
        .select_only()
        .column_as(activity_event::Column::Seq.max(), "newest")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    Ok(newest.unwrap_or(0))
}

/// Events of a workspace after `seq`, oldest first, with their actors.
pub async fn read_after(
    db: &DatabaseConnection,
    workspace_id: &str,
    after: i64,
    limit: u64,
) -> AppResult<Vec<FeedEvent>> {
    read_range(db, workspace_id, after, None, limit).await
}

/// Events of a workspace in `(after, up_to]`, oldest first, with their actors.
pub async fn read_range(
    db: &DatabaseConnection,
    workspace_id: &str,
    after: i64,
    up_to: Option<i64>,
    limit: u64,
) -> AppResult<Vec<FeedEvent>> {
    let mut query = activity_event::Entity::find()
        .filter(activity_event::Column::WorkspaceId.eq(workspace_id))
        .filter(activity_event::Column::Seq.gt(after));
    if let Some(up_to) = up_to {
        query = query.filter(activity_event::Column::Seq.lte(up_to));
    }
    let rows = query
        .order_by_asc(activity_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?;
    with_actors(db, rows).await
}

/// Pairs events with their actors in one query.
pub async fn with_actors(
    db: &impl ConnectionTrait,
    rows: Vec<activity_event::Model>,
) -> AppResult<Vec<FeedEvent>> {
    let actor_ids: HashSet<String> = rows.iter().filter_map(|r| r.actor_id.clone()).collect();
    let actors = user::Person::by_id(db, actor_ids).await?;
    Ok(rows
        .into_iter()
        .map(|model| {
            let actor = model
                .actor_id
                .as_ref()
                .and_then(|id| actors.get(id))
                .cloned();
            FeedEvent::new(model, actor)
        })
        .collect())
}
