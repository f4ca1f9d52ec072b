//! Approval requests and decisions, and workrooms' approval policies.
//! Decisions are serialised on the request row (under the workspace lock,
//! and `FOR UPDATE` on the request): a request is decided, and its task
//! moves on, exactly once.

use chrono::Utc;
use entity::enums::{
    ApprovalState, Decision as DbDecision, Role as DbRole, RunStatus, StepKind, StepStatus,
    TaskStatus,
};
use entity::{
    agent_run, approval_decision, approval_policy, approval_request, task, task_step, workroom,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::flow::{Woken, advance, set_status};
use super::service::{APPROVALS_MAX, eligible_role, last_run, steps};
use super::{ApprovalPolicy, ApprovalRequest, Decision};
use crate::access::{Capability, Membership, Principal, role_rank};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tokens::new_id;
use crate::workrooms::{self, Workroom};

const COMMENT_MAX: usize = 2000;

/// What a request is about.
pub struct Subject<'a> {
    pub workroom_id: &'a str,
    pub task_id: Option<&'a str>,
    pub run_id: Option<&'a str>,
}

/// Writes a PENDING request and its `approval.requested` event.
pub async fn create(
    txn: &impl ConnectionTrait,
    state: &AppState,
    by: &Membership,
    subject: Subject<'_>,
    required: i32,
    role: DbRole,
) -> AppResult<approval_request::Model> {
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(state.config.work.approval_ttl).unwrap_or_default();
    let model = approval_request::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(by.workspace_id().to_owned()),
        workroom_id: Set(subject.workroom_id.to_owned()),
        task_id: Set(subject.task_id.map(str::to_owned)),
        run_id: Set(subject.run_id.map(str::to_owned)),
        state: Set(ApprovalState::Pending),
        required_approvals: Set(required),
        eligible_role: Set(role),
        requested_by: Set(by.user_id().map(str::to_owned)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        decided_at: Set(None),
    }
    .insert(txn)
    .await?;
    let mut changes = Changes::default()
        .created("requiredApprovals", required)
        .created("eligibleRole", role.to_value());
    if let Some(run_id) = subject.run_id {
        changes = changes.created("runId", run_id);
    }
    if let Some(task_id) = subject.task_id {
        changes = changes.created("taskId", task_id);
    }
    activity::service::record(
        txn,
        NewEvent::by(by, Action::ApprovalRequested, &model.id)
            .in_workroom(subject.workroom_id)
            .with(changes),
    )
    .await?;
    Ok(model)
}

pub async fn policy(
    db: &impl ConnectionTrait,
    workroom_id: &str,
) -> AppResult<Option<ApprovalPolicy>> {
    Ok(approval_policy::Entity::find_by_id(workroom_id)
        .one(db)
        .await?
        .map(|p| ApprovalPolicy {
            required_approvals: p.required_approvals,
            eligible_role: p.eligible_role.into(),
        }))
}

/// The newest request about a run.
pub async fn for_run(
    db: &impl ConnectionTrait,
    run_id: &str,
) -> AppResult<Option<approval_request::Model>> {
    Ok(approval_request::Entity::find()
        .filter(approval_request::Column::RunId.eq(run_id))
        .order_by_desc(approval_request::Column::CreatedAt)
        .order_by_desc(approval_request::Column::Id)
        .one(db)
        .await?)
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: &str,
) -> AppResult<Option<approval_request::Model>> {
    Ok(approval_request::Entity::find_by_id(id).one(db).await?)
}

pub async fn decisions(
    db: &impl ConnectionTrait,
    request_id: &str,
) -> AppResult<Vec<approval_decision::Model>> {
    Ok(approval_decision::Entity::find()
        .filter(approval_decision::Column::RequestId.eq(request_id))
        .order_by_asc(approval_decision::Column::At)
        .all(db)
        .await?)
}

/// Whether an export of `run` may go ahead under the workroom's policy;
/// Err says which approval is missing.
pub async fn export_allowed(
    db: &impl ConnectionTrait,
    workroom_id: &str,
    run_id: &str,
) -> AppResult<Result<(), String>> {
    let Some(policy) = approval_policy::Entity::find_by_id(workroom_id)
        .one(db)
        .await?
    else {
        return Ok(Ok(()));
    };
    let approved = approval_request::Entity::find()
        .filter(approval_request::Column::RunId.eq(run_id))
        .filter(approval_request::Column::State.eq(ApprovalState::Approved))
        .all(db)
        .await?;
    let meets = approved.iter().any(|r| {
        r.required_approvals >= policy.required_approvals
            && role_rank(r.eligible_role) >= role_rank(policy.eligible_role)
    });
    if meets {
        return Ok(Ok(()));
    }
    Ok(Err(format!(
        "exports of this workroom need {} approval(s) by members at {} or above; this run has no such approved request (ask with requestApproval)",
        policy.required_approvals,
        policy.eligible_role.to_value()
    )))
}

