//! Live subscriptions: the activity feed and workroom events, over
//! WebSocket. Each event is checked against the subscriber's access at the
//! moment it is delivered.

pub mod shared;
mod viewing;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, Json, Object, Subscription};
use chrono::{DateTime, Utc};
use entity::{activity_event, user};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::access::{Access, Capability, Membership, Principal, Redaction, requires};
use crate::activity::ActivityEvent;
use crate::activity::service::parse_cursor;
use crate::auth::{Identity, User};
use crate::context::{ContextExt, id_arg};
use crate::error::{AppError, AppResult};
use crate::events::presence::{self, PresenceEvent};
use crate::runs::{self, RunEvent};
use crate::workrooms;
use shared::Handoff;
use viewing::Viewing;
use watch::{Step, Watch};

/// Something that happened in a workroom: a change to it, or someone
/// starting or stopping to watch it.
pub enum WorkroomEvent {
    Activity(Arc<crate::events::FeedEvent>, Redaction),
    Presence(Arc<PresenceEvent>),
}

/// Something that happened in a workroom: a change to it, or someone
/// starting or stopping to watch it. A value object: it has no id, and
/// client caches keep it where it arrived.
#[Object]
impl WorkroomEvent {
    /// `workroom.updated`, `presence.joined`, `presence.left`, …
    async fn kind(&self) -> &str {
        match self {
            Self::Activity(e, _) => &e.model.action,
            Self::Presence(p) => p.kind.as_str(),
        }
    }

    /// The workroom's id.
    async fn workroom_id(&self) -> ID {
        match self {
            Self::Activity(e, _) => ID(e.model.workroom_id.clone().unwrap_or_default()),
            Self::Presence(p) => ID(p.workroom_id.clone()),
        }
    }

    /// Who made the change, or who started or stopped watching; null for
    /// the system.
    async fn actor(&self) -> Option<User> {
        match self {
            Self::Activity(e, _) => e.actor.clone().map(User),
            Self::Presence(p) => Some(User(user::Person {
                id: p.user_id.clone(),
                email: p.user_email.clone(),
                name: p.user_name.clone(),
            })),
        }
    }

    /// For changes, the before/after of the changed fields; for presence,
    /// `{"userId": …}`.
    async fn data(&self) -> Option<Json<serde_json::Value>> {
        match self {
            Self::Activity(e, redaction) => redaction
                .changes(&e.model.action, e.model.changes.as_ref())
                .map(Json),
            Self::Presence(p) => Some(Json(serde_json::json!({ "userId": p.user_id }))),
        }
    }

    /// The activity cursor of a change; null for presence.
    async fn cursor(&self) -> Option<String> {
        match self {
            Self::Activity(e, _) => Some(crate::activity::service::cursor(&e.model)),
            Self::Presence(_) => None,
        }
    }

    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Activity(e, _) => e.model.created_at,
            Self::Presence(p) => p.at,
        }
    }
}

/// The caller, and when its access token expires (keys do not).
async fn identity(ctx: &Context<'_>) -> AppResult<(Principal, Option<i64>)> {
    let principal = ctx.caller().await?;
    let expires_at = match principal.key() {
        Some(key) => key.valid_until.map(|at| at.timestamp()),
        None => ctx.data_opt::<Identity>().and_then(|i| i.expires_at),
    };
    Ok((principal, expires_at))
}

#[derive(Default)]
pub struct LiveSubscription;

