//! Membership rules and writes: joining, roles, scopes, removal, bans,
//! leaving and ownership transfer.

use std::collections::HashMap;

use chrono::Utc;
use entity::enums::{MemberStatus, Role as DbRole};
use entity::{custom_role, member, user, workroom, workspace};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::{Member, MemberConnection, SetMemberAccessInput};
use crate::access::Principal;
use crate::access::{
    Access, Area, AreaMap, Capability, Effective, Membership, WorkroomMap, can_manage_role,
    to_json, within_own_access, within_reach,
};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::{PageInfo, id_arg};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::tokens::new_id;

pub mod credit_limit;
mod ownership;
mod pages;
pub use ownership::{leave, transfer_ownership};
pub use pages::{count, first_pages, one, page, roles_of, with_users};

/// How someone joins: a built-in role, maybe a custom role, maybe scopes.
#[derive(Clone, Debug)]
pub struct JoinAs {
    pub role: DbRole,
    pub custom_role_id: Option<String>,
    pub area_access: Option<Value>,
    pub all_workrooms: Option<bool>,
    pub workroom_access: Option<Value>,
}

impl JoinAs {
    pub fn role(role: DbRole) -> Self {
        Self {
            role,
            custom_role_id: None,
            area_access: None,
            all_workrooms: None,
            workroom_access: None,
        }
    }
}

/// Adds a user to a workspace with a role, in its own transaction, holding
/// the seat limit.
pub async fn add_member(
    db: &DatabaseConnection,
    workspace_id: &str,
    user_id: &str,
    role: DbRole,
) -> AppResult<member::Model> {
    let txn = begin_write(db).await?;
    let workspace = crate::access::load::lock_workspace(&txn, workspace_id).await?;
    let member = join(&txn, &workspace, user_id, JoinAs::role(role), 0).await?;
    txn.commit().await?;
    Ok(member)
}

/// Adds a member inside the caller's transaction, which must hold the
/// workspace lock; checks the seat limit and records `member.joined`.
/// `freed` seats are released by the same change (an accepted invitation).
pub async fn join(
    db: &impl ConnectionTrait,
    workspace: &workspace::Model,
    user_id: &str,
    how: JoinAs,
    freed: u64,
) -> AppResult<member::Model> {
    if workspace.deleted_at.is_some() {
        return Err(AppError::WorkspaceDeleted);
    }
    if how.role == DbRole::Owner {
        return Err(AppError::bad_input(
            "role",
            "ownership is only ever transferred",
        ));
    }
    if let Some(existing) = crate::access::load::find_member(db, &workspace.id, user_id).await? {
        return Err(if existing.status == MemberStatus::Banned {
            AppError::Forbidden("banned from this workspace")
        } else {
            AppError::Conflict("already a member of this workspace".into())
        });
    }
    crate::billing::ensure_seats(db, workspace, 1, freed).await?;
    let member = member::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace.id.clone()),
        user_id: Set(user_id.to_owned()),
        role: Set(how.role),
        status: Set(MemberStatus::Active),
        joined_at: Set(Utc::now()),
        custom_role_id: Set(how.custom_role_id),
        area_access: Set(how.area_access),
        all_workrooms: Set(how.all_workrooms),
        workroom_access: Set(how.workroom_access),
    }
    .insert(db)
    .await?;
    activity::service::record(
        db,
        NewEvent::of_person(
            &workspace.id,
            Some(user_id),
            Action::MemberJoined,
            Some(&member.id),
        )
        .with(Changes::default().created("role", how.role.to_value())),
    )
    .await?;
    Ok(member)
}

/// The owner row of a new workspace.
pub async fn insert_owner(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    user_id: &str,
) -> AppResult<member::Model> {
    Ok(member::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        role: Set(DbRole::Owner),
        status: Set(MemberStatus::Active),
        joined_at: Set(Utc::now()),
        custom_role_id: Set(None),
        area_access: Set(None),
        all_workrooms: Set(None),
        workroom_access: Set(None),
    }
    .insert(db)
    .await?)
}