/// Every PENDING request of a task is SUPERSEDED (the task is cancelled).
pub async fn supersede_for_task(db: &impl ConnectionTrait, task_id: &str) -> AppResult<()> {
    approval_request::Entity::update_many()
        .col_expr(
            approval_request::Column::State,
            Expr::value(ApprovalState::Superseded.to_value()),
        )
        .col_expr(approval_request::Column::DecidedAt, Expr::value(Utc::now()))
        .filter(approval_request::Column::TaskId.eq(task_id))
        .filter(approval_request::Column::State.eq(ApprovalState::Pending))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn request(
    state: &AppState,
    caller: &Principal,
    run_id: &str,
) -> AppResult<ApprovalRequest> {
    let run_id = id_arg("runId", run_id)?;
    let txn = begin_write(&state.db).await?;
    let (viewer, run) =
        crate::access::load::locked_target::<agent_run::Entity>(&txn, caller, "run", run_id, |r| {
            &r.workspace_id
        })
        .await?;
    super::service::ensure_visible(&viewer, &run.workroom_id, "run")?;
    viewer.require_in_workroom(Capability::RequestApproval, &run.workroom_id)?;
    let room = workrooms::service::find(&txn, &run.workroom_id).await?;
    workrooms::service::ensure_open(&room)?;
    if run.status != RunStatus::Succeeded {
        return Err(AppError::Conflict(
            "only the output of a SUCCEEDED run can be approved".into(),
        ));
    }
    // A task paused at an APPROVAL step whose request lapsed asks again
    // under the step's terms.
    if let Some(task_id) = &run.task_id
        && let Some(model) = renew_for_step(&txn, state, &viewer, task_id, &run).await?
    {
        txn.commit().await?;
        state.hub.poke();
        return Ok(ApprovalRequest { model, viewer });
    }
    if let Some(pending) = for_run(&txn, run_id).await?
        && pending.state == ApprovalState::Pending
        && pending.expires_at > Utc::now()
    {
        txn.commit().await?;
        return Ok(ApprovalRequest {
            model: pending,
            viewer,
        });
    }
    let Some(policy) = approval_policy::Entity::find_by_id(&run.workroom_id)
        .one(&txn)
        .await?
    else {
        return Err(AppError::Conflict(
            "this workroom has no approval policy: its exports need no approval".into(),
        ));
    };
    let model = create(
        &txn,
        state,
        &viewer,
        Subject {
            workroom_id: &run.workroom_id,
            task_id: run.task_id.as_deref(),
            run_id: Some(run_id),
        },
        policy.required_approvals,
        policy.eligible_role,
    )
    .await?;
    txn.commit().await?;
    state.hub.poke();
    Ok(ApprovalRequest { model, viewer })
}

async fn renew_for_step(
    txn: &DatabaseTransaction,
    state: &AppState,
    viewer: &Membership,
    task_id: &str,
    run: &agent_run::Model,
) -> AppResult<Option<approval_request::Model>> {
    let Some(task) = task::Entity::find_by_id(task_id).one(txn).await? else {
        return Ok(None);
    };
    if task.status != TaskStatus::AwaitingApproval {
        return Ok(None);
    }
    let Some(step) = steps(txn, task_id)
        .await?
        .into_iter()
        .find(|s| s.status != StepStatus::Done)
    else {
        return Ok(None);
    };
    if step.kind != StepKind::Approval || step.status != StepStatus::Waiting {
        return Ok(None);
    }
    let current = match &step.approval_id {
        Some(id) => find(txn, id).await?,
        None => None,
    };
    if current.is_some_and(|r| r.state == ApprovalState::Pending && r.expires_at > Utc::now()) {
        return Ok(None);
    }
    if last_run(txn, task_id).await?.map(|r| r.id) != Some(run.id.clone()) {
        return Ok(None);
    }
    let model = create(
        txn,
        state,
        viewer,
        Subject {
            workroom_id: &task.workroom_id,
            task_id: Some(task_id),
            run_id: Some(&run.id),
        },
        step.required_approvals.unwrap_or(1),
        step.eligible_role.unwrap_or(DbRole::Member),
    )
    .await?;
    let mut row = step.into_active_model();
    row.approval_id = Set(Some(model.id.clone()));
    row.update(txn).await?;
    Ok(Some(model))
}

async fn mark(
    txn: &impl ConnectionTrait,
    request: approval_request::Model,
    state: ApprovalState,
) -> AppResult<approval_request::Model> {
    let mut row = request.into_active_model();
    row.state = Set(state);
    row.decided_at = Set(Some(Utc::now()));
    Ok(row.update(txn).await?)
}

pub async fn decide(
    state: &AppState,
    caller: &Principal,
    request_id: &str,
    decision: Decision,
    comment: Option<String>,
) -> AppResult<ApprovalRequest> {
    let request_id = id_arg("requestId", request_id)?;
    let comment = comment
        .as_deref()
        .map(|c| crate::text::multi_line("comment", c, COMMENT_MAX))
        .transpose()?
        .flatten();
    let txn = begin_write(&state.db).await?;
    let (viewer, _) = crate::access::load::locked_target::<approval_request::Entity>(
        &txn,
        caller,
        "approval request",
        request_id,
        |r| &r.workspace_id,
    )
    .await?;
    let request = approval_request::Entity::find_by_id(request_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("approval request"))?;
    super::service::ensure_visible(&viewer, &request.workroom_id, "approval request")?;
    viewer.require_in_workroom(Capability::DecideApproval, &request.workroom_id)?;
    let member = viewer.member.clone().ok_or(AppError::Forbidden(
        "a workspace API key decides nothing; members decide",
    ))?;
    if request.state != ApprovalState::Pending {
        return Err(AppError::Conflict(format!(
            "this request is {}; it takes no more decisions",
            request.state.to_value()
        )));
    }
    if request.expires_at <= Utc::now() {
        expire(&txn, request).await?;
        txn.commit().await?;
        state.hub.poke();
        return Err(AppError::Conflict(
            "this request expired; ask for approval again".into(),
        ));
    }
    if role_rank(member.role) < role_rank(request.eligible_role) {
        return Err(AppError::Forbidden(
            "deciding on this request needs a higher role",
        ));
    }
    let decision: DbDecision = decision.into();
    if decision == DbDecision::Approve && is_own_work(&txn, &request, &member.user_id).await? {
        return Err(AppError::Forbidden(
            "you may not approve work you created or started",
        ));
    }
    let already = approval_decision::Entity::find()
        .filter(approval_decision::Column::RequestId.eq(request_id))
        .filter(approval_decision::Column::MemberId.eq(&member.id))
        .count(&txn)
        .await?;
    if already > 0 {
        return Err(AppError::Conflict(
            "you have decided on this request already".into(),
        ));
    }
    approval_decision::ActiveModel {
        request_id: Set(request_id.to_owned()),
        member_id: Set(member.id.clone()),
        user_id: Set(member.user_id.clone()),
        decision: Set(decision),
        comment: Set(comment.clone()),
        at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let mut changes = Changes::default().created("decision", decision.to_value());
    if let Some(comment) = comment {
        changes = changes.created("comment", comment);
    }
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::ApprovalDecided, request_id)
            .in_workroom(&request.workroom_id)
            .with(changes),
    )
    .await?;
    let mut woken = Woken::default();
    let request = match decision {
        DbDecision::Reject => {
            let request = mark(&txn, request, ApprovalState::Rejected).await?;
            record_state(&txn, &viewer, &request, Action::ApprovalRejected).await?;
            if let Some((task, step)) = waiting_step(&txn, &request).await? {
                let mut row = step.into_active_model();
                row.status = Set(StepStatus::Rejected);
                row.update(&txn).await?;
                set_status(
                    &txn,
                    &viewer,
                    task,
                    TaskStatus::Rejected,
                    Action::TaskRejected,
                )
                .await?;
            }
            request
        }
        DbDecision::Approve => {
            let approvals = approval_decision::Entity::find()
                .filter(approval_decision::Column::RequestId.eq(request_id))
                .filter(approval_decision::Column::Decision.eq(DbDecision::Approve))
                .count(&txn)
                .await?;
            if approvals < request.required_approvals as u64 {
                request
            } else {
                let request = mark(&txn, request, ApprovalState::Approved).await?;
                record_state(&txn, &viewer, &request, Action::ApprovalApproved).await?;
                if let Some((task, step)) = waiting_step(&txn, &request).await? {
                    let mut row = step.into_active_model();
                    row.status = Set(StepStatus::Done);
                    row.update(&txn).await?;
                    let task = set_status(
                        &txn,
                        &viewer,
                        task,
                        TaskStatus::InProgress,
                        Action::TaskUpdated,
                    )
                    .await?;
                    advance(&txn, state, task, &viewer, false, &mut woken).await?;
                }
                request
            }
        }
    };
    txn.commit().await?;
    woken.wake(state);
    Ok(ApprovalRequest {
        model: request,
        viewer,
    })
}

