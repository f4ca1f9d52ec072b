//! Workroom rules and writes.

use chrono::Utc;
use entity::workroom;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use super::{CreateWorkroomInput, UpdateWorkroomInput, Workroom};
use crate::access::Principal;
use crate::access::{
    Access, Capability, Membership, WorkroomScope, can_edit_created_by, to_json, workroom_map,
};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::tokens::new_id;

const NAME_MAX: usize = 120;
const DESCRIPTION_MAX: usize = 2000;

pub async fn find(db: &impl ConnectionTrait, id: &str) -> AppResult<workroom::Model> {
    workroom::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workroom"))
}

/// Another workspace's workroom reads as a missing workroom, not as a
/// missing workspace, so the answer says nothing about the id.
pub fn as_workroom_not_found(err: AppError) -> AppError {
    match err {
        AppError::NotFound(_) => AppError::NotFound("workroom"),
        other => other,
    }
}

/// A workroom the viewer cannot read is NOT_FOUND, never FORBIDDEN.
pub fn ensure_visible(viewer: &Membership, workroom_id: &str) -> AppResult<()> {
    viewer
        .require_in_workroom(Capability::ReadWorkroom, workroom_id)
        .map_err(|_| AppError::NotFound("workroom"))
}

/// An archived workroom is read-only: CONFLICT for any change but restoring.
pub fn ensure_open(room: &workroom::Model) -> AppResult<()> {
    if room.archived_at.is_some() {
        return Err(AppError::Conflict(
            "this workroom is archived; restore it first".into(),
        ));
    }
    Ok(())
}

/// The workrooms the viewer may read and that are not archived, scoped in SQL.
pub async fn list(db: &impl ConnectionTrait, viewer: &Membership) -> AppResult<Vec<Workroom>> {
    let mut query = workroom::Entity::find()
        .filter(workroom::Column::WorkspaceId.eq(viewer.workspace_id()))
        .filter(workroom::Column::ArchivedAt.is_null());
    if let Some(readable) = viewer.effective.readable_workrooms() {
        query = query.filter(workroom::Column::Id.is_in(readable));
    }
    Ok(query
        .order_by_asc(workroom::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|model| Workroom {
            model,
            viewer: viewer.clone(),
        })
        .collect())
}

fn clean_name(raw: &str) -> AppResult<String> {
    crate::text::required("name", raw, NAME_MAX)
}

fn clean_description(raw: String) -> AppResult<Option<String>> {
    crate::text::multi_line("description", &raw, DESCRIPTION_MAX)
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: CreateWorkroomInput,
) -> AppResult<Workroom> {
    let workspace_id = id_arg("workspaceId", &input.workspace_id)?;
    let name = clean_name(&input.name)?;
    let description = input
        .description
        .map(clean_description)
        .transpose()?
        .flatten();

    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::CreateWorkroom)?;
    let model = workroom::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        name: Set(name),
        description: Set(description),
        created_by: Set(viewer.user_id().map(str::to_owned)),
        created_at: Set(Utc::now()),
        archived_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let viewer = grant_to_creator(&txn, viewer, &model.id).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::WorkroomCreated, &model.id)
            .in_workroom(&model.id)
            .with(Changes::default().created("name", model.name.clone())),
    )
    .await?;
    txn.commit().await?;
    Ok(Workroom { model, viewer })
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    input: UpdateWorkroomInput,
) -> AppResult<Workroom> {
    let id = id_arg("id", &input.id)?;
    let name = input.name.as_deref().map(clean_name).transpose()?;
    let description = input.description.map(clean_description).transpose()?;

    let txn = begin_write(db).await?;
    let (viewer, before) =
        crate::access::load::locked_target::<workroom::Entity>(&txn, caller, "workroom", id, |w| {
            &w.workspace_id
        })
        .await?;
    ensure_visible(&viewer, id)?;
    viewer.require_in_workroom(Capability::UpdateWorkroom, id)?;
    ensure_open(&before)?;
    if !can_edit_created_by(&viewer, before.created_by.as_deref()) {
        return Err(AppError::Forbidden(
            "only admins change workrooms made by someone else",
        ));
    }
    let mut row = before.clone().into_active_model();
    let mut changes = Changes::default();
    if let Some(name) = name {
        changes = changes.field("name", before.name.clone(), name.clone());
        row.name = Set(name);
    }
    if let Some(description) = description {
        changes = changes.field(
            "description",
            before.description.clone(),
            description.clone(),
        );
        row.description = Set(description);
    }
    let model = if changes.is_empty() {
        before
    } else {
        let model = row.update(&txn).await?;
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::WorkroomUpdated, id)
                .in_workroom(id)
                .with(changes),
        )
        .await?;
        model
    };
    txn.commit().await?;
    Ok(Workroom { model, viewer })
}

/// A member limited to selected workrooms reaches, fully, the ones it makes.
async fn grant_to_creator(
    db: &impl ConnectionTrait,
    viewer: Membership,
    workroom_id: &str,
) -> AppResult<Membership> {
    if !matches!(viewer.effective.scope(), WorkroomScope::Selected(_)) {
        return Ok(viewer);
    }
    let Some(member) = viewer.member.clone() else {
        return Ok(viewer);
    };
    let mut list = workroom_map(member.workroom_access.as_ref());
    list.insert(workroom_id.to_owned(), Access::Full);
    let all_workrooms = member.all_workrooms;
    let mut row = member.into_active_model();
    row.workroom_access = Set(Some(to_json(&list)));
    if all_workrooms.is_none() {
        // Keep the custom role's selection as this member's own from now on.
        if let Some(role) = &viewer.custom_role {
            let mut inherited = workroom_map(Some(&role.workroom_access));
            inherited.extend(list);
            row.workroom_access = Set(Some(to_json(&inherited)));
        }
        row.all_workrooms = Set(Some(false));
    }
    let member = row.update(db).await?;
    let principal = viewer.principal.clone();
    Ok(Membership::new(viewer.workspace, member, viewer.custom_role).held_by(&principal))
}
