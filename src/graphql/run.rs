//! How clients see an agent run.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::RunStatus as DbRunStatus;

use crate::access::{Capability, Redaction};
use crate::agents::{self, Agent};
use crate::context::ContextExt;
use crate::error::AppResult;
use crate::graphql::activity_event::Actor;
use crate::runs::{AgentRun, RunEvent, service};
use crate::tasks::{ApprovalRequest, Task, approvals};
use crate::workrooms::Workroom;

/// Where a run stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::RunStatus")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is streaming its reply.
    Running,
    /// Its reply is complete.
    Succeeded,
    /// It stopped on an error, spent its reservation, or its server stopped.
    Failed,
    /// Someone cancelled it, or its workroom was archived.
    Cancelled,
}

/// Most events one `events` list returns.
const EVENTS_MAX: u64 = 10_000;

/// A run of an agent (or a bare model call) in a workroom.
#[Object]
impl AgentRun {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The workroom it runs in.
    async fn workroom(&self, ctx: &Context<'_>) -> AppResult<Workroom> {
        Workroom::by_id(ctx.db(), &self.viewer, &self.model.workroom_id).await
    }

    /// The agent it ran; null for a bare model call.
    async fn agent(&self, ctx: &Context<'_>) -> AppResult<Option<Agent>> {
        let Some(id) = &self.model.agent_id else {
            return Ok(None);
        };
        if !self.viewer.allows(Capability::ReadAgents) {
            return Ok(None);
        }
        Ok(agents::service::find(ctx.db(), &self.viewer, id)
            .await
            .ok()
            .map(Agent))
    }

    /// The version of the agent it ran with.
    async fn agent_version(&self) -> Option<i32> {
        self.model.agent_version
    }

    /// Who started it: a person or an API key.
    async fn started_by(&self, ctx: &Context<'_>) -> AppResult<Actor> {
        Actor::of_row(
            ctx,
            &self.model.actor_kind,
            self.model.started_by.as_deref(),
            self.model.api_key_id.as_deref(),
            Redaction::for_reader(&self.viewer).shows_keys(),
        )
        .await
    }

    /// QUEUED, RUNNING, then SUCCEEDED, FAILED or CANCELLED.
    async fn status(&self) -> RunStatus {
        self.model.status.into()
    }

    /// What it was asked.
    async fn input(&self) -> &str {
        &self.model.input
    }

    /// The text produced so far, whole once SUCCEEDED; null before the first piece.
    async fn output(&self) -> Option<&str> {
        (!self.model.output.is_empty() || self.model.status == DbRunStatus::Succeeded)
            .then_some(self.model.output.as_str())
    }

    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.model.error.as_deref()
    }

    /// Credits held for it while it runs (`maxCredits`).
    async fn credits_reserved(&self) -> i64 {
        self.model.credits_reserved
    }

    /// Credits it has used; never more than it reserved.
    async fn credits_used(&self) -> i64 {
        self.model.credits_used
    }

    /// When it was started.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.model.finished_at
    }

    /// The task it belongs to.
    async fn task(&self, ctx: &Context<'_>) -> AppResult<Option<Task>> {
        Task::by_id(ctx.db(), &self.viewer, self.model.task_id.as_ref()).await
    }

    /// The latest approval asked for this run's output (`requestApproval`,
    /// or its task's APPROVAL step).
    async fn approval(&self, ctx: &Context<'_>) -> AppResult<Option<ApprovalRequest>> {
        Ok(approvals::for_run(ctx.db(), &self.model.id)
            .await?
            .map(|model| ApprovalRequest {
                model,
                viewer: self.viewer.clone(),
            }))
    }

    /// Its events after `afterSeq` (from the first when absent), in order;
    /// at most 10,000 per call.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only events after this seq; from the first when absent.")]
        after_seq: Option<i32>,
    ) -> AppResult<Vec<RunEvent>> {
        Ok(
            service::events(ctx.db(), &self.model.id, after_seq.unwrap_or(0), EVENTS_MAX)
                .await?
                .into_iter()
                .map(RunEvent::from)
                .collect(),
        )
    }
}
