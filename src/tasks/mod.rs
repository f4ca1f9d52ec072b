//! Tasks of a workroom with ordered steps: AGENT (a run of an agent),
//! APPROVAL (N of M members at a role or above) and MANUAL (waits for
//! `completeStep`). A task's status moves only through `startTask`,
//! `completeStep`, decisions, its runs ending, and `cancelTask`.

pub mod approvals;
pub mod flow;
pub mod service;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::{approval_decision, approval_request, task, task_step};

use crate::access::{Capability, Membership, Role, requires};
use crate::context::ContextExt;
use crate::error::AppResult;

/// Where a task stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::TaskStatus")]
pub enum TaskStatus {
    /// Made, not started.
    Open,
    /// Its steps are running.
    InProgress,
    /// Paused at an APPROVAL step until enough members approve.
    AwaitingApproval,
    /// Every step is done.
    Done,
    /// An approval was rejected.
    Rejected,
    /// Cancelled.
    Cancelled,
}

/// What a step does.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::StepKind")]
pub enum StepKind {
    /// Runs an agent on the task's description, or on the previous step's output.
    Agent,
    /// Waits for `requiredApprovals` approvals by members at `eligibleRole` or above.
    Approval,
    /// Waits for `completeStep`.
    Manual,
}

/// Where a step stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::StepStatus")]
pub enum StepStatus {
    /// Not reached, or (AGENT) its run failed and it waits to be retried.
    Pending,
    /// Its run is in progress.
    Running,
    /// Waiting for approvals or for `completeStep`.
    Waiting,
    /// Done.
    Done,
    /// Its approval was rejected.
    Rejected,
}

/// Where an approval request stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::ApprovalState")]
pub enum ApprovalState {
    /// Waiting for decisions.
    Pending,
    /// Enough members approved.
    Approved,
    /// A member rejected.
    Rejected,
    /// Not decided within `APPROVAL_TTL_HOURS`.
    Expired,
    /// What it was to approve changed (a new run of its task).
    Superseded,
}

/// A member's decision.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::Decision")]
pub enum Decision {
    /// Counts towards `requiredApprovals`.
    Approve,
    /// Rejects the request (and its task) at once.
    Reject,
}

/// A task as one member sees it.
pub struct Task {
    pub model: task::Model,
    pub viewer: Membership,
}

impl Task {
    /// The task with this id, as `viewer` holds it; None when there is none.
    pub async fn by_id(
        db: &impl sea_orm::ConnectionTrait,
        viewer: &Membership,
        id: Option<&String>,
    ) -> AppResult<Option<Self>> {
        let Some(id) = id else { return Ok(None) };
        Ok(<task::Entity as sea_orm::EntityTrait>::find_by_id(id)
            .one(db)
            .await?
            .map(|model| Task {
                model,
                viewer: viewer.clone(),
            }))
    }
}

/// A step of a task.
pub struct TaskStep {
    pub model: task_step::Model,
    pub viewer: Membership,
}

/// A request for approvals.
pub struct ApprovalRequest {
    pub model: approval_request::Model,
    pub viewer: Membership,
}

/// One member's decision on a request.
pub struct ApprovalDecision {
    pub model: approval_decision::Model,
    pub viewer: Membership,
}

/// What must approve before any export of a workroom: `requiredApprovals`
/// members at `eligibleRole` or above.
///
/// A value object: it has no id, and client caches keep it inside the
/// workroom that holds it.
#[derive(SimpleObject, Clone, Copy, Debug)]
pub struct ApprovalPolicy {
    /// How many approvals, 1 to 20.
    pub required_approvals: i32,
    /// MEMBER, ADMIN or OWNER.
    pub eligible_role: Role,
}

/// One step of a new task.
#[derive(InputObject, Clone)]
pub struct TaskStepInput {
    /// AGENT, APPROVAL or MANUAL.
    pub kind: StepKind,
    /// 1 to 120 characters.
    pub title: String,
    /// AGENT steps: the agent to run.
    pub agent_id: Option<ID>,
    /// APPROVAL steps: how many approvals, 1 to 20; 1 when absent.
    pub required_approvals: Option<i32>,
    /// APPROVAL steps: MEMBER, ADMIN or OWNER (never VIEWER); MEMBER when absent.
    pub eligible_role: Option<Role>,
}