/// In a write transaction: the member `member_id` and the actor's locked
/// membership of its workspace. NOT_FOUND unless the actor belongs there.
async fn actor_and_target(
    db: &impl ConnectionTrait,
    caller: &Principal,
    member_id: &str,
) -> AppResult<(Membership, member::Model)> {
    let member_id = id_arg("memberId", member_id)?;
    let (actor, target) = crate::access::load::locked_target::<member::Entity>(
        db,
        caller,
        "member",
        member_id,
        |m| &m.workspace_id,
    )
    .await?;
    Ok((actor, target))
}

async fn record_member_event(
    db: &impl ConnectionTrait,
    actor: &Membership,
    action: Action,
    target: &member::Model,
    changes: Changes,
) -> AppResult<()> {
    activity::service::record(db, NewEvent::by(actor, action, &target.id).with(changes)).await?;
    Ok(())
}

fn ensure_may_act_on(actor: &Membership, target: &member::Model) -> AppResult<()> {
    if target.role == DbRole::Owner {
        return Err(AppError::Forbidden(
            "only an ownership transfer changes the owner",
        ));
    }
    if !can_manage_role(actor, target.role, target.role) {
        return Err(AppError::Forbidden("this member's role is above yours"));
    }
    Ok(())
}

/// Refuses a change whose result reaches beyond the actor: call it with the
/// membership as it would be (or as just written, inside the transaction).
pub async fn ensure_within_reach(
    db: &impl ConnectionTrait,
    actor: &Membership,
    result: &member::Model,
) -> AppResult<()> {
    let custom_role = crate::access::load::custom_role_of(db, result).await?;
    let effective = Effective::compute(&actor.workspace, result, custom_role.as_ref());
    if within_reach(actor, &effective) {
        Ok(())
    } else {
        Err(AppError::Forbidden("nobody grants access above their own"))
    }
}

/// The membership an invitation or a join would make, for checks.
pub fn would_be(workspace_id: &str, how: &JoinAs) -> member::Model {
    member::Model {
        id: String::new(),
        workspace_id: workspace_id.to_owned(),
        user_id: String::new(),
        role: how.role,
        status: MemberStatus::Active,
        joined_at: Utc::now(),
        custom_role_id: how.custom_role_id.clone(),
        area_access: how.area_access.clone(),
        all_workrooms: how.all_workrooms,
        workroom_access: how.workroom_access.clone(),
    }
}

/// Gives a member a built-in role (and drops any custom role).
pub async fn change_role(
    db: &DatabaseConnection,
    caller: &Principal,
    member_id: &str,
    role: DbRole,
) -> AppResult<Member> {
    let txn = begin_write(db).await?;
    let (actor, target) = actor_and_target(&txn, caller, member_id).await?;
    actor.require(Capability::ChangeMemberRole)?;
    if role == DbRole::Owner {
        return Err(AppError::bad_input(
            "role",
            "ownership moves only with transferOwnership",
        ));
    }
    ensure_may_act_on(&actor, &target)?;
    if !can_manage_role(&actor, target.role, role) {
        return Err(AppError::Forbidden("nobody grants a role above their own"));
    }
    if Some(target.user_id.as_str()) == actor.user_id() && role != DbRole::Admin {
        return Err(AppError::Forbidden(
            "you cannot demote yourself below ADMIN",
        ));
    }
    let changes = Changes::default()
        .field("role", target.role.to_value(), role.to_value())
        .field("customRoleId", target.custom_role_id.clone(), None);
    let mut row = target.clone().into_active_model();
    row.role = Set(role);
    row.custom_role_id = Set(None);
    let updated = row.update(&txn).await?;
    ensure_within_reach(&txn, &actor, &updated).await?;
    if !changes.is_empty() {
        record_member_event(&txn, &actor, Action::MemberRoleChanged, &updated, changes).await?;
    }
    let member = one(&txn, &actor.workspace, updated).await?;
    txn.commit().await?;
    Ok(member)
}

