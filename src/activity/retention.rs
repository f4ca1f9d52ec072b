//! How long a workspace keeps its activity: the owner's setting, and the
//! daily job that deletes older events and records that it did.

use chrono::{DateTime, Duration, Utc};
use entity::{activity_event, workspace};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect,
};

use super::{Action, Changes, NewEvent};
use crate::access::{Capability, Membership, Principal};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};

pub const MIN_DAYS: i32 = 7;
pub const MAX_DAYS: i32 = 3650;

/// Sets how many days of activity the workspace keeps (null: for good).
pub async fn set(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    days: Option<i32>,
) -> AppResult<Membership> {
    if let Some(days) = days
        && !(MIN_DAYS..=MAX_DAYS).contains(&days)
    {
        return Err(AppError::bad_input(
            "days",
            format!("activity is kept {MIN_DAYS} to {MAX_DAYS} days, or null for good"),
        ));
    }
    let txn = begin_write(db).await?;
    let mut viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::SetActivityRetention)?;
    let before = viewer.workspace.activity_retention_days;
    if before != days {
        let mut row = viewer.workspace.clone().into_active_model();
        row.activity_retention_days = Set(days);
        viewer.workspace = row.update(&txn).await?;
        super::service::record(
            &txn,
            NewEvent::by(&viewer, Action::ActivityRetentionChanged, workspace_id)
                .with(Changes::default().field("activityRetentionDays", before, days)),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(viewer)
}

/// A cursor naming an event at or before the newest one deleted by
/// retention is CURSOR_EXPIRED.
pub fn check_cursor(workspace: &workspace::Model, seq: i64) -> AppResult<()> {
    if seq > 0 && seq <= workspace.activity_purged_seq {
        return Err(AppError::CursorExpired);
    }
    Ok(())
}

/// Deletes each workspace's events older than its retention allows at
/// `now`, recording `activity.purged` (by the system) with how many went.
/// Returns the number of events deleted.
pub async fn purge_expired(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<u64> {
    let kept: Vec<(String, i32)> = workspace::Entity::find()
        .select_only()
        .column(workspace::Column::Id)
        .column(workspace::Column::ActivityRetentionDays)
        .filter(workspace::Column::ActivityRetentionDays.is_not_null())
        .into_tuple::<(String, Option<i32>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(id, days)| Some((id, days?)))
        .collect();
    let mut deleted = 0;
    for (workspace_id, days) in kept {
        match purge_one(db, &workspace_id, now - Duration::days(i64::from(days))).await {
            Ok(n) => deleted += n,
            // Purged meanwhile by another server's job.
            Err(AppError::NotFound(_)) => {}
            Err(err) => {
                tracing::warn!(error = %err, workspace_id, "deleting old activity failed");
            }
        }
    }
    Ok(deleted)
}

async fn purge_one(
    db: &DatabaseConnection,
    workspace_id: &str,
    cutoff: DateTime<Utc>,
) -> AppResult<u64> {
    let txn = begin_write(db).await?;
    let found = crate::access::load::lock_workspace(&txn, workspace_id).await?;
    let older = || {
        activity_event::Entity::find()
            .filter(activity_event::Column::WorkspaceId.eq(workspace_id))
            .filter(activity_event::Column::CreatedAt.lt(cutoff))
    };
    let newest: Option<Option<i64>> = older()
        .select_only()
        .expr(Expr::col(activity_event::Column::Seq).max())
        .into_tuple()
        .one(&txn)
        .await?;
    let Some(newest) = newest.flatten() else {
        txn.commit().await?;
        return Ok(0);
    };
    let gone = activity_event::Entity::delete_many()
        .filter(activity_event::Column::WorkspaceId.eq(workspace_id))
        .filter(activity_event::Column::CreatedAt.lt(cutoff))
        .filter(activity_event::Column::Seq.lte(newest))
        .exec(&txn)
        .await?
        .rows_affected;
    super::rollup::forget_before(&txn, workspace_id, &cutoff.format("%Y-%m-%d").to_string())
        .await?;
    let mut row = found.into_active_model();
    row.activity_purged_seq = Set(newest);
    row.update(&txn).await?;
    super::service::record(
        &txn,
        NewEvent::of_person(
            workspace_id,
            None,
            Action::ActivityPurged,
            Some(workspace_id),
        )
        .with(
            Changes::default()
                .created("deleted", gone)
                .created("before", cutoff.to_rfc3339()),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(gone)
}
