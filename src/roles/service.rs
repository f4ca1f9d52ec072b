//! Custom role rules and writes.

use chrono::Utc;
use entity::custom_role;
use entity::enums::Role as DbRole;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::{CreateRoleInput, UpdateRoleInput};
use crate::access::Principal;
use crate::access::{Access, Area, AreaMap, Capability, Membership, WorkroomMap, to_json};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::members::service::{checked_areas, checked_workrooms};
use crate::members::{AreaAccessInput, WorkroomAccessInput};
use crate::tokens::new_id;

pub const MAX_ROLES: u64 = 20;
const NAME_MAX: usize = 40;

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> AppResult<Vec<custom_role::Model>> {
    Ok(custom_role::Entity::find()
        .filter(custom_role::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(custom_role::Column::Name)
        .all(db)
        .await?)
}

fn clean_name(raw: &str) -> AppResult<String> {
    crate::text::required("name", raw, NAME_MAX)
}

async fn name_taken(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    name: &str,
    except: Option<&str>,
) -> AppResult<bool> {
    let mut query = custom_role::Entity::find()
        .filter(custom_role::Column::WorkspaceId.eq(workspace_id))
        .filter(custom_role::Column::Name.eq(name));
    if let Some(id) = except {
        query = query.filter(custom_role::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

fn preset_areas(actor: &Membership, base: DbRole, areas: &[AreaAccessInput]) -> AppResult<AreaMap> {
    let pairs: Vec<(Area, Access)> = areas.iter().map(|a| (a.area, a.access)).collect();
    if base == DbRole::Viewer && pairs.iter().any(|(_, level)| *level > Access::View) {
        return Err(AppError::bad_input(
            "areas",
            "a viewer role never rises above VIEW",
        ));
    }
    checked_areas(actor, &pairs)
}

async fn preset_workrooms(
    db: &impl ConnectionTrait,
    actor: &Membership,
    base: DbRole,
    workrooms: &[WorkroomAccessInput],
) -> AppResult<WorkroomMap> {
    let pairs: Vec<(String, Access)> = workrooms
        .iter()
        .map(|w| (w.workroom_id.to_string(), w.access))
        .collect();
    if base == DbRole::Viewer && pairs.iter().any(|(_, level)| *level > Access::View) {
        return Err(AppError::bad_input(
            "workrooms",
            "a viewer role never rises above VIEW",
        ));
    }
    checked_workrooms(db, actor, &pairs).await
}

async fn record(
    db: &impl ConnectionTrait,
    actor: &Membership,
    action: Action,
    role: &custom_role::Model,
    changes: Changes,
) -> AppResult<()> {
    activity::service::record(db, NewEvent::by(actor, action, &role.id).with(changes)).await?;
    Ok(())
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: CreateRoleInput,
) -> AppResult<custom_role::Model> {
    let workspace_id = id_arg("workspaceId", &input.workspace_id)?;
    let name = clean_name(&input.name)?;
    let base: DbRole = input.base_role.map_or(DbRole::Member, Into::into);
    if !matches!(base, DbRole::Member | DbRole::Viewer) {
        return Err(AppError::bad_input(
            "baseRole",
            "a custom role builds on MEMBER or VIEWER",
        ));
    }
    let txn = begin_write(db).await?;
    let actor = crate::access::load::locked(&txn, workspace_id, caller).await?;
    actor.require(Capability::ManageRoles)?;
    let areas = preset_areas(&actor, base, input.areas.as_deref().unwrap_or_default())?;
    let workrooms = preset_workrooms(
        &txn,
        &actor,
        base,
        input.workrooms.as_deref().unwrap_or_default(),
    )
    .await?;
    let count = custom_role::Entity::find()
        .filter(custom_role::Column::WorkspaceId.eq(workspace_id))
        .count(&txn)
        .await?;
    if count >= MAX_ROLES {
        return Err(AppError::Conflict(format!(
            "a workspace has at most {MAX_ROLES} custom roles"
        )));
    }
    if name_taken(&txn, workspace_id, &name, None).await? {
        return Err(AppError::Conflict("a role with this name exists".into()));
    }
    let role = custom_role::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        name: Set(name),
        base_role: Set(base),
        area_access: Set(to_json(&areas)),
        all_workrooms: Set(input.all_workrooms.unwrap_or(true)),
        workroom_access: Set(to_json(&workrooms)),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::default()
        .created("name", role.name.clone())
        .created("areas", role.area_access.clone());
    record(&txn, &actor, Action::RoleCreated, &role, changes).await?;
    txn.commit().await?;
    Ok(role)
}

async fn find_locked(
    db: &impl ConnectionTrait,
    caller: &Principal,
    id: &str,
) -> AppResult<(Membership, custom_role::Model)> {
    let id = id_arg("id", id)?;
    let (actor, role) =
        crate::access::load::locked_target::<custom_role::Entity>(db, caller, "role", id, |r| {
            &r.workspace_id
        })
        .await?;
    actor.require(Capability::ManageRoles)?;
    Ok((actor, role))
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    input: UpdateRoleInput,
) -> AppResult<custom_role::Model> {
    let name = input.name.as_deref().map(clean_name).transpose()?;
    let txn = begin_write(db).await?;
    let (actor, before) = find_locked(&txn, caller, &input.id).await?;
    let mut row = before.clone().into_active_model();
    let mut changes = Changes::default();
    if let Some(name) = name {
        if name_taken(&txn, &before.workspace_id, &name, Some(&before.id)).await? {
            return Err(AppError::Conflict("a role with this name exists".into()));
        }
        changes = changes.field("name", before.name.clone(), name.clone());
        row.name = Set(name);
    }
    if let Some(areas) = &input.areas {
        let value = to_json(&preset_areas(&actor, before.base_role, areas)?);
        changes = changes.field("areas", before.area_access.clone(), value.clone());
        row.area_access = Set(value);
    }
    if let Some(all) = input.all_workrooms {
        changes = changes.field("allWorkrooms", before.all_workrooms, all);
        row.all_workrooms = Set(all);
    }
    if let Some(workrooms) = &input.workrooms {
        let value = to_json(&preset_workrooms(&txn, &actor, before.base_role, workrooms).await?);
        changes = changes.field("workrooms", before.workroom_access.clone(), value.clone());
        row.workroom_access = Set(value);
    }
    let role = if changes.is_empty() {
        before
    } else {
        let role = row.update(&txn).await?;
        record(&txn, &actor, Action::RoleUpdated, &role, changes).await?;
        role
    };
    txn.commit().await?;
    Ok(role)
}

pub async fn delete(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
) -> AppResult<custom_role::Model> {
    let txn = begin_write(db).await?;
    let (actor, role) = find_locked(&txn, caller, id).await?;
    role.clone().delete(&txn).await?;
    record(
        &txn,
        &actor,
        Action::RoleDeleted,
        &role,
        Changes::default().field("name", Some(role.name.clone()), None),
    )
    .await?;
    txn.commit().await?;
    Ok(role)
}