async fn record_state(
    txn: &impl ConnectionTrait,
    by: &Membership,
    request: &approval_request::Model,
    action: Action,
) -> AppResult<()> {
    activity::service::record(
        txn,
        NewEvent::by(by, action, &request.id)
            .in_workroom(&request.workroom_id)
            .with(Changes::default().created("state", request.state.to_value())),
    )
    .await?;
    Ok(())
}

/// The task paused at the APPROVAL step this request is for.
async fn waiting_step(
    txn: &impl ConnectionTrait,
    request: &approval_request::Model,
) -> AppResult<Option<(task::Model, task_step::Model)>> {
    let Some(step) = task_step::Entity::find()
        .filter(task_step::Column::ApprovalId.eq(&request.id))
        .filter(task_step::Column::Status.eq(StepStatus::Waiting))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let Some(task) = task::Entity::find_by_id(&step.task_id).one(txn).await? else {
        return Ok(None);
    };
    Ok((task.status == TaskStatus::AwaitingApproval).then_some((task, step)))
}

/// Whether the person created or started the task, or started the run.
async fn is_own_work(
    db: &impl ConnectionTrait,
    request: &approval_request::Model,
    user_id: &str,
) -> AppResult<bool> {
    let me = Some(user_id.to_owned());
    if let Some(task_id) = &request.task_id
        && let Some(task) = task::Entity::find_by_id(task_id).one(db).await?
        && (task.created_by == me || task.started_by == me)
    {
        return Ok(true);
    }
    if let Some(run_id) = &request.run_id
        && let Some(run) = agent_run::Entity::find_by_id(run_id).one(db).await?
        && run.started_by == me
    {
        return Ok(true);
    }
    Ok(false)
}

