//! Run rules and writes: starting (reserve, queue), cancelling, reading.

use async_graphql::{Context, ID};
use chrono::Utc;
use entity::enums::RunStatus;
use entity::{agent_run, run_event};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::{Value, json};

use super::finish::{self, Ender, Ending};
use super::{AgentRun, StartRunInput};
use crate::access::{Capability, Membership, Principal, can_edit_created_by};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::billing::credits::{self, Spender};
use crate::context::{ContextExt, id_arg};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::events::runs::{QUEUE_CHANNEL, notify};
use crate::state::AppState;
use crate::tokens::new_id;
use crate::{agents, workrooms};

/// A run the caller may see (it may see the run's workroom); NOT_FOUND
/// otherwise.
pub async fn find_visible(ctx: &Context<'_>, id: &ID) -> AppResult<AgentRun> {
    let id = id_arg("id", id)?;
    let model = agent_run::Entity::find_by_id(id)
        .one(ctx.db())
        .await?
        .ok_or(AppError::NotFound("run"))?;
    let viewer = ctx
        .membership(&model.workspace_id)
        .await
        .map_err(as_run_not_found)?;
    ensure_visible(&viewer, &model)?;
    Ok(AgentRun { model, viewer })
}

fn as_run_not_found(err: AppError) -> AppError {
    match err {
        AppError::NotFound(_) => AppError::NotFound("run"),
        other => other,
    }
}

fn ensure_visible(viewer: &Membership, run: &agent_run::Model) -> AppResult<()> {
    viewer
        .require_in_workroom(Capability::ReadWorkroom, &run.workroom_id)
        .map_err(|_| AppError::NotFound("run"))
}

/// A workroom's runs, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    workroom_id: &str,
    first: u64,
) -> AppResult<Vec<AgentRun>> {
    Ok(agent_run::Entity::find()
        .filter(agent_run::Column::WorkroomId.eq(workroom_id))
        .order_by_desc(agent_run::Column::CreatedAt)
        .order_by_desc(agent_run::Column::Id)
        .limit(first)
        .all(db)
        .await?
        .into_iter()
        .map(|model| AgentRun {
            model,
            viewer: viewer.clone(),
        })
        .collect())
}