/// Live streams over the WebSocket at `/graphql/ws` (graphql-transport-ws,
/// or the legacy graphql-ws protocol). Authenticate in `connection_init`
/// with `{"authorization": "Bearer <accessToken>"}`; without a token every
/// subscription answers UNAUTHENTICATED.
#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// The workspace's activity as it commits. With `after` (a cursor from
    /// `ActivityEvent.cursor`), first every later event, then live — in
    /// commit order, with no gap and no duplicate. Ends with an error when the
    /// caller loses access or the access token expires.
    #[graphql(directive = requires::apply(Capability::ReadActivity))]
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(
            desc = "Replay every event after this cursor (an `ActivityEvent.cursor`, or \"0\" for the beginning), then go live; live only when absent. A cursor that names no event of the workspace is BAD_USER_INPUT."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ActivityEvent>> + use<>>
    {
        let (principal, expires_at) = identity(ctx).await?;
        let workspace_id = id_arg("workspaceId", &workspace_id)?;
        let viewer = ctx.membership(workspace_id).await?;
        viewer.require(Capability::ReadActivity)?;
        let after = match after {
            Some(cursor) => Some(known_cursor(ctx, &viewer, &cursor).await?),
            None => None,
        };
        let watch = Watch::start(ctx.state().clone(), viewer, principal, after, expires_at).await?;
        // Over a WebSocket the connection delivers shared payloads itself.
        let watch = match ctx.data_opt::<Handoff>() {
            Some(handoff) => handoff.offer(watch),
            None => Some(watch),
        };
        Ok(futures_util::stream::unfold(watch, |watch| async move {
            let mut watch = watch?;
            let next = watch.next().await?;
            let redaction = watch.redaction();
            Some((
                next.map(|event| ActivityEvent::new(event, redaction))
                    .map_err(async_graphql::Error::from),
                Some(watch),
            ))
        }))
    }

    /// Changes to one workroom and who starts or stops watching it. While
    /// subscribed, the caller is listed in `Workroom.viewers`.
    #[graphql(directive = requires::apply(Capability::ReadWorkroom))]
    async fn workroom_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom's id.")] workroom_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<WorkroomEvent>> + use<>>
    {
        let (principal, expires_at) = identity(ctx).await?;
        let workroom_id = id_arg("workroomId", &workroom_id)?.to_owned();
        let room = workrooms::service::find(ctx.db(), &workroom_id).await?;
        let viewer = ctx
            .membership(&room.workspace_id)
            .await
            .map_err(workrooms::service::as_workroom_not_found)?;
        workrooms::service::ensure_visible(&viewer, &workroom_id)?;
        let state = ctx.state().clone();
        // A person is listed as viewing; a workspace key, being no one,
        // watches unlisted.
        let me = match principal.person_id() {
            Some(_) => Some(ctx.current_user().await?),
            None => None,
        };
        let presence_rx = state.hub.presence().subscribe(&workroom_id);
        let watch = Watch::start(state.clone(), viewer, principal, None, expires_at).await?;
        let viewing = match me {
            Some(me) => Some(Viewing::start(state, workroom_id.clone(), me).await?),
            None => None,
        };
        let room_watch = RoomWatch {
            access: watch.viewer.workroom_access(&workroom_id),
            redaction: watch.redaction(),
            steps: steps(watch, workroom_id.clone()),
            workroom_id,
            viewing,
            presence_rx,
            heartbeat: tokio::time::interval(Duration::from_secs(
                (presence::VIEWER_TTL_SECS / 3) as u64,
            )),
            done: false,
        };
        Ok(futures_util::stream::unfold(
            room_watch,
            |mut room| async move {
                let next = room.next().await?;
                Some((next.map_err(async_graphql::Error::from), room))
            },
        ))
    }

    /// A run's events after `afterSeq` (from the first when absent), then
    /// each new one as it happens, with no gap and no duplicate; ends after
    /// the terminal event (`run.succeeded`, `run.failed`, `run.cancelled`).
    /// Disconnecting never cancels the run.
    #[graphql(directive = requires::apply(Capability::ReadWorkroom))]
    async fn run_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run's id.")] run_id: ID,
        #[graphql(desc = "Replay events after this seq; from the first when absent.")]
        after_seq: Option<i32>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<RunEvent>> + use<>> {
        let principal = ctx.caller().await?;
        let after_seq = after_seq.unwrap_or(0);
        if after_seq < 0 {
            return Err(AppError::bad_input("afterSeq", "afterSeq must not be negative").into());
        }
        let run = runs::service::find_visible(ctx, &run_id).await?;
        Ok(
            runs::watch::events_after(ctx.state(), principal, &run.model, after_seq)
                .map(|event| event.map_err(async_graphql::Error::from)),
        )
    }
}