async fn expire(txn: &impl ConnectionTrait, request: approval_request::Model) -> AppResult<()> {
    let request = mark(txn, request, ApprovalState::Expired).await?;
    activity::service::record(
        txn,
        NewEvent::of_person(
            &request.workspace_id,
            None,
            Action::ApprovalExpired,
            Some(&request.id),
        )
        .in_workroom(&request.workroom_id)
        .with(Changes::default().created("state", "EXPIRED")),
    )
    .await?;
    Ok(())
}

/// Marks EXPIRED the pending requests past their deadline; their tasks
/// stay paused until a new request is made.
pub async fn expire_due(state: &AppState) -> AppResult<usize> {
    let due = approval_request::Entity::find()
        .filter(approval_request::Column::State.eq(ApprovalState::Pending))
        .filter(approval_request::Column::ExpiresAt.lte(Utc::now()))
        .limit(100)
        .all(&state.db)
        .await?;
    let mut expired = 0;
    for request in due {
        let txn = begin_write(&state.db).await?;
        crate::access::load::lock_workspace(&txn, &request.workspace_id).await?;
        if let Some(current) = find(&txn, &request.id).await?
            && current.state == ApprovalState::Pending
        {
            expire(&txn, current).await?;
            expired += 1;
        }
        txn.commit().await?;
    }
    if expired > 0 {
        state.hub.poke();
    }
    Ok(expired)
}

pub async fn set_policy(
    state: &AppState,
    caller: &Principal,
    workroom_id: &str,
    required: i32,
    role: DbRole,
) -> AppResult<Workroom> {
    let workroom_id = id_arg("workroomId", workroom_id)?;
    if !(1..=APPROVALS_MAX).contains(&required) {
        return Err(AppError::bad_input(
            "requiredApprovals",
            format!("requiredApprovals must be from 1 to {APPROVALS_MAX}"),
        ));
    }
    let role = eligible_role(Some(role))?;
    let txn = begin_write(&state.db).await?;
    let (viewer, room) = crate::access::load::locked_target::<workroom::Entity>(
        &txn,
        caller,
        "workroom",
        workroom_id,
        |w| &w.workspace_id,
    )
    .await?;
    workrooms::service::ensure_visible(&viewer, workroom_id)?;
    viewer.require(Capability::SetApprovalPolicy)?;
    workrooms::service::ensure_open(&room)?;
    let before = policy(&txn, workroom_id).await?;
    approval_policy::Entity::delete_by_id(workroom_id)
        .exec(&txn)
        .await?;
    approval_policy::ActiveModel {
        workroom_id: Set(workroom_id.to_owned()),
        required_approvals: Set(required),
        eligible_role: Set(role),
    }
    .insert(&txn)
    .await?;
    let show = |p: Option<(i32, String)>| {
        p.map(|(n, r)| serde_json::json!({ "requiredApprovals": n, "eligibleRole": r }))
    };
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::WorkroomUpdated, workroom_id)
            .in_workroom(workroom_id)
            .with(Changes::default().field(
                "approvalPolicy",
                show(before.map(|p| {
                    (
                        p.required_approvals,
                        DbRole::from(p.eligible_role).to_value(),
                    )
                })),
                show(Some((required, role.to_value()))),
            )),
    )
    .await?;
    txn.commit().await?;
    state.hub.poke();
    Ok(Workroom {
        model: room,
        viewer,
    })
}
