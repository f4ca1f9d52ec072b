//! Membership rules and writes.

use std::collections::HashMap;

use chrono::Utc;
use entity::enums::{MemberStatus, Role as DbRole};
use entity::{member, user, workspace};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Member, MemberConnection};
use crate::access::{Area, Membership};
use crate::activity::{self, Changes, NewEvent};
use crate::auth::tokens::new_id;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::graphql::PageInfo;
use crate::workspaces;

/// Whether this membership lets its holder see the workspace at all: active
/// members do; a deleted workspace stays visible to its owner alone.
fn visible(workspace: &workspace::Model, member: &member::Model) -> bool {
    member.status == MemberStatus::Active
        && (workspace.deleted_at.is_none() || member.role == DbRole::Owner)
}

async fn find_member(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    user_id: &str,
) -> AppResult<Option<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// The caller's membership of a workspace it may see, read without locks.
pub async fn visible_membership(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    user_id: &str,
) -> AppResult<Option<Membership>> {
    let Some(workspace) = workspace::Entity::find_by_id(workspace_id).one(db).await? else {
        return Ok(None);
    };
    let member = find_member(db, workspace_id, user_id).await?;
    Ok(member
        .filter(|m| visible(&workspace, m))
        .map(|member| Membership { workspace, member }))
}

/// Inside a write transaction: locks the workspace, then reads the caller's
/// membership. NOT_FOUND when the caller may not see the workspace.
pub async fn locked_membership(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    user_id: &str,
) -> AppResult<Membership> {
    let workspace = workspaces::service::lock(db, workspace_id).await?;
    let member = find_member(db, workspace_id, user_id)
        .await?
        .filter(|m| visible(&workspace, m))
        .ok_or(AppError::NotFound("workspace"))?;
    Ok(Membership { workspace, member })
}

/// Active members, the seats in use.
pub async fn count_active(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<u64> {
    Ok(member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::Status.eq(MemberStatus::Active))
        .count(db)
        .await?)
}

/// Adds a user to a workspace with a role, in its own transaction, holding
/// the seat limit. Invitations end here once accepted.
pub async fn add_member(
    db: &DatabaseConnection,
    workspace_id: &str,
    user_id: &str,
    role: DbRole,
) -> AppResult<member::Model> {
    let txn = begin_write(db).await?;
    let workspace = workspaces::service::lock(&txn, workspace_id).await?;
    let member = join(&txn, &workspace, user_id, role).await?;
    txn.commit().await?;
    Ok(member)
}

/// Adds a member inside the caller's transaction, which must hold the
/// workspace lock; checks the seat limit and records `member.joined`.
pub async fn join(
    db: &impl ConnectionTrait,
    workspace: &workspace::Model,
    user_id: &str,
    role: DbRole,
) -> AppResult<member::Model> {
    if workspace.deleted_at.is_some() {
        return Err(AppError::WorkspaceDeleted);
    }
    if role == DbRole::Owner {
        return Err(AppError::bad_input(
            "role",
            "ownership is only ever transferred",
        ));
    }
    if find_member(db, &workspace.id, user_id).await?.is_some() {
        return Err(AppError::Conflict(
            "already a member of this workspace".into(),
        ));
    }
    workspaces::service::ensure_seats(db, workspace, 1).await?;
    let member = insert(db, &workspace.id, user_id, role).await?;
    activity::service::record(
        db,
        NewEvent {
            workspace_id: &workspace.id,
            actor_id: Some(user_id),
            action: "member.joined",
            area: Area::Members,
            target_type: "member",
            target_id: Some(&member.id),
            workroom_id: None,
            changes: Changes::default().created("role", role.to_value()),
        },
    )
    .await?;
    Ok(member)
}

/// Writes a membership row; rules are the caller's.
pub async fn insert(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    user_id: &str,
    role: DbRole,
) -> AppResult<member::Model> {
    Ok(member::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        role: Set(role),
        status: Set(MemberStatus::Active),
        joined_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Pairs members with their accounts in one query.
pub async fn with_users(
    db: &impl ConnectionTrait,
    members: Vec<member::Model>,
) -> AppResult<Vec<Member>> {
    let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let mut users: HashMap<String, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    members
        .into_iter()
        .map(|model| {
            let user = users
                .remove(&model.user_id)
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("member without user")))?;
            Ok(Member { model, user })
        })
        .collect()
}

/// A page of the workspace's members in joining order (ids are time-ordered).
pub async fn page(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    first: u64,
    after: Option<String>,
) -> AppResult<MemberConnection> {
    let base = member::Entity::find().filter(member::Column::WorkspaceId.eq(workspace_id));
    let total_count = base.clone().count(db).await?;
    let mut query = base;
    if let Some(after) = after {
        query = query.filter(member::Column::Id.gt(after));
    }
    let mut rows = query
        .order_by_asc(member::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let end_cursor = rows.last().map(|m| m.id.clone());
    Ok(MemberConnection {
        nodes: with_users(db, rows).await?,
        page_info: PageInfo {
            has_next_page,
            end_cursor,
        },
        total_count,
    })
}