/// A new task, OPEN until `startTask`.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// The workroom it belongs to.
    pub workroom_id: ID,
    /// 1 to 120 characters.
    pub title: String,
    /// What to do: the first AGENT step's input. At most 20,000 characters.
    pub description: Option<String>,
    /// A member of the workspace.
    pub assignee_id: Option<ID>,
    /// The steps in order, at most 20.
    pub steps: Option<Vec<TaskStepInput>>,
}

/// Absent fields stay as they are; the status never changes here.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    /// The task's id.
    pub id: ID,
    /// 1 to 120 characters.
    pub title: Option<String>,
    /// At most 20,000 characters; empty clears it.
    pub description: Option<String>,
    /// A member of the workspace; empty unassigns.
    pub assignee_id: Option<ID>,
}

#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    /// One task; NOT_FOUND unless the caller may see its workroom.
    async fn task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's id.")] id: ID,
    ) -> AppResult<Option<Task>> {
        service::find_visible(ctx, &id).await.map(Some)
    }
}

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Makes a task (OPEN).
    #[graphql(directive = requires::apply(Capability::ManageTasks))]
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom, title, description, assignee and steps.")]
        input: CreateTaskInput,
    ) -> AppResult<Task> {
        service::create(ctx.db(), &ctx.caller().await?, input).await
    }

    /// Changes a task's title, description or assignee.
    #[graphql(directive = requires::apply(Capability::ManageTasks))]
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's id and the fields to change.")] input: UpdateTaskInput,
    ) -> AppResult<Task> {
        service::update(ctx.db(), &ctx.caller().await?, input).await
    }

    /// Starts an OPEN task: its steps run in order from the first. On a
    /// task IN_PROGRESS whose AGENT step's run failed, runs that step again.
    #[graphql(directive = requires::apply(Capability::ManageTasks))]
    async fn start_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's id.")] id: ID,
    ) -> AppResult<Task> {
        flow::start(ctx.state(), &ctx.caller().await?, &id).await
    }

    /// Completes a MANUAL step that is WAITING; the task goes on.
    #[graphql(directive = requires::apply(Capability::ManageTasks))]
    async fn complete_step(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The step's id.")] step_id: ID,
    ) -> AppResult<Task> {
        flow::complete_step(ctx.state(), &ctx.caller().await?, &step_id).await
    }

    /// Cancels a task that has not ended, with its run in progress. A
    /// cancelled task is returned unchanged.
    #[graphql(directive = requires::apply(Capability::ManageTasks))]
    async fn cancel_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's id.")] id: ID,
    ) -> AppResult<Task> {
        flow::cancel(ctx.state(), &ctx.caller().await?, &id).await
    }

    /// Asks for approval of a SUCCEEDED run's output under the workroom's
    /// approval policy (for export), or, for a task paused at an APPROVAL
    /// step whose request expired or was superseded, under that step's
    /// terms. A pending request for the run is returned as it is.
    #[graphql(directive = requires::apply(Capability::RequestApproval))]
    async fn request_approval(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run whose output is to be approved.")] run_id: ID,
    ) -> AppResult<ApprovalRequest> {
        approvals::request(ctx.state(), &ctx.caller().await?, &run_id).await
    }

    /// Approves or rejects. Members at the request's role or above decide,
    /// once each, never on work they created or started; one rejection
    /// rejects the request and its task.
    #[graphql(directive = requires::apply(Capability::DecideApproval))]
    async fn decide_approval(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request's id.")] request_id: ID,
        #[graphql(desc = "APPROVE or REJECT.")] decision: Decision,
        #[graphql(desc = "At most 2,000 characters.")] comment: Option<String>,
    ) -> AppResult<ApprovalRequest> {
        approvals::decide(
            ctx.state(),
            &ctx.caller().await?,
            &request_id,
            decision,
            comment,
        )
        .await
    }
}
