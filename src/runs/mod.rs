//! Agent runs: an agent (or a bare model call) on an input inside a
//! workroom. `startRun` reserves credits and queues the run; a worker of
//! some server claims it under a lease and streams the reply into
//! `run_events`, which everyone who may see the workroom can replay and
//! watch. A run ends exactly once (succeeded, failed, cancelled, or failed
//! when its server stopped), and its ending settles its credits.

pub mod archive;
mod finish;
pub mod service;
pub mod watch;
pub mod worker;

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{agent_run, run_event};

use crate::access::{Capability, Membership, requires};
use crate::context::ContextExt;
use crate::error::AppResult;

/// A run as one member of its workspace sees it.
pub struct AgentRun {
    pub model: agent_run::Model,
    pub viewer: Membership,
}

impl AgentRun {
    /// The run with this id, as `viewer` holds it; None when there is none.
    pub async fn by_id(
        db: &impl sea_orm::ConnectionTrait,
        viewer: &Membership,
        id: Option<&String>,
    ) -> AppResult<Option<Self>> {
        let Some(id) = id else { return Ok(None) };
        Ok(<agent_run::Entity as sea_orm::EntityTrait>::find_by_id(id)
            .one(db)
            .await?
            .map(|model| AgentRun {
                model,
                viewer: viewer.clone(),
            }))
    }
}

/// One event of a run: `run.queued`, `run.started`, `run.delta` (`data.text`:
/// the next piece of output), `run.succeeded`, `run.failed`,
/// `run.cancelled`. Numbered from 1; the terminal event is always the last.
///
/// A value object: it has no id (a run and a seq name it), and client
/// caches keep it where it arrived.
#[derive(SimpleObject, Clone, Debug)]
pub struct RunEvent {
    /// The run's id.
    pub run_id: ID,
    /// 1, 2, … in the order they happened.
    pub seq: i32,
    /// What happened.
    #[graphql(name = "type")]
    pub kind: String,
    /// `run.delta`: `{"text": …}`; `run.failed`: `{"error": …}`; terminal
    /// events: `{"creditsUsed": …}`.
    pub data: Option<Json<serde_json::Value>>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl From<run_event::Model> for RunEvent {
    fn from(row: run_event::Model) -> Self {
        Self {
            run_id: ID(row.run_id),
            seq: row.seq,
            kind: row.kind,
            data: row.data.map(Json),
            at: row.at,
        }
    }
}

/// What to run, where, and how much it may spend.
#[derive(InputObject)]
pub struct StartRunInput {
    /// The workroom it runs in.
    pub workroom_id: ID,
    /// The agent to run (its current version); a bare model call when absent.
    pub agent_id: Option<ID>,
    /// The input: 1 to `RUN_INPUT_MAX_CHARS` characters (default 20,000).
    pub input: String,
    /// A task of the workroom the run belongs to.
    pub task_id: Option<ID>,
    /// Credits reserved for the run (1 to `RUN_MAX_CREDITS_LIMIT`); the run
    /// stops when they are spent. `RUN_DEFAULT_MAX_CREDITS` (100) when absent.
    pub max_credits: Option<i32>,
}

#[derive(Default)]
pub struct RunQuery;

#[Object]
impl RunQuery {
    /// One run; NOT_FOUND unless the caller may see its workroom.
    async fn agent_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run's id.")] id: ID,
    ) -> AppResult<Option<AgentRun>> {
        service::find_visible(ctx, &id).await.map(Some)
    }
}

#[derive(Default)]
pub struct RunMutation;

#[Object]
impl RunMutation {
    /// Reserves the run's credits and queues it; a worker runs it. Refused
    /// at once with INSUFFICIENT_CREDITS (`extensions.available`,
    /// `extensions.requested`) when the pool, or the caller's monthly
    /// limit, cannot cover `maxCredits`.
    #[graphql(directive = requires::apply(Capability::StartRun))]
    async fn start_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom, the agent, the input and the most it may spend.")]
        input: StartRunInput,
    ) -> AppResult<AgentRun> {
        service::start(ctx.state(), &ctx.caller().await?, input).await
    }

    /// Cancels a queued or running run and settles its credits. A finished
    /// run is returned unchanged.
    #[graphql(directive = requires::apply(Capability::CancelRun))]
    async fn cancel_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run's id.")] id: ID,
    ) -> AppResult<AgentRun> {
        service::cancel(ctx.state(), &ctx.caller().await?, &id).await
    }
}
