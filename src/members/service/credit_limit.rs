//! A member's own monthly credit limit (BILLING FULL sets it).

use entity::member;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::access::{Capability, Membership, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::billing::credits;
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::AppResult;
use crate::members::Member;

pub async fn set(
    db: &DatabaseConnection,
    caller: &Principal,
    member_id: &str,
    limit: Option<i64>,
) -> AppResult<Member> {
    let member_id = id_arg("memberId", member_id)?;
    let txn = begin_write(db).await?;
    let (viewer, target) = crate::access::load::locked_target::<member::Entity>(
        &txn,
        caller,
        "member",
        member_id,
        |m| &m.workspace_id,
    )
    .await?;
    viewer.require(Capability::SetCreditLimit)?;
    let before = credits::set_member_limit(&txn, member_id, limit).await?;
    if before != limit {
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::CreditsLimitSet, member_id)
                .with(Changes::default().field("monthlyCreditLimit", before, limit)),
        )
        .await?;
    }
    let member = super::one(&txn, &viewer.workspace, target).await?;
    txn.commit().await?;
    Ok(member)
}

/// The member's limit and what it used this month: for the member itself
/// and for readers with BILLING VIEW; FORBIDDEN for others.
pub async fn figures(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    member: &member::Model,
) -> AppResult<(Option<i64>, i64)> {
    if viewer.user_id() != Some(member.user_id.as_str()) {
        viewer.require(Capability::ReadCredits)?;
    }
    let limit = credits::member_limit(db, &member.id).await?;
    let used = credits::used_this_month(db, &member.workspace_id, &member.user_id).await?;
    Ok((limit, used))
}
