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
    viewer.require_in_workroom(Capability::StartRun, workroom_id)?;
    workrooms::service::ensure_open(&room)?;
    let agent = match agent_id {
        Some(id) => {
            let agent = agents::service::find(&txn, &viewer, id).await?;
            if agent.archived_at.is_some() {
                return Err(AppError::Conflict(
                    "this agent is archived; archived agents start no runs".into(),
                ));
            }
            Some(agent)
        }
        None => None,
    };
    if task_id.is_some() {
        return Err(AppError::NotFound("task"));
    }
    ensure_within_member_limit(&txn, &viewer, max_credits).await?;
    let spender = Spender::of(&viewer);
    let now = Utc::now();
    let model = agent_run::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(room.workspace_id.clone()),
        workroom_id: Set(room.id.clone()),
        agent_id: Set(agent.as_ref().map(|a| a.id.clone())),
        agent_version: Set(agent.as_ref().map(|a| a.version)),
        task_id: Set(None),
        actor_kind: Set(spender.kind.clone()),
        started_by: Set(spender.user_id.clone()),
        api_key_id: Set(spender.api_key_id.clone()),
        status: Set(RunStatus::Queued),
        input: Set(text),
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
    .insert(&txn)
    .await?;
    append_event(
        &txn,
        &model.id,
        1,
        "run.queued",
        Some(json!({ "maxCredits": max_credits })),
    )
    .await?;
    credits::reserve(&txn, &room.workspace_id, max_credits, &model.id, &spender).await?;
    let mut changes = Changes::default().created("maxCredits", max_credits);
    if let Some(agent) = &agent {
        changes = changes
            .created("agentId", agent.id.clone())
            .created("agentVersion", agent.version);
    }
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::RunStarted, &model.id)
            .in_workroom(&room.id)
            .with(changes),
    )
    .await?;
    notify(&txn, QUEUE_CHANNEL, &model.id).await?;
    txn.commit().await?;
    state.hub.runs().queued();
    Ok(AgentRun { model, viewer })
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
    state.hub.runs().progressed(id);
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
    let live = agent_run::Entity::find()
        .filter(agent_run::Column::WorkroomId.eq(workroom_id))
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
