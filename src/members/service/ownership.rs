//! Leaving a workspace, and handing it to another member.

use super::*;

/// Leaves a workspace; the owner must transfer ownership first.
pub async fn leave(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
) -> AppResult<()> {
    let txn = begin_write(db).await?;
    let actor = crate::access::load::locked(&txn, workspace_id, caller).await?;
    actor.require(Capability::LeaveWorkspace)?;
    if actor.role() == DbRole::Owner {
        return Err(AppError::Forbidden(
            "the owner transfers ownership before leaving",
        ));
    }
    let me = actor.own_member()?.clone();
    me.clone().delete(&txn).await?;
    record_member_event(&txn, &actor, Action::MemberLeft, &me, Changes::default()).await?;
    txn.commit().await?;
    Ok(())
}

/// Hands the workspace to another active member; the old owner becomes
/// ADMIN. The unique index on owners holds exactly one at every moment.
pub async fn transfer_ownership(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    to_member_id: &str,
) -> AppResult<Membership> {
    let txn = begin_write(db).await?;
    let actor = crate::access::load::locked(&txn, workspace_id, caller).await?;
    actor.require(Capability::TransferOwnership)?;
    let target = member::Entity::find_by_id(id_arg("toMemberId", to_member_id)?)
        .one(&txn)
        .await?
        .filter(|m| m.workspace_id == actor.workspace_id())
        .ok_or(AppError::NotFound("member"))?;
    let me = actor.own_member()?.clone();
    if target.id == me.id {
        return Err(AppError::bad_input(
            "toMemberId",
            "you already own this workspace",
        ));
    }
    if target.status != MemberStatus::Active {
        return Err(AppError::bad_input(
            "toMemberId",
            "only an active member can own",
        ));
    }
    let mut old = me.into_active_model();
    old.role = Set(DbRole::Admin);
    let old = old.update(&txn).await?;
    let mut new = target.clone().into_active_model();
    new.role = Set(DbRole::Owner);
    new.custom_role_id = Set(None);
    new.area_access = Set(None);
    new.all_workrooms = Set(None);
    new.workroom_access = Set(None);
    new.update(&txn).await?;
    activity::service::record(
        &txn,
        NewEvent::by(
            &actor,
            Action::WorkspaceOwnershipTransferred,
            actor.workspace_id(),
        )
        .with(Changes::default().field(
            "ownerId",
            actor.user_id().unwrap_or_default().to_owned(),
            target.user_id.clone(),
        )),
    )
    .await?;
    txn.commit().await?;
    Ok(Membership::new(actor.workspace, old, None))
}