/// A cursor must name an event of this workspace (or be 0, the beginning).
/// One older than what retention keeps is CURSOR_EXPIRED.
async fn known_cursor(ctx: &Context<'_>, viewer: &Membership, cursor: &str) -> AppResult<i64> {
    let seq = parse_cursor(cursor)?;
    if seq == 0 {
        return Ok(0);
    }
    crate::activity::retention::check_cursor(&viewer.workspace, seq)?;
    let workspace_id = viewer.workspace_id();
    let known = activity_event::Entity::find()
        .filter(activity_event::Column::WorkspaceId.eq(workspace_id))
        .filter(activity_event::Column::Seq.eq(seq))
        .count(ctx.db())
        .await?;
    if known == 0 {
        return Err(AppError::bad_input(
            "after",
            "this cursor names no retained event of this workspace; read the feed again",
        ));
    }
    Ok(seq)
}

/// One subscriber of a workroom: its changes from the workspace feed, and
/// presence. Leaving (the stream dropped) is announced.
struct RoomWatch {
    workroom_id: String,
    /// Its listing among the workroom's viewers; None for a workspace key.
    viewing: Option<Viewing>,
    /// The feed's steps. A stream, not a call per wait: a presence event
    /// arriving meanwhile must not restart a catch-up or an access reload.
    steps: BoxStream<'static, (AppResult<Step>, (Access, Redaction))>,
    /// The subscriber's access to the workroom after the latest step.
    access: Access,
    /// What its access hides of events' changes.
    redaction: Redaction,
    presence_rx: broadcast::Receiver<Arc<PresenceEvent>>,
    heartbeat: tokio::time::Interval,
    done: bool,
}

/// Each step of the watch, with the subscriber's access to the workroom
/// after it.
fn steps(
    watch: Watch,
    workroom_id: String,
) -> BoxStream<'static, (AppResult<Step>, (Access, Redaction))> {
    futures_util::stream::unfold(watch, move |mut watch| {
        let workroom_id = workroom_id.clone();
        async move {
            let step = watch.step().await?;
            let access = (
                watch.viewer.workroom_access(&workroom_id),
                watch.redaction(),
            );
            Some(((step, access), watch))
        }
    })
    .boxed()
}

impl RoomWatch {
    async fn next(&mut self) -> Option<AppResult<WorkroomEvent>> {
        loop {
            if self.done {
                return None;
            }
            // Access may have changed with an event this subscriber does not
            // see (the MEMBERS area hidden); check before every delivery.
            if self.access < Access::View {
                self.done = true;
                return Some(Err(AppError::NotFound("workroom")));
            }
            tokio::select! {
                step = self.steps.next() => match step {
                    Some((Ok(Step::Event(event)), (access, redaction))) => {
                        self.access = access;
                        self.redaction = redaction;
                        if access >= Access::View
                            && event.model.workroom_id.as_deref() == Some(self.workroom_id.as_str())
                        {
                            return Some(Ok(WorkroomEvent::Activity(event, self.redaction)));
                        }
                    }
                    // Checked at the top of the loop.
                    Some((Ok(Step::AccessChanged), (access, redaction))) => {
                        self.access = access;
                        self.redaction = redaction;
                    }
                    Some((Err(err), _)) => {
                        self.done = true;
                        return Some(Err(err));
                    }
                    None => return None,
                },
                presence = self.presence_rx.recv() => match presence {
                    Ok(event) if self.access >= Access::View => {
                        return Some(Ok(WorkroomEvent::Presence(event)));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                _ = self.heartbeat.tick() => {
                    if let Some(viewing) = &mut self.viewing {
                        viewing.refresh().await;
                    }
                }
            }
        }
    }
}
