//! How a task moves: started, step by step, paused for approvals, on when
//! a run ends (followed by each server, whichever notices first; every
//! move is a conditional update under the workspace lock, so it happens
//! once), and cancelled.

use std::time::Duration;

use chrono::Utc;
use entity::enums::{RunStatus, StepKind, StepStatus, TaskStatus};
use entity::{agent_run, task, task_step};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde_json::Value;

use super::service::{is_ended, last_run, locked_task, steps};
use super::{Task, approvals};
use crate::access::{Membership, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::runs::service::{NewRun, start_in};
use crate::state::AppState;

/// What a move asks for after commit.
#[derive(Default)]
pub struct Woken {
    pub queued: bool,
}

impl Woken {
    pub fn wake(&self, state: &AppState) {
        if self.queued {
            state.hub.runs().queued();
        }
        state.hub.poke();
    }
}

pub async fn set_status(
    txn: &DatabaseTransaction,
    by: &Membership,
    task: task::Model,
    status: TaskStatus,
    action: Action,
) -> AppResult<task::Model> {
    let before = task.status;
    let mut row = task.into_active_model();
    row.status = Set(status);
    row.updated_at = Set(Utc::now());
    let task = row.update(txn).await?;
    activity::service::record(
        txn,
        NewEvent::by(by, action, &task.id)
            .in_workroom(&task.workroom_id)
            .with(Changes::default().field("status", before.to_value(), status.to_value())),
    )
    .await?;
    Ok(task)
}

async fn set_step(
    txn: &DatabaseTransaction,
    step: task_step::Model,
    status: StepStatus,
) -> AppResult<task_step::Model> {
    let mut row = step.into_active_model();
    row.status = Set(status);
    Ok(row.update(txn).await?)
}

/// What an AGENT step runs on: the output of the AGENT step before it, or
/// the task's description, or its title.
async fn input_for(
    txn: &DatabaseTransaction,
    task: &task::Model,
    all: &[task_step::Model],
    position: i32,
) -> AppResult<String> {
    for step in all.iter().rev().filter(|s| s.position < position) {
        if step.kind == StepKind::Agent
            && let Some(run_id) = &step.run_id
            && let Some(run) = agent_run::Entity::find_by_id(run_id).one(txn).await?
            && !run.output.trim().is_empty()
        {
            return Ok(run.output);
        }
    }
    Ok(task
        .description
        .clone()
        .unwrap_or_else(|| task.title.clone()))
}

/// Who a task's runs are started (and charged) as: the person who started
/// it, else `by`.
async fn runner(
    txn: &DatabaseTransaction,
    task: &task::Model,
    by: &Membership,
) -> AppResult<Membership> {
    match &task.started_by {
        Some(user_id) if by.user_id() != Some(user_id.as_str()) => {
            crate::access::load::locked(
                txn,
                &task.workspace_id,
                &Principal::Person {
                    user_id: user_id.clone(),
                },
            )
            .await
        }
        _ => Ok(by.clone()),
    }
}

/// Moves a task (IN_PROGRESS) on from its first step not done. With
/// `strict`, a run that cannot start fails the whole change; otherwise the
/// step stays PENDING (`startTask` retries it).
pub async fn advance(
    txn: &DatabaseTransaction,
    state: &AppState,
    mut task: task::Model,
    by: &Membership,
    strict: bool,
    woken: &mut Woken,
) -> AppResult<task::Model> {
    let all = steps(txn, &task.id).await?;
    let Some(step) = all.iter().find(|s| s.status != StepStatus::Done).cloned() else {
        return set_status(txn, by, task, TaskStatus::Done, Action::TaskCompleted).await;
    };
    match (step.kind, step.status) {
        (StepKind::Agent, StepStatus::Pending) => {
            let room = crate::workrooms::service::find(txn, &task.workroom_id).await?;
            let input = input_for(txn, &task, &all, step.position).await?;
            let runner = runner(txn, &task, by).await;
            let savepoint = txn.begin().await?;
            let started = match &runner {
                Ok(runner) => {
                    start_in(
                        &savepoint,
                        runner,
                        &room,
                        NewRun {
                            agent_id: step.agent_id.as_deref(),
                            input: crate::text::prefix_within(
                                &input,
                                state.config.work.run_input_max_chars * 4,
                            )
                            .to_owned(),
                            max_credits: state.config.work.run_default_max_credits,
                            task_id: Some(&task.id),
                        },
                    )
                    .await
                }
                Err(err) => Err(err.clone()),
            };
            match started {
                Ok(run) => {
                    savepoint.commit().await?;
                    let mut row = step.into_active_model();
                    row.status = Set(StepStatus::Running);
                    row.run_id = Set(Some(run.id));
                    row.update(txn).await?;
                    woken.queued = true;
                }
                Err(err) => {
                    savepoint.rollback().await?;
                    if strict {
                        return Err(err);
                    }
                    // Nobody waits on this change: the task's watchers hear
                    // why its step did not start, and `startTask` retries it.
                    tracing::warn!(task = %task.id, error = %err, "a task's next run could not start");
                    activity::service::record(
                        txn,
                        NewEvent::by(by, Action::TaskUpdated, &task.id)
                            .in_workroom(&task.workroom_id)
                            .with(Changes::default().field(
                                "step",
                                Value::Null,
                                serde_json::json!({
                                    "id": step.id,
                                    "status": "PENDING",
                                    "error": err.code(),
                                }),
                            )),
                    )
                    .await?;
                }
            }
        }
        (StepKind::Approval, StepStatus::Pending) => {
            let subject = last_run(txn, &task.id).await?;
            let request = approvals::create(
                txn,
                state,
                by,
                approvals::Subject {
                    workroom_id: &task.workroom_id,
                    task_id: Some(&task.id),
                    run_id: subject.as_ref().map(|r| r.id.as_str()),
                },
                step.required_approvals.unwrap_or(1),
                step.eligible_role.unwrap_or(entity::enums::Role::Member),
            )
            .await?;
            let mut row = step.into_active_model();
            row.status = Set(StepStatus::Waiting);
            row.approval_id = Set(Some(request.id));
            row.update(txn).await?;
            task = set_status(
                txn,
                by,
                task,
                TaskStatus::AwaitingApproval,
                Action::TaskUpdated,
            )
            .await?;
        }
        (StepKind::Manual, StepStatus::Pending) => {
            set_step(txn, step, StepStatus::Waiting).await?;
        }
        // Running, waiting, or rejected: nothing moves until that changes.
        _ => {}
    }
    Ok(task)
}

pub async fn start(state: &AppState, caller: &Principal, id: &str) -> AppResult<Task> {
    let id = id_arg("id", id)?;
    let txn = begin_write(&state.db).await?;
    let (viewer, task, _) = locked_task(&txn, caller, id).await?;
    let mut woken = Woken::default();
    let task = match task.status {
        TaskStatus::Open => {
            let mut row = task.into_active_model();
            row.started_by = Set(viewer.user_id().map(str::to_owned));
            let task = row.update(&txn).await?;
            let task = set_status(
                &txn,
                &viewer,
                task,
                TaskStatus::InProgress,
                Action::TaskStarted,
            )
            .await?;
            advance(&txn, state, task, &viewer, true, &mut woken).await?
        }
        TaskStatus::InProgress => {
            let current = steps(&txn, id)
                .await?
                .into_iter()
                .find(|s| s.status != StepStatus::Done);
            match current {
                Some(step)
                    if step.kind == StepKind::Agent && step.status == StepStatus::Pending =>
                {
                    advance(&txn, state, task, &viewer, true, &mut woken).await?
                }
                _ => {
                    return Err(AppError::Conflict(
                        "this task is in progress; its current step is not waiting to be run"
                            .into(),
                    ));
                }
            }
        }
        _ => {
            return Err(AppError::Conflict(format!(
                "this task is {}; only an OPEN task starts",
                task.status.to_value()
            )));
        }
    };
    txn.commit().await?;
    woken.wake(state);
    Ok(Task {
        model: task,
        viewer,
    })
}

pub async fn complete_step(state: &AppState, caller: &Principal, step_id: &str) -> AppResult<Task> {
    let step_id = id_arg("stepId", step_id)?;
    let found = task_step::Entity::find_by_id(step_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("step"))?;
    let txn = begin_write(&state.db).await?;
    let (viewer, task, _) =
        locked_task(&txn, caller, &found.task_id)
            .await
            .map_err(|err| match err {
                AppError::NotFound(_) => AppError::NotFound("step"),
                other => other,
            })?;
    let step = task_step::Entity::find_by_id(step_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("step"))?;
    if step.kind != StepKind::Manual || step.status != StepStatus::Waiting {
        return Err(AppError::Conflict(
            "only a MANUAL step that is WAITING can be completed".into(),
        ));
    }
    if task.status != TaskStatus::InProgress {
        return Err(AppError::Conflict("this task is not in progress".into()));
    }
    set_step(&txn, step, StepStatus::Done).await?;
    let mut woken = Woken::default();
    let task = advance(&txn, state, task, &viewer, true, &mut woken).await?;
    txn.commit().await?;
    woken.wake(state);
    Ok(Task {
        model: task,
        viewer,
    })
}

pub async fn cancel(state: &AppState, caller: &Principal, id: &str) -> AppResult<Task> {
    let id = id_arg("id", id)?;
    let txn = begin_write(&state.db).await?;
    let (viewer, task, _) = locked_task(&txn, caller, id).await?;
    if task.status == TaskStatus::Cancelled {
        txn.commit().await?;
        return Ok(Task {
            model: task,
            viewer,
        });
    }
    if is_ended(task.status) {
        return Err(AppError::Conflict(format!(
            "this task is {}; it can no longer be cancelled",
            task.status.to_value()
        )));
    }
    let mut ended = Vec::new();
    for step in steps(&txn, id).await? {
        if step.status == StepStatus::Running
            && let Some(run_id) = &step.run_id
            && crate::runs::service::cancel_in(&txn, &viewer, run_id).await?
        {
            ended.push(run_id.clone());
        }
        if matches!(step.status, StepStatus::Running | StepStatus::Waiting) {
            set_step(&txn, step, StepStatus::Pending).await?;
        }
    }
    approvals::supersede_for_task(&txn, id).await?;
    let task = set_status(
        &txn,
        &viewer,
        task,
        TaskStatus::Cancelled,
        Action::TaskCancelled,
    )
    .await?;
    txn.commit().await?;
    for run_id in &ended {
        state.hub.runs().ended(run_id);
    }
    state.hub.poke();
    Ok(Task {
        model: task,
        viewer,
    })
}

/// Moves on the tasks whose AGENT step's run ended; returns how many.
pub async fn follow_runs(state: &AppState) -> AppResult<usize> {
    let running = task_step::Entity::find()
        .filter(task_step::Column::Status.eq(StepStatus::Running))
        .filter(task_step::Column::RunId.is_not_null())
        .all(&state.db)
        .await?;
    let mut moved = 0;
    for step in running {
        let Some(run_id) = step.run_id.clone() else {
            continue;
        };
        let Some(run) = agent_run::Entity::find_by_id(&run_id)
            .one(&state.db)
            .await?
        else {
            continue;
        };
        if !run.status.is_terminal() {
            continue;
        }
        let txn = begin_write(&state.db).await?;
        crate::access::load::lock_workspace(&txn, &run.workspace_id).await?;
        // Under the lock, only the step still RUNNING on this run moves.
        let claimed = task_step::Entity::update_many()
            .col_expr(
                task_step::Column::Status,
                Expr::value(
                    if run.status == RunStatus::Succeeded {
                        StepStatus::Done
                    } else {
                        StepStatus::Pending
                    }
                    .to_value(),
                ),
            )
            .filter(task_step::Column::Id.eq(&step.id))
            .filter(task_step::Column::Status.eq(StepStatus::Running))
            .filter(task_step::Column::RunId.eq(&run_id))
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            txn.commit().await?;
            continue;
        }
        let mut woken = Woken::default();
        if let Some(task) = task::Entity::find_by_id(&step.task_id).one(&txn).await?
            && task.status == TaskStatus::InProgress
        {
            let actor = match &task.started_by {
                Some(user_id) => crate::access::load::locked(
                    &txn,
                    &task.workspace_id,
                    &Principal::Person {
                        user_id: user_id.clone(),
                    },
                )
                .await
                .ok(),
                None => None,
            };
            match (run.status, actor) {
                (RunStatus::Succeeded, Some(actor)) => {
                    advance(&txn, state, task, &actor, false, &mut woken).await?;
                }
                (status, Some(actor)) => {
                    activity::service::record(
                        &txn,
                        NewEvent::by(&actor, Action::TaskUpdated, &task.id)
                            .in_workroom(&task.workroom_id)
                            .with(Changes::default().field(
                                "step",
                                Value::Null,
                                serde_json::json!({
                                    "id": step.id,
                                    "run": run.id,
                                    "runStatus": status.to_value(),
                                    "status": "PENDING",
                                }),
                            )),
                    )
                    .await?;
                }
                (_, None) => {}
            }
        }
        txn.commit().await?;
        woken.wake(state);
        moved += 1;
    }
    Ok(moved)
}

/// Follows runs' endings and approvals' deadlines on this server.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = state.hub.runs().wait_ended() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            if let Err(err) = follow_runs(&state).await {
                tracing::warn!(error = %err, "moving tasks on after their runs failed");
            }
            if let Err(err) = approvals::expire_due(&state).await {
                tracing::warn!(error = %err, "expiring approval requests failed");
            }
        }
    });
}
