//! Task rules and writes: making, changing, reading.

use async_graphql::ID;
use chrono::Utc;
use entity::enums::{Role as DbRole, RunStatus, StepKind, StepStatus, TaskStatus};
use entity::{agent_run, member, task, task_step};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use super::{CreateTaskInput, StepKind as GqlStepKind, Task, TaskStepInput, UpdateTaskInput};
use crate::access::{Capability, Membership, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::{ContextExt, id_arg};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::tokens::new_id;
use crate::{agents, workrooms};

const TITLE_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 20_000;
pub const STEPS_MAX: usize = 20;
pub const APPROVALS_MAX: i32 = 20;

pub fn is_ended(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::Done | TaskStatus::Rejected | TaskStatus::Cancelled
    )
}

fn as_task_not_found(err: AppError) -> AppError {
    match err {
        AppError::NotFound(_) => AppError::NotFound("task"),
        other => other,
    }
}

/// A task the caller may see (it may see the task's workroom).
pub async fn find_visible(ctx: &async_graphql::Context<'_>, id: &ID) -> AppResult<Task> {
    let id = id_arg("id", id)?;
    let model = task::Entity::find_by_id(id)
        .one(ctx.db())
        .await?
        .ok_or(AppError::NotFound("task"))?;
    let viewer = ctx
        .membership(&model.workspace_id)
        .await
        .map_err(as_task_not_found)?;
    ensure_visible(&viewer, &model.workroom_id, "task")?;
    Ok(Task { model, viewer })
}

pub fn ensure_visible(viewer: &Membership, workroom_id: &str, what: &'static str) -> AppResult<()> {
    viewer
        .require_in_workroom(Capability::ReadWorkroom, workroom_id)
        .map_err(|_| AppError::NotFound(what))
}

/// Opens a write to one task: workspace locked, the task read under the
/// lock, the caller allowed to manage tasks of its workroom (open).
pub async fn locked_task(
    txn: &impl ConnectionTrait,
    caller: &Principal,
    id: &str,
) -> AppResult<(Membership, task::Model, entity::workroom::Model)> {
    let (viewer, task) =
        crate::access::load::locked_target::<task::Entity>(txn, caller, "task", id, |t| {
            &t.workspace_id
        })
        .await?;
    ensure_visible(&viewer, &task.workroom_id, "task")?;
    viewer.require_in_workroom(Capability::ManageTasks, &task.workroom_id)?;
    let room = workrooms::service::find(txn, &task.workroom_id).await?;
    workrooms::service::ensure_open(&room)?;
    Ok((viewer, task, room))
}

pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    workroom_id: &str,
) -> AppResult<Vec<Task>> {
    Ok(task::Entity::find()
        .filter(task::Column::WorkroomId.eq(workroom_id))
        .order_by_asc(task::Column::CreatedAt)
        .order_by_asc(task::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|model| Task {
            model,
            viewer: viewer.clone(),
        })
        .collect())
}

pub async fn steps(db: &impl ConnectionTrait, task_id: &str) -> AppResult<Vec<task_step::Model>> {
    Ok(task_step::Entity::find()
        .filter(task_step::Column::TaskId.eq(task_id))
        .order_by_asc(task_step::Column::Position)
        .all(db)
        .await?)
}

/// The task's newest SUCCEEDED run: what its approvals and exports are of.
pub async fn last_run(
    db: &impl ConnectionTrait,
    task_id: &str,
) -> AppResult<Option<agent_run::Model>> {
    Ok(agent_run::Entity::find()
        .filter(agent_run::Column::TaskId.eq(task_id))
        .filter(agent_run::Column::Status.eq(RunStatus::Succeeded))
        .order_by_desc(agent_run::Column::FinishedAt)
        .order_by_desc(agent_run::Column::Id)
        .one(db)
        .await?)
}

fn clean_title(raw: &str) -> AppResult<String> {
    crate::text::required("title", raw, TITLE_MAX)
}

fn clean_description(raw: &str) -> AppResult<Option<String>> {
    crate::text::multi_line("description", raw, DESCRIPTION_MAX)
}

