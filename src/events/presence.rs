//! Who is watching a workroom: join and leave events, fanned out in-process
//! and, on PostgreSQL, to the other servers; and the list of viewers, kept in
//! the database with an expiry refreshed while they watch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use entity::{user, workroom_viewer};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, EntityTrait, QueryFilter, Statement,
};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::error::AppResult;
use crate::tokens::new_id;

pub const CHANNEL: &str = "atrium_presence";
/// How long a viewer counts without a heartbeat.
pub const VIEWER_TTL_SECS: i64 = 60;
const ROOM_CAPACITY: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PresenceKind {
    Joined,
    Left,
}

impl PresenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceKind::Joined => "presence.joined",
            PresenceKind::Left => "presence.left",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PresenceEvent {
    pub kind: PresenceKind,
    pub workroom_id: String,
    pub user_id: String,
    pub user_name: String,
    pub user_email: String,
    pub at: DateTime<Utc>,
    /// The server that sent it, so it is not delivered twice there.
    pub origin: String,
}

/// The in-process presence channels, one per watched workroom.
pub struct Rooms {
    instance: String,
    rooms: Mutex<HashMap<String, broadcast::Sender<Arc<PresenceEvent>>>>,
}

impl Default for Rooms {
    fn default() -> Self {
        Self {
            instance: new_id(),
            rooms: Mutex::new(HashMap::new()),
        }
    }
}

impl Rooms {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Arc<PresenceEvent>>>> {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn subscribe(&self, workroom_id: &str) -> broadcast::Receiver<Arc<PresenceEvent>> {
        let mut rooms = self.lock();
        rooms.retain(|_, tx| tx.receiver_count() > 0);
        rooms
            .entry(workroom_id.to_owned())
            .or_insert_with(|| broadcast::channel(ROOM_CAPACITY).0)
            .subscribe()
    }

    fn deliver(&self, event: PresenceEvent) {
        if let Some(tx) = self.lock().get(&event.workroom_id) {
            let _ = tx.send(Arc::new(event));
        }
    }

    /// A notification from another server.
    pub fn deliver_remote(&self, payload: &str) {
        match serde_json::from_str::<PresenceEvent>(payload) {
            Ok(event) if event.origin != self.instance => self.deliver(event),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "malformed presence notification"),
        }
    }

    /// Tells every watcher of the workroom, here and on the other servers.
    pub async fn announce(
        &self,
        db: &DatabaseConnection,
        kind: PresenceKind,
        workroom_id: &str,
        user: &user::Model,
    ) {
        let event = PresenceEvent {
            kind,
            workroom_id: workroom_id.to_owned(),
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            user_email: user.email.clone(),
            at: Utc::now(),
            origin: self.instance.clone(),
        };
        if db.get_database_backend() == DbBackend::Postgres
            && let Ok(payload) = serde_json::to_string(&event)
        {
            let notify = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            );
            if let Err(err) = db.execute_raw(notify).await {
                tracing::warn!(error = %err, "presence notification failed");
            }
        }
        self.deliver(event);
    }
}

/// Records a viewer; returns the row id to refresh and remove.
pub async fn add_viewer(
    db: &DatabaseConnection,
    workroom_id: &str,
    user_id: &str,
) -> AppResult<String> {
    let id = new_id();
    workroom_viewer::ActiveModel {
        id: Set(id.clone()),
        workroom_id: Set(workroom_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        expires_at: Set(Utc::now() + Duration::seconds(VIEWER_TTL_SECS)),
    }
    .insert(db)
    .await?;
    Ok(id)
}

pub async fn refresh_viewer(db: &DatabaseConnection, id: &str) -> AppResult<()> {
    workroom_viewer::Entity::update_many()
        .col_expr(
            workroom_viewer::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(Utc::now() + Duration::seconds(VIEWER_TTL_SECS)),
        )
        .filter(workroom_viewer::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn remove_viewer(db: &DatabaseConnection, id: &str) -> AppResult<()> {
    workroom_viewer::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// The users watching a workroom now.
pub async fn viewers(db: &impl ConnectionTrait, workroom_id: &str) -> AppResult<Vec<user::Person>> {
    let ids: Vec<String> = workroom_viewer::Entity::find()
        .filter(workroom_viewer::Column::WorkroomId.eq(workroom_id))
        .filter(workroom_viewer::Column::ExpiresAt.gt(Utc::now()))
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.user_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut users: Vec<user::Person> = user::Person::by_id(db, ids).await?.into_values().collect();
    users.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(users)
}