/// Gives a member a custom role.
pub async fn assign_role(
    db: &DatabaseConnection,
    caller: &Principal,
    member_id: &str,
    role_id: &str,
) -> AppResult<Member> {
    let txn = begin_write(db).await?;
    let (actor, target) = actor_and_target(&txn, caller, member_id).await?;
    actor.require(Capability::AssignRole)?;
    let role = custom_role::Entity::find_by_id(id_arg("roleId", role_id)?)
        .one(&txn)
        .await?
        .filter(|r| r.workspace_id == actor.workspace_id())
        .ok_or(AppError::NotFound("role"))?;
    ensure_may_act_on(&actor, &target)?;
    if Some(target.user_id.as_str()) == actor.user_id() {
        return Err(AppError::Forbidden(
            "you cannot demote yourself below ADMIN",
        ));
    }
    let preset = crate::access::area_map(Some(&role.area_access));
    if !can_manage_role(&actor, target.role, role.base_role) || !within_own_access(&actor, &preset)
    {
        return Err(AppError::Forbidden("this role grants more than you hold"));
    }
    let changes = Changes::default()
        .field("role", target.role.to_value(), role.base_role.to_value())
        .field(
            "customRoleId",
            target.custom_role_id.clone(),
            Some(role.id.clone()),
        );
    let mut row = target.clone().into_active_model();
    row.role = Set(role.base_role);
    row.custom_role_id = Set(Some(role.id.clone()));
    let updated = row.update(&txn).await?;
    ensure_within_reach(&txn, &actor, &updated).await?;
    if !changes.is_empty() {
        record_member_event(&txn, &actor, Action::MemberRoleChanged, &updated, changes).await?;
    }
    let member = one(&txn, &actor.workspace, updated).await?;
    txn.commit().await?;
    Ok(member)
}

/// Checks area levels against what the actor holds; returns them as stored.
pub fn checked_areas(actor: &Membership, areas: &[(Area, Access)]) -> AppResult<AreaMap> {
    let map: AreaMap = areas.iter().copied().collect();
    if map.len() != areas.len() {
        return Err(AppError::bad_input("areas", "each area at most once"));
    }
    if !within_own_access(actor, &map) {
        return Err(AppError::Forbidden("nobody grants access above their own"));
    }
    Ok(map)
}

/// Checks workroom levels: each workroom of this workspace, none above what
/// the actor reaches there.
pub async fn checked_workrooms(
    db: &impl ConnectionTrait,
    actor: &Membership,
    workrooms: &[(String, Access)],
) -> AppResult<WorkroomMap> {
    let map: WorkroomMap = workrooms.iter().cloned().collect();
    if map.len() != workrooms.len() {
        return Err(AppError::bad_input(
            "workrooms",
            "each workroom at most once",
        ));
    }
    if map.len() > 500 {
        return Err(AppError::bad_input("workrooms", "at most 500 workrooms"));
    }
    let ids: Vec<&String> = map.keys().collect();
    let found = workroom::Entity::find()
        .filter(workroom::Column::WorkspaceId.eq(actor.workspace_id()))
        .filter(workroom::Column::Id.is_in(ids))
        .count(db)
        .await?;
    if found != map.len() as u64 {
        return Err(AppError::NotFound("workroom"));
    }
    if map
        .iter()
        .any(|(id, level)| *level > actor.workroom_access(id))
    {
        return Err(AppError::Forbidden("nobody grants access above their own"));
    }
    Ok(map)
}