/// A run's events after `after_seq`, in order.
pub async fn events(
    db: &impl ConnectionTrait,
    run_id: &str,
    after_seq: i32,
    limit: u64,
) -> AppResult<Vec<run_event::Model>> {
    Ok(run_event::Entity::find()
        .filter(run_event::Column::RunId.eq(run_id))
        .filter(run_event::Column::Seq.gt(after_seq))
        .order_by_asc(run_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

/// Writes event `seq` of a run (the seq its row now names as `last_seq`).
pub async fn append_event(
    db: &impl ConnectionTrait,
    run_id: &str,
    seq: i32,
    kind: &str,
    data: Option<Value>,
) -> AppResult<()> {
    run_event::ActiveModel {
        run_id: Set(run_id.to_owned()),
        seq: Set(seq),
        kind: Set(kind.to_owned()),
        data: Set(data),
        at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn start(
    state: &AppState,
    caller: &Principal,
    input: StartRunInput,
) -> AppResult<AgentRun> {
    let work = &state.config.work;
    let workroom_id = id_arg("workroomId", &input.workroom_id)?;
    let agent_id = input
        .agent_id
        .as_deref()
        .map(|id| id_arg("agentId", id))
        .transpose()?;
    let task_id = input
        .task_id
        .as_deref()
        .map(|id| id_arg("taskId", id))
        .transpose()?;
    let text = crate::text::multi_line("input", &input.input, work.run_input_max_chars)?
        .ok_or_else(|| AppError::bad_input("input", "input must not be empty"))?;
    let max_credits = match input.max_credits {
        None => work.run_default_max_credits,
        Some(n) if (1..=work.run_max_credits_limit).contains(&i64::from(n)) => i64::from(n),
        Some(_) => {
            return Err(AppError::bad_input(
                "maxCredits",
                format!(
                    "maxCredits must be from 1 to {}",
                    work.run_max_credits_limit
                ),
            ));
        }
    };

    let txn = begin_write(&state.db).await?;
    let room = workrooms::service::find(&txn, workroom_id).await?;
    let viewer = crate::access::load::locked(&txn, &room.workspace_id, caller)
        .await
        .map_err(workrooms::service::as_workroom_not_found)?;
    workrooms::service::ensure_visible(&viewer, workroom_id)?;
    // Read again under the lock: an archive may have committed meanwhile.
    let room = workrooms::service::find(&txn, workroom_id).await?;
    let model = start_in(
        &txn,
        &viewer,
        &room,
        NewRun {
            agent_id,
            input: text,
            max_credits,
            task_id,
        },
    )
    .await?;
    txn.commit().await?;
    state.hub.runs().queued();
    Ok(AgentRun { model, viewer })
}

/// A run about to be queued.
pub struct NewRun<'a> {
    pub agent_id: Option<&'a str>,
    /// Checked already.
    pub input: String,
    pub max_credits: i64,
    pub task_id: Option<&'a str>,
}

/// Queues a run in `txn`, which holds the workspace lock for `viewer`:
/// checks the caller may start it, reserves its credits and records it.
/// The caller commits, then wakes the workers (`hub.runs().queued()`).
pub async fn start_in(
    txn: &impl ConnectionTrait,
    viewer: &Membership,
    room: &entity::workroom::Model,
    run: NewRun<'_>,
) -> AppResult<agent_run::Model> {
    viewer.require_in_workroom(Capability::StartRun, &room.id)?;
    workrooms::service::ensure_open(room)?;
    let agent = match run.agent_id {
        Some(id) => {
            let agent = agents::service::find(txn, viewer, id).await?;
            if agent.archived_at.is_some() {
                return Err(AppError::Conflict(
                    "this agent is archived; archived agents start no runs".into(),
                ));
            }
            Some(agent)
        }
        None => None,
    };
    if let Some(task_id) = run.task_id {
        open_task_of(txn, &room.id, task_id).await?;
    }
    let max_credits = run.max_credits;
    ensure_within_member_limit(txn, viewer, max_credits).await?;
    let spender = Spender::of(viewer);
    let now = Utc::now();
    let model = agent_run::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(room.workspace_id.clone()),
        workroom_id: Set(room.id.clone()),
        agent_id: Set(agent.as_ref().map(|a| a.id.clone())),
        agent_version: Set(agent.as_ref().map(|a| a.version)),
        task_id: Set(run.task_id.map(str::to_owned)),
        actor_kind: Set(spender.kind.clone()),
        started_by: Set(spender.user_id.clone()),
        api_key_id: Set(spender.api_key_id.clone()),
        status: Set(RunStatus::Queued),
        input: Set(run.input),
        output: Set(String::new()),
        error: Set(None),
        credits_reserved: Set(max_credits),
        credits_used: Set(0),
        last_seq: Set(1),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(txn)
    .await?;
    append_event(
        txn,
        &model.id,
        1,
        "run.queued",
        Some(json!({ "maxCredits": max_credits })),
    )
    .await?;
    credits::reserve(txn, &room.workspace_id, max_credits, &model.id, &spender).await?;
    let mut changes = Changes::default().created("maxCredits", max_credits);
    if let Some(agent) = &agent {
        changes = changes
            .created("agentId", agent.id.clone())
            .created("agentVersion", agent.version);
    }
    if let Some(task_id) = run.task_id {
        changes = changes.created("taskId", task_id);
        supersede_pending(txn, task_id).await?;
    }
    activity::service::record(
        txn,
        NewEvent::by(viewer, Action::RunStarted, &model.id)
            .in_workroom(&room.id)
            .with(changes),
    )
    .await?;
    notify(txn, QUEUE_CHANNEL, &model.id).await?;
    Ok(model)
}

/// A task of the workroom that has not ended; NOT_FOUND or CONFLICT.
async fn open_task_of(
    db: &impl ConnectionTrait,
    workroom_id: &str,
    task_id: &str,
) -> AppResult<entity::task::Model> {
    use entity::enums::TaskStatus;
    let task = entity::task::Entity::find_by_id(task_id)
        .filter(entity::task::Column::WorkroomId.eq(workroom_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("task"))?;
    if matches!(
        task.status,
        TaskStatus::Done | TaskStatus::Rejected | TaskStatus::Cancelled
    ) {
        return Err(AppError::Conflict(
            "this task has ended; it takes no more runs".into(),
        ));
    }
    Ok(task)
}

/// A new run of a task changes what its pending approvals would approve:
/// they are SUPERSEDED.
async fn supersede_pending(db: &impl ConnectionTrait, task_id: &str) -> AppResult<()> {
    use entity::approval_request as request;
    use entity::enums::ApprovalState;
    use sea_orm::ActiveEnum;
    use sea_orm::sea_query::Expr;
    request::Entity::update_many()
        .col_expr(
            request::Column::State,
            Expr::value(ApprovalState::Superseded.to_value()),
        )
        .col_expr(request::Column::DecidedAt, Expr::value(Utc::now()))
        .filter(request::Column::TaskId.eq(task_id))
        .filter(request::Column::State.eq(ApprovalState::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// A member's own monthly limit refuses a run whose reservation would pass
/// it, whatever the pool holds.
async fn ensure_within_member_limit(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    requested: i64,
) -> AppResult<()> {
    let Some(member) = &viewer.member else {
        return Ok(());
    };
    let Some(limit) = credits::member_limit(db, &member.id).await? else {
        return Ok(());
    };
    let used = credits::used_this_month(db, &member.workspace_id, &member.user_id).await?;
    if used + requested > limit {
        let available = (limit - used).max(0);
        return Err(AppError::InsufficientCredits {
            message: format!(
                "your monthly limit of {limit} credits leaves {available}; this run asks for {requested}"
            ),
            available,
            requested,
        });
    }
    Ok(())
}

pub async fn cancel(state: &AppState, caller: &Principal, id: &str) -> AppResult<AgentRun> {
    let id = id_arg("id", id)?;
    let txn = begin_write(&state.db).await?;
    let (viewer, run) =
        crate::access::load::locked_target::<agent_run::Entity>(&txn, caller, "run", id, |r| {
            &r.workspace_id
        })
        .await?;
    ensure_visible(&viewer, &run)?;
    if run.status.is_terminal() {
        txn.commit().await?;
        return Ok(AgentRun { model: run, viewer });
    }
    viewer.require_in_workroom(Capability::CancelRun, &run.workroom_id)?;
    if !can_edit_created_by(&viewer, run.started_by.as_deref()) {
        return Err(AppError::Forbidden(
            "only admins cancel runs started by someone else",
        ));
    }
    let ended = finish::end(&txn, id, Ending::Cancelled, Ender::Member(&viewer)).await?;
    txn.commit().await?;
    state.hub.runs().ended(id);
    state.hub.poke();
    let model = match ended {
        Some(model) => model,
        None => agent_run::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound("run"))?,
    };
    Ok(AgentRun { model, viewer })
}

/// Ends every queued or running run of a workroom (it is being archived),
/// in the caller's transaction. Returns their ids, to wake their watchers
/// after commit.
pub async fn cancel_in_workroom(
    txn: &impl ConnectionTrait,
    viewer: &Membership,
    workroom_id: &str,
) -> AppResult<Vec<String>> {
    cancel_live(txn, viewer, agent_run::Column::WorkroomId, workroom_id).await
}

/// Cancels every queued or running run of the workspace (it is being
/// deleted) in the caller's transaction; returns the runs it ended.
pub async fn cancel_in_workspace(
    txn: &impl ConnectionTrait,
    viewer: &Membership,
) -> AppResult<Vec<String>> {
    let id = viewer.workspace.id.clone();
    cancel_live(txn, viewer, agent_run::Column::WorkspaceId, &id).await
}

async fn cancel_live(
    txn: &impl ConnectionTrait,
    viewer: &Membership,
    scope: agent_run::Column,
    scope_id: &str,
) -> AppResult<Vec<String>> {
    let live = agent_run::Entity::find()
        .filter(scope.eq(scope_id))
        .filter(agent_run::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        .all(txn)
        .await?;
    let mut ended = Vec::new();
    for run in live {
        if finish::end(txn, &run.id, Ending::Cancelled, Ender::Member(viewer))
            .await?
            .is_some()
        {
            ended.push(run.id);
        }
    }
    Ok(ended)
}

/// Cancels one run in the caller's transaction (its task is being
/// cancelled); true when it had not ended.
pub async fn cancel_in(
    txn: &impl ConnectionTrait,
    viewer: &Membership,
    run_id: &str,
) -> AppResult<bool> {
    Ok(
        finish::end(txn, run_id, Ending::Cancelled, Ender::Member(viewer))
            .await?
            .is_some(),
    )
}