/// A member of the viewer's workspace, by id; BAD_USER_INPUT otherwise.
async fn assignee(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    id: &str,
) -> AppResult<member::Model> {
    member::Entity::find_by_id(id_arg("assigneeId", id)?)
        .filter(member::Column::WorkspaceId.eq(viewer.workspace_id()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("assigneeId", "no member of this workspace has this id"))
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: CreateTaskInput,
) -> AppResult<Task> {
    let workroom_id = id_arg("workroomId", &input.workroom_id)?;
    let title = clean_title(&input.title)?;
    let description = input
        .description
        .as_deref()
        .map(clean_description)
        .transpose()?
        .flatten();
    let steps = input.steps.unwrap_or_default();
    if steps.len() > STEPS_MAX {
        return Err(AppError::bad_input(
            "steps",
            format!("a task has at most {STEPS_MAX} steps"),
        ));
    }

    let txn = begin_write(db).await?;
    let room = workrooms::service::find(&txn, workroom_id).await?;
    let viewer = crate::access::load::locked(&txn, &room.workspace_id, caller)
        .await
        .map_err(workrooms::service::as_workroom_not_found)?;
    workrooms::service::ensure_visible(&viewer, workroom_id)?;
    viewer.require_in_workroom(Capability::ManageTasks, workroom_id)?;
    let room = workrooms::service::find(&txn, workroom_id).await?;
    workrooms::service::ensure_open(&room)?;
    let assignee_id = match input.assignee_id.as_deref() {
        Some(id) => Some(assignee(&txn, &viewer, id).await?.id),
        None => None,
    };
    let now = Utc::now();
    let model = task::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(room.workspace_id.clone()),
        workroom_id: Set(room.id.clone()),
        title: Set(title),
        description: Set(description),
        status: Set(TaskStatus::Open),
        assignee_id: Set(assignee_id),
        created_by: Set(viewer.user_id().map(str::to_owned)),
        started_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for (position, step) in steps.into_iter().enumerate() {
        insert_step(&txn, &viewer, &model.id, position as i32, step).await?;
    }
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::TaskCreated, &model.id)
            .in_workroom(&room.id)
            .with(Changes::default().created("title", model.title.clone())),
    )
    .await?;
    txn.commit().await?;
    Ok(Task { model, viewer })
}

async fn insert_step(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    task_id: &str,
    position: i32,
    step: TaskStepInput,
) -> AppResult<()> {
    let title = crate::text::required("title", &step.title, TITLE_MAX)?;
    let kind: StepKind = step.kind.into();
    let mut agent_id = None;
    let (mut required, mut role) = (None, None);
    match step.kind {
        GqlStepKind::Agent => {
            let id = step.agent_id.as_deref().ok_or_else(|| {
                AppError::bad_input("agentId", "an AGENT step names the agent it runs")
            })?;
            let agent = agents::service::find(db, viewer, id_arg("agentId", id)?)
                .await
                .map_err(|_| {
                    AppError::bad_input("agentId", "no agent of this workspace has this id")
                })?;
            if agent.archived_at.is_some() {
                return Err(AppError::bad_input("agentId", "this agent is archived"));
            }
            agent_id = Some(agent.id);
        }
        GqlStepKind::Approval => {
            let n = step.required_approvals.unwrap_or(1);
            if !(1..=APPROVALS_MAX).contains(&n) {
                return Err(AppError::bad_input(
                    "requiredApprovals",
                    format!("requiredApprovals must be from 1 to {APPROVALS_MAX}"),
                ));
            }
            required = Some(n);
            role = Some(eligible_role(step.eligible_role.map(Into::into))?);
        }
        GqlStepKind::Manual => {}
    }
    task_step::ActiveModel {
        id: Set(new_id()),
        task_id: Set(task_id.to_owned()),
        position: Set(position),
        kind: Set(kind),
        title: Set(title),
        status: Set(StepStatus::Pending),
        agent_id: Set(agent_id),
        run_id: Set(None),
        approval_id: Set(None),
        required_approvals: Set(required),
        eligible_role: Set(role),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// An eligible role: MEMBER when absent, never VIEWER.
pub fn eligible_role(role: Option<DbRole>) -> AppResult<DbRole> {
    match role.unwrap_or(DbRole::Member) {
        DbRole::Viewer => Err(AppError::bad_input(
            "eligibleRole",
            "eligibleRole is MEMBER, ADMIN or OWNER; viewers never approve",
        )),
        role => Ok(role),
    }
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    input: UpdateTaskInput,
) -> AppResult<Task> {
    let id = id_arg("id", &input.id)?;
    let title = input.title.as_deref().map(clean_title).transpose()?;
    let description = input
        .description
        .as_deref()
        .map(clean_description)
        .transpose()?;
    let txn = begin_write(db).await?;
    let (viewer, before, _) = locked_task(&txn, caller, id).await?;
    let assignee_id = match input.assignee_id.as_deref() {
        Some(id) if id.is_empty() => Some(None),
        Some(id) => Some(Some(assignee(&txn, &viewer, id).await?.id)),
        None => None,
    };
    let mut row = before.clone().into_active_model();
    let mut changes = Changes::default();
    if let Some(title) = title {
        changes = changes.field("title", before.title.clone(), title.clone());
        row.title = Set(title);
    }
    if let Some(description) = description {
        changes = changes.field(
            "description",
            before.description.clone(),
            description.clone(),
        );
        row.description = Set(description);
    }
    if let Some(assignee_id) = assignee_id {
        changes = changes.field(
            "assigneeId",
            before.assignee_id.clone(),
            assignee_id.clone(),
        );
        row.assignee_id = Set(assignee_id);
    }
    if changes.is_empty() {
        txn.commit().await?;
        return Ok(Task {
            model: before,
            viewer,
        });
    }
    row.updated_at = Set(Utc::now());
    let model = row.update(&txn).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::TaskUpdated, id)
            .in_workroom(&model.workroom_id)
            .with(changes),
    )
    .await?;
    txn.commit().await?;
    Ok(Task { model, viewer })
}
