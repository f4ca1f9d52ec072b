//! Loading what a caller may do in a workspace: the one place a principal
//! becomes a `Membership`, read plainly or, inside a write, after locking
//! the workspace.

use std::sync::LazyLock;

use chrono::Utc;
use entity::enums::{MemberStatus, Role as DbRole};
use entity::{api_key, custom_role, member, workspace};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PrimaryKeyTrait, QueryFilter,
    QueryResult, QuerySelect, Statement,
};

use super::{Membership, Principal};
use crate::error::{AppError, AppResult};

/// Locks a workspace row for the rest of the transaction: every write to a
/// workspace's data takes this first, so writes to one workspace commit in
/// order.
pub async fn lock_workspace(db: &impl ConnectionTrait, id: &str) -> AppResult<workspace::Model> {
    workspace::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workspace"))
}

/// What the caller may do in a workspace, read without locks. NOT_FOUND
/// unless the caller reaches it.
pub async fn visible(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    caller: &Principal,
) -> AppResult<Membership> {
    // A person (or a personal key's owner): the membership and its
    // workspace in one statement.
    if let Some(user_id) = caller.person_id() {
        if let Principal::Key(key) = caller {
            still_valid(db, &key.id).await?;
        }
        let backend = db.get_database_backend();
        let statement = Statement::from_sql_and_values(
            backend,
            membership_select(backend),
            [workspace_id.into(), user_id.into()],
        );
        let rows = match db.query_one_raw(statement).await? {
            Some(row) => Some(member_with_workspace(&row)?),
            None => None,
        };
        return of_rows(db, rows, caller).await;
    }
    let workspace = workspace::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    resolve(db, workspace, caller).await
}

/// What a person may do in a workspace, from its membership row and its
/// workspace's, read by a statement that may also have read the data the
/// request wants. NOT_FOUND when the person holds no membership there.
pub async fn of_rows(
    db: &impl ConnectionTrait,
    rows: Option<(member::Model, Option<workspace::Model>)>,
    caller: &Principal,
) -> AppResult<Membership> {
    let (member, workspace) = rows.ok_or(AppError::NotFound("workspace"))?;
    let workspace = workspace.ok_or(AppError::NotFound("workspace"))?;
    of_member(db, workspace, member, caller).await
}

/// The select of a person's membership (value 1: the workspace, 2: the
/// person) joined with its workspace, written once per engine: every read
/// of a workspace starts with it, and building it anew was a tenth of a
/// point read's CPU.
pub fn membership_select(backend: DbBackend) -> &'static str {
    static POSTGRES: LazyLock<String> =
        LazyLock::new(|| membership_select_with(DbBackend::Postgres, ""));
    static SQLITE: LazyLock<String> =
        LazyLock::new(|| membership_select_with(DbBackend::Sqlite, ""));
    match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &SQLITE,
    }
}

/// `membership_select` with `more` columns (`, a, b`) after the
/// membership's and its workspace's.
pub fn membership_select_with(backend: DbBackend, more: &str) -> String {
    let mark = |n| crate::db::placeholder(backend, n);
    format!(
        "SELECT {}, {}{more} FROM members m JOIN workspaces w ON w.id = m.workspace_id
         WHERE m.workspace_id = {} AND m.user_id = {}",
        crate::db::column_list::<member::Column>("m"),
        crate::db::column_list::<workspace::Column>("w"),
        mark(1),
        mark(2),
    )
}

/// A membership row read with its workspace's row after it.
pub fn member_with_workspace(
    row: &QueryResult,
) -> Result<(member::Model, Option<workspace::Model>), DbErr> {
    Ok((
        member::Model::at(row, 0)?,
        workspace::Model::at_nullable(row, member::Model::COLUMNS)?,
    ))
}

/// Inside a write transaction: locks the workspace, then resolves the
/// caller's membership. NOT_FOUND unless the caller reaches it.
pub async fn locked(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    caller: &Principal,
) -> AppResult<Membership> {
    let workspace = lock_workspace(db, workspace_id).await?;
    resolve(db, workspace, caller).await
}

async fn resolve(
    db: &impl ConnectionTrait,
    workspace: workspace::Model,
    caller: &Principal,
) -> AppResult<Membership> {
    if let Principal::Key(key) = caller {
        still_valid(db, &key.id).await?;
        if key.workspace_id.is_some() {
            if key.workspace_id.as_deref() != Some(workspace.id.as_str()) {
                return Err(AppError::NotFound("workspace"));
            }
            if workspace.deleted_at.is_some() {
                return Err(AppError::WorkspaceDeleted);
            }
            return Ok(Membership::for_workspace_key(workspace, key.clone()));
        }
    }
    let user_id = caller.person_id().ok_or(AppError::NotFound("workspace"))?;
    let member = find_member(db, &workspace.id, user_id)
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    of_member(db, workspace, member, caller).await
}

/// A person's membership once its row is found: admitted, with its custom
/// role, as the caller holds it.
async fn of_member(
    db: &impl ConnectionTrait,
    workspace: workspace::Model,
    member: member::Model,
    caller: &Principal,
) -> AppResult<Membership> {
    admit(&workspace, &member)?;
    let custom_role = custom_role_of(db, &member).await?;
    Ok(Membership::new(workspace, member, custom_role).held_by(caller))
}

/// The opening of every write to one thing of a workspace: read the thing,
/// lock its workspace and load the caller there, then read the thing again
/// under the lock. What the caller may not reach reads as a missing `what`.
pub async fn locked_target<E>(
    db: &impl ConnectionTrait,
    caller: &Principal,
    what: &'static str,
    id: &str,
    workspace_of: impl Fn(&E::Model) -> &str,
) -> AppResult<(Membership, E::Model)>
where
    E: EntityTrait,
    String: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    let missing = || AppError::NotFound(what);
    let found = E::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(missing)?;
    let actor = locked(db, workspace_of(&found), caller)
        .await
        .map_err(|err| match err {
            AppError::NotFound(_) => missing(),
            other => other,
        })?;
    let found = E::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(missing)?;
    Ok((actor, found))
}

/// A key revoked or expired since the request began acts no more.
pub async fn still_valid(db: &impl ConnectionTrait, key_id: &str) -> AppResult<()> {
    let key = api_key::Entity::find_by_id(key_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated("this API key no longer exists"))?;
    usable(&key)
}

/// Whether a key still acts: neither revoked nor expired.
pub fn usable(key: &api_key::Model) -> AppResult<()> {
    if key.revoked_at.is_some() {
        return Err(AppError::Unauthenticated("this API key was revoked"));
    }
    if key.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::Unauthenticated("this API key has expired"));
    }
    Ok(())
}

/// Whether a membership lets its holder in: banned members are refused; a
/// deleted workspace admits its owner alone.
fn admit(workspace: &workspace::Model, member: &member::Model) -> AppResult<()> {
    if member.status == MemberStatus::Banned {
        return Err(AppError::Forbidden("you are banned from this workspace"));
    }
    if workspace.deleted_at.is_some() && member.role != DbRole::Owner {
        return Err(AppError::WorkspaceDeleted);
    }
    Ok(())
}

pub async fn find_member(
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

pub async fn custom_role_of(
    db: &impl ConnectionTrait,
    member: &member::Model,
) -> AppResult<Option<custom_role::Model>> {
    match &member.custom_role_id {
        Some(id) => Ok(custom_role::Entity::find_by_id(id).one(db).await?),
        None => Ok(None),
    }
}
