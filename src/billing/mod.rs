//! The plan's side of a workspace: seats, and the credit pool (`credits`). Seats
//! count active members and pending invitations against the plan's limit,
//! checked under the workspace lock by every change that takes one.

pub mod credits;

use async_graphql::SimpleObject;
use chrono::Utc;
use entity::enums::{InvitationStatus, MemberStatus, Plan as DbPlan};
use entity::{invitation, member, workspace};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::error::{AppError, AppResult};

/// Seats of a plan: active members and pending invitations count.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { Seats: { merge: true } }`).
#[derive(SimpleObject)]
pub struct Seats {
    /// Active members; banned members hold no seat.
    pub used: u64,
    /// Pending invitations that have not expired.
    pub pending: u64,
    /// Null: unlimited.
    pub limit: Option<u64>,
}

/// Seats each plan holds; None is unlimited.
pub fn seat_limit(plan: DbPlan) -> Option<u64> {
    match plan {
        DbPlan::FreeTrial | DbPlan::Solo => Some(1),
        DbPlan::Starter => Some(2),
        DbPlan::Pro => Some(5),
        DbPlan::Growth => Some(15),
        DbPlan::Agency => None,
    }
}

/// Active members, the seats in use.
async fn count_active(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<u64> {
    Ok(member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::Status.eq(MemberStatus::Active))
        .count(db)
        .await?)
}

/// Pending invitations that still hold a seat.
async fn count_pending(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<u64> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(workspace_id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .count(db)
        .await?)
}

pub async fn seats(db: &impl ConnectionTrait, workspace: &workspace::Model) -> AppResult<Seats> {
    Ok(Seats {
        used: count_active(db, &workspace.id).await?,
        pending: count_pending(db, &workspace.id).await?,
        limit: seat_limit(workspace.plan),
    })
}

/// Fails with SEAT_LIMIT_REACHED unless `requested` more seats fit the plan,
/// counting `freed` seats that the same change releases (an invitation being
/// accepted). Call it holding the workspace lock.
pub async fn ensure_seats(
    db: &impl ConnectionTrait,
    workspace: &workspace::Model,
    requested: u64,
    freed: u64,
) -> AppResult<()> {
    let seats = seats(db, workspace).await?;
    match seats.limit {
        Some(limit) if (seats.used + seats.pending + requested).saturating_sub(freed) > limit => {
            Err(AppError::SeatLimitReached {
                used: seats.used,
                pending: seats.pending,
                limit: seats.limit,
                requested,
            })
        }
        _ => Ok(()),
    }
}
