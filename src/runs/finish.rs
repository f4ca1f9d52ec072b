//! The one way a run ends. Under the workspace lock it marks the run
//! ended (only if it has not ended, and only while the caller's condition
//! still holds), writes the terminal event, settles its credits and
//! records the activity, all in the caller's transaction.

use chrono::Utc;
use entity::agent_run;
use entity::enums::RunStatus;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use super::service::append_event;
use crate::access::Membership;
use crate::activity::{self, Action, Changes, NewEvent};
use crate::billing::credits;
use crate::error::AppResult;
use crate::events::runs::{RUNS_CHANNEL, notify};

/// How a run ends.
#[derive(Clone, Debug)]
pub enum Ending {
    Succeeded,
    Failed(String),
    Cancelled,
}

impl Ending {
    fn status(&self) -> RunStatus {
        match self {
            Ending::Succeeded => RunStatus::Succeeded,
            Ending::Failed(_) => RunStatus::Failed,
            Ending::Cancelled => RunStatus::Cancelled,
        }
    }

    fn action(&self) -> Action {
        match self {
            Ending::Succeeded => Action::RunSucceeded,
            Ending::Failed(_) => Action::RunFailed,
            Ending::Cancelled => Action::RunCancelled,
        }
    }

    fn error(&self) -> Option<String> {
        match self {
            Ending::Failed(error) => Some(error.clone()),
            _ => None,
        }
    }
}

/// Who ends it, and on what condition.
pub enum Ender<'a> {
    /// The worker holding the run's lease.
    Worker { lease_owner: &'a str },
    /// A member (cancelling), whatever state the run is in.
    Member(&'a Membership),
    /// The system, for a run whose lease lapsed.
    Lapsed,
}

/// Ends the run in `txn`, which holds its workspace's lock. Returns the
/// ended run, or None when it had ended already or the condition no longer
/// holds.
pub async fn end(
    txn: &impl ConnectionTrait,
    run_id: &str,
    ending: Ending,
    ender: Ender<'_>,
) -> AppResult<Option<agent_run::Model>> {
    let now = Utc::now();
    let mut update = agent_run::Entity::update_many()
        .col_expr(
            agent_run::Column::Status,
            Expr::value(ending.status().to_value()),
        )
        .col_expr(agent_run::Column::Error, Expr::value(ending.error()))
        .col_expr(agent_run::Column::FinishedAt, Expr::value(now))
        .col_expr(
            agent_run::Column::LastSeq,
            Expr::col(agent_run::Column::LastSeq).add(1),
        )
        .col_expr(
            agent_run::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            agent_run::Column::LeaseExpiresAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(agent_run::Column::Id.eq(run_id));
    update = match &ender {
        Ender::Worker { lease_owner } => update
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .filter(agent_run::Column::LeaseOwner.eq(*lease_owner)),
        Ender::Member(_) => {
            update.filter(agent_run::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        }
        Ender::Lapsed => update
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .filter(agent_run::Column::LeaseExpiresAt.lt(now)),
    };
    let Some(run) = update.exec_with_returning(txn).await?.into_iter().next() else {
        return Ok(None);
    };
    let mut data = json!({ "creditsUsed": run.credits_used });
    if let Some(error) = &run.error {
        data["error"] = Value::String(error.clone());
    }
    append_event(
        txn,
        &run.id,
        run.last_seq,
        ending.action().name(),
        Some(data),
    )
    .await?;
    credits::settle(txn, &run).await?;
    let changes = Changes::default()
        .created("status", run.status.to_value())
        .created("creditsUsed", run.credits_used);
    let event = match ender {
        Ender::Member(viewer) => NewEvent::by(viewer, ending.action(), &run.id),
        Ender::Worker { .. } => NewEvent {
            actor_kind: static_kind(&run.actor_kind),
            actor_id: run.started_by.as_deref(),
            api_key_id: run.api_key_id.as_deref(),
            ..NewEvent::of_person(&run.workspace_id, None, ending.action(), Some(&run.id))
        },
        Ender::Lapsed => {
            NewEvent::of_person(&run.workspace_id, None, ending.action(), Some(&run.id))
        }
    };
    activity::service::record(txn, event.in_workroom(&run.workroom_id).with(changes)).await?;
    notify(txn, RUNS_CHANNEL, &run.id).await?;
    Ok(Some(run))
}

/// A stored actor kind as the activity log records it.
pub fn static_kind(kind: &str) -> &'static str {
    match kind {
        "API_KEY" => "API_KEY",
        "SYSTEM" => "SYSTEM",
        "AGENT" => "AGENT",
        _ => "USER",
    }
}