/// Sets a member's own scopes: area overrides and workroom access.
pub async fn set_access(
    db: &DatabaseConnection,
    caller: &Principal,
    input: SetMemberAccessInput,
) -> AppResult<Member> {
    let txn = begin_write(db).await?;
    let (actor, target) = actor_and_target(&txn, caller, &input.member_id).await?;
    actor.require(Capability::SetMemberAccess)?;
    ensure_may_act_on(&actor, &target)?;
    let mut row = target.clone().into_active_model();
    let mut changes = Changes::default();
    if let Some(areas) = &input.areas {
        let pairs: Vec<(Area, Access)> = areas.iter().map(|a| (a.area, a.access)).collect();
        let map = checked_areas(&actor, &pairs)?;
        let value = (!map.is_empty()).then(|| to_json(&map));
        changes = changes.field("areas", target.area_access.clone(), value.clone());
        row.area_access = Set(value);
    }
    // Listing workrooms without saying otherwise means "only these".
    let all = input
        .all_workrooms
        .or(input.workrooms.as_ref().map(|_| false));
    if let Some(all) = all {
        changes = changes.field("allWorkrooms", target.all_workrooms, Some(all));
        row.all_workrooms = Set(Some(all));
    }
    if let Some(workrooms) = &input.workrooms {
        let pairs: Vec<(String, Access)> = workrooms
            .iter()
            .map(|w| (w.workroom_id.to_string(), w.access))
            .collect();
        let map = checked_workrooms(&txn, &actor, &pairs).await?;
        let value = Some(to_json(&map));
        changes = changes.field("workrooms", target.workroom_access.clone(), value.clone());
        row.workroom_access = Set(value);
    }
    let updated = if changes.is_empty() {
        target
    } else {
        let updated = row.update(&txn).await?;
        ensure_within_reach(&txn, &actor, &updated).await?;
        record_member_event(&txn, &actor, Action::MemberAccessChanged, &updated, changes).await?;
        updated
    };
    let member = one(&txn, &actor.workspace, updated).await?;
    txn.commit().await?;
    Ok(member)
}

/// Removes a member at once; what they wrote and the audit trail stay.
pub async fn remove(
    db: &DatabaseConnection,
    caller: &Principal,
    member_id: &str,
) -> AppResult<Member> {
    let txn = begin_write(db).await?;
    let (actor, target) = actor_and_target(&txn, caller, member_id).await?;
    actor.require(Capability::RemoveMember)?;
    if Some(target.user_id.as_str()) == actor.user_id() {
        return Err(AppError::bad_input(
            "memberId",
            "use leaveWorkspace to leave",
        ));
    }
    ensure_may_act_on(&actor, &target)?;
    let removed = one(&txn, &actor.workspace, target.clone()).await?;
    target.clone().delete(&txn).await?;
    record_member_event(
        &txn,
        &actor,
        Action::MemberRemoved,
        &target,
        Changes::default().field("role", Some(target.role.to_value()), None),
    )
    .await?;
    txn.commit().await?;
    Ok(removed)
}

/// Bans or unbans a member. A banned member cannot act, holds no seat, and
/// cannot be invited again until unbanned.
pub async fn set_banned(
    db: &DatabaseConnection,
    caller: &Principal,
    member_id: &str,
    banned: bool,
) -> AppResult<Member> {
    let txn = begin_write(db).await?;
    let (actor, target) = actor_and_target(&txn, caller, member_id).await?;
    actor.require(Capability::BanMember)?;
    if Some(target.user_id.as_str()) == actor.user_id() {
        return Err(AppError::bad_input("memberId", "you cannot ban yourself"));
    }
    ensure_may_act_on(&actor, &target)?;
    let (status, action) = if banned {
        (MemberStatus::Banned, Action::MemberBanned)
    } else {
        (MemberStatus::Active, Action::MemberUnbanned)
    };
    let updated = if target.status == status {
        target
    } else {
        if !banned {
            crate::billing::ensure_seats(&txn, &actor.workspace, 1, 0).await?;
        }
        let changes =
            Changes::default().field("status", target.status.to_value(), status.to_value());
        let mut row = target.into_active_model();
        row.status = Set(status);
        let updated = row.update(&txn).await?;
        record_member_event(&txn, &actor, action, &updated, changes).await?;
        updated
    };
    let member = one(&txn, &actor.workspace, updated).await?;
    txn.commit().await?;
    Ok(member)
}

/// What a member of this role may not see in the navigation.
pub fn hidden_navigation(workspace: &workspace::Model, role: DbRole) -> Vec<String> {
    if role == DbRole::Owner {
        return Vec::new();
    }
    workspace
        .hidden_navigation
        .as_ref()
        .and_then(|v| v.get(role.to_value()))
        .and_then(|keys| serde_json::from_value(keys.clone()).ok())
        .unwrap_or_default()
}

/// The effective access of any member (not only the caller).
pub fn effective_of(
    workspace: &workspace::Model,
    member: &member::Model,
    custom_role: Option<&custom_role::Model>,
) -> Effective {
    Effective::compute(workspace, member, custom_role)
}
