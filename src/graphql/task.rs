//! How clients see tasks, their steps, and approval requests.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::Decision as DbDecision;
use entity::user;
use sea_orm::EntityTrait;

use crate::access::Role;
use crate::agents::{self, Agent};
use crate::auth::User;
use crate::context::ContextExt;
use crate::error::AppResult;
use crate::members::{Member, service as members};
use crate::runs::AgentRun;
use crate::tasks::{
    ApprovalDecision, ApprovalRequest, ApprovalState, Decision, StepKind, StepStatus, Task,
    TaskStatus, TaskStep, approvals, service,
};
use crate::workrooms::Workroom;

async fn person(ctx: &Context<'_>, id: Option<&String>) -> AppResult<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(user::Person::find(ctx.db(), id).await?.map(User))
}

async fn member(
    ctx: &Context<'_>,
    viewer: &crate::access::Membership,
    id: &str,
) -> AppResult<Option<Member>> {
    let Some(model) = entity::member::Entity::find_by_id(id).one(ctx.db()).await? else {
        return Ok(None);
    };
    Ok(Some(
        members::one(ctx.db(), &viewer.workspace, model).await?,
    ))
}

/// A work item of a workroom, with ordered steps.
#[Object]
impl Task {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The workroom it belongs to.
    async fn workroom(&self, ctx: &Context<'_>) -> AppResult<Workroom> {
        Workroom::by_id(ctx.db(), &self.viewer, &self.model.workroom_id).await
    }

    /// 1 to 120 characters.
    async fn title(&self) -> &str {
        &self.model.title
    }

    /// What to do; the first AGENT step's input.
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    /// OPEN until `startTask`; moves only through its steps.
    async fn status(&self) -> TaskStatus {
        self.model.status.into()
    }

    /// Who made it; null once that account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        person(ctx, self.model.created_by.as_ref()).await
    }

    /// The member it is assigned to.
    async fn assignee(&self, ctx: &Context<'_>) -> AppResult<Option<Member>> {
        match &self.model.assignee_id {
            Some(id) => member(ctx, &self.viewer, id).await,
            None => Ok(None),
        }
    }

    /// Its steps, in order.
    async fn steps(&self, ctx: &Context<'_>) -> AppResult<Vec<TaskStep>> {
        Ok(service::steps(ctx.db(), &self.model.id)
            .await?
            .into_iter()
            .map(|model| TaskStep {
                model,
                viewer: self.viewer.clone(),
            })
            .collect())
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

/// One step of a task.
#[Object]
impl TaskStep {
    /// Unique across every type.
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// 0, 1, … in order.
    async fn position(&self) -> i32 {
        self.model.position
    }

    /// AGENT, APPROVAL or MANUAL.
    async fn kind(&self) -> StepKind {
        self.model.kind.into()
    }

    /// 1 to 120 characters.
    async fn title(&self) -> &str {
        &self.model.title
    }

    /// PENDING, RUNNING, WAITING, DONE or REJECTED.
    async fn status(&self) -> StepStatus {
        self.model.status.into()
    }

    /// AGENT steps: the agent it runs.
    async fn agent(&self, ctx: &Context<'_>) -> AppResult<Option<Agent>> {
        let Some(id) = &self.model.agent_id else {
            return Ok(None);
        };
        Ok(agents::service::find(ctx.db(), &self.viewer, id)
            .await
            .ok()
            .map(Agent))
    }

    /// AGENT steps, once started: the step's run.
    async fn run(&self, ctx: &Context<'_>) -> AppResult<Option<AgentRun>> {
        AgentRun::by_id(ctx.db(), &self.viewer, self.model.run_id.as_ref()).await
    }

    /// APPROVAL steps, once reached: the request.
    async fn approval(&self, ctx: &Context<'_>) -> AppResult<Option<ApprovalRequest>> {
        let Some(id) = &self.model.approval_id else {
            return Ok(None);
        };
        Ok(approvals::find(ctx.db(), id)
            .await?
            .map(|model| ApprovalRequest {
                model,
                viewer: self.viewer.clone(),
            }))
    }
}

/// A request for approvals of a run's output, a task step, or both.
#[Object]
impl ApprovalRequest {
    /// Unique across every type.
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// PENDING until decided, expired or superseded.
    async fn state(&self) -> ApprovalState {
        self.model.state.into()
    }

    /// Approvals needed.
    async fn required_approvals(&self) -> i32 {
        self.model.required_approvals
    }

    /// Members at this role or above may decide (MEMBER, ADMIN or OWNER).
    async fn eligible_role(&self) -> Role {
        self.model.eligible_role.into()
    }

    /// Who approved, in order.
    async fn approved_by(&self, ctx: &Context<'_>) -> AppResult<Vec<User>> {
        let ids: Vec<String> = approvals::decisions(ctx.db(), &self.model.id)
            .await?
            .into_iter()
            .filter(|d| d.decision == DbDecision::Approve)
            .map(|d| d.user_id)
            .collect();
        let people = user::Person::by_id(ctx.db(), ids.clone()).await?;
        Ok(ids
            .iter()
            .filter_map(|id| people.get(id).cloned().map(User))
            .collect())
    }

    /// Every decision, in order.
    async fn decisions(&self, ctx: &Context<'_>) -> AppResult<Vec<ApprovalDecision>> {
        Ok(approvals::decisions(ctx.db(), &self.model.id)
            .await?
            .into_iter()
            .map(|model| ApprovalDecision {
                model,
                viewer: self.viewer.clone(),
            })
            .collect())
    }

    /// When it expires undecided (`APPROVAL_TTL_HOURS` after it was made).
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        Some(self.model.expires_at)
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

/// One member's decision on a request.
///
/// A value object: it has no id, and client caches keep it inside the
/// request that holds it.
#[Object]
impl ApprovalDecision {
    /// Who decided.
    async fn member(&self, ctx: &Context<'_>) -> AppResult<Member> {
        member(ctx, &self.viewer, &self.model.member_id)
            .await?
            .ok_or(crate::error::AppError::NotFound("member"))
    }

    /// APPROVE or REJECT.
    async fn decision(&self) -> Decision {
        self.model.decision.into()
    }

    /// Why.
    async fn comment(&self) -> Option<&str> {
        self.model.comment.as_deref()
    }

    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.model.at
    }
}
