//! Workspace rules and writes: slugs, plans, creation and updates.

use chrono::Utc;
use entity::enums::{
    MemberStatus, Plan as DbPlan, Role as DbRole, Visibility as DbVisibility,
    WorkspaceMode as DbWorkspaceMode, WorkspaceType as DbWorkspaceType,
};
use entity::{member, user, workspace};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

use super::{CreateWorkspaceInput, UpdateWorkspaceInput};
use crate::access::Principal;
use crate::access::{Capability, Membership};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::members;
use crate::state::AppState;
use crate::storage::Storage;
use crate::text;
use crate::tokens::{new_id, random_token};

mod slug;
use slug::choose_slug;
pub use slug::{is_valid_slug, slug_from_name};

mod navigation;
pub use navigation::set_hidden_navigation;

pub const SLUG_MIN: usize = 3;
pub const SLUG_MAX: usize = 48;
const NAME_MAX: usize = 80;
const DESCRIPTION_MAX: usize = 2000;

/// The user's active memberships of live workspaces, in joining order.
/// The workspaces a caller reaches: a person's (or a personal key's
/// owner's, narrowed by the key), or a workspace key's one.
pub async fn list_for_user(
    db: &DatabaseConnection,
    caller: &Principal,
) -> AppResult<Vec<Membership>> {
    if let Some(key) = caller.key()
        && let Some(id) = &key.workspace_id
    {
        return Ok(crate::access::load::visible(db, id, caller)
            .await
            .ok()
            .into_iter()
            .collect());
    }
    let Some(user_id) = caller.person_id() else {
        return Ok(Vec::new());
    };
    // The memberships with their workspaces in one statement, and the custom
    // roles some of them hold in one more.
    let query = member::Entity::find()
        .filter(member::Column::UserId.eq(user_id))
        .filter(member::Column::Status.eq(MemberStatus::Active))
        .find_also_related(workspace::Entity)
        .filter(workspace::Column::DeletedAt.is_null())
        .order_by_asc(member::Column::Id);
    let rows = crate::db::read_rows(db, &query, crate::access::load::member_with_workspace).await?;
    let roles = members::service::roles_of(db, rows.iter().map(|(m, _)| m)).await?;
    let mut found = Vec::new();
    for (member, workspace) in rows {
        if let Some(workspace) = workspace {
            let custom_role = member
                .custom_role_id
                .as_ref()
                .and_then(|id| roles.get(id).cloned());
            found.push(Membership::new(workspace, member, custom_role).held_by(caller));
        }
    }
    Ok(found)
}

pub async fn id_by_slug(db: &DatabaseConnection, slug: &str) -> AppResult<Option<String>> {
    let slug = text::single_line("slug", slug)?.to_lowercase();
    if slug.len() > SLUG_MAX {
        return Ok(None);
    }
    Ok(workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(slug))
        .select_only()
        .column(workspace::Column::Id)
        .into_tuple::<String>()
        .one(db)
        .await?)
}

fn clean_name(raw: &str) -> AppResult<String> {
    text::required("name", raw, NAME_MAX)
}

/// An optional text field: empty clears it.
fn clean_optional(
    field: &'static str,
    raw: Option<String>,
    max: usize,
) -> AppResult<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    match field {
        "description" => text::multi_line(field, &raw, max),
        "website" => text::website(field, &raw),
        _ => text::optional(field, &raw, max),
    }
}

struct NewWorkspace {
    name: String,
    slug: Option<String>,
    description: Option<String>,
    website: Option<String>,
    visibility: DbVisibility,
    workspace_type: DbWorkspaceType,
    mode: DbWorkspaceMode,
    personal: bool,
}

async fn insert_with_owner(
    db: &impl ConnectionTrait,
    owner: &user::Model,
    new: NewWorkspace,
) -> AppResult<Membership> {
    let slug = choose_slug(db, new.slug.as_deref(), &new.name).await?;
    let workspace = workspace::ActiveModel {
        id: Set(new_id()),
        slug: Set(slug),
        name: Set(new.name),
        description: Set(new.description),
        website: Set(new.website),
        visibility: Set(new.visibility),
        plan: Set(DbPlan::FreeTrial),
        personal: Set(new.personal),
        credit_balance: Set(0),
        credits_reserved: Set(0),
        admins_manage_billing: Set(true),
        hidden_navigation: Set(None),
        workspace_type: Set(new.workspace_type),
        mode: Set(new.mode),
        activity_retention_days: Set(None),
        activity_purged_seq: Set(0),
        logo_file: Set(None),
        avatar_file: Set(None),
        banner_file: Set(None),
        created_at: Set(Utc::now()),
        deleted_at: Set(None),
        purge_after: Set(None),
    }
    .insert(db)
    .await?;
    let member = members::service::insert_owner(db, &workspace.id, &owner.id).await?;
    activity::service::record(
        db,
        NewEvent::of_person(
            &workspace.id,
            Some(&owner.id),
            Action::WorkspaceCreated,
            Some(&workspace.id),
        )
        .with(
            Changes::default()
                .created("name", workspace.name.clone())
                .created("slug", workspace.slug.clone()),
        ),
    )
    .await?;
    Ok(Membership::new(workspace, member, None))
}

/// The personal workspace every account gets at sign-up.
pub async fn create_personal(
    db: &impl ConnectionTrait,
    owner: &user::Model,
) -> AppResult<Membership> {
    let mut name = format!("{}'s workspace", owner.name);
    if name.chars().count() > NAME_MAX {
        name = name.chars().take(NAME_MAX).collect();
    }
    insert_with_owner(
        db,
        owner,
        NewWorkspace {
            name,
            slug: None,
            description: None,
            website: None,
            visibility: DbVisibility::Private,
            workspace_type: DbWorkspaceType::MyBrand,
            mode: DbWorkspaceMode::Agentic,
            personal: true,
        },
    )
    .await
}

pub async fn create(
    db: &DatabaseConnection,
    owner: &user::Model,
    input: CreateWorkspaceInput,
) -> AppResult<Membership> {
    let new = NewWorkspace {
        name: clean_name(&input.name)?,
        slug: input.slug,
        description: clean_optional("description", input.description, DESCRIPTION_MAX)?,
        website: clean_optional("website", input.website, text::WEBSITE_MAX)?,
        visibility: input.visibility.map_or(DbVisibility::Private, Into::into),
        workspace_type: input
            .workspace_type
            .map_or(DbWorkspaceType::MyBrand, Into::into),
        mode: input.mode.map_or(DbWorkspaceMode::Agentic, Into::into),
        personal: false,
    };
    let txn = begin_write(db).await?;
    let membership = insert_with_owner(&txn, owner, new).await?;
    txn.commit().await?;
    Ok(membership)
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    input: UpdateWorkspaceInput,
) -> AppResult<Membership> {
    let id = id_arg("id", &input.id)?;
    let name = input.name.as_deref().map(clean_name).transpose()?;
    let description = input
        .description
        .map(|d| clean_optional("description", Some(d), DESCRIPTION_MAX))
        .transpose()?;
    let website = input
        .website
        .map(|w| clean_optional("website", Some(w), text::WEBSITE_MAX))
        .transpose()?;

    let txn = begin_write(db).await?;
    let mut viewer = crate::access::load::locked(&txn, id, caller).await?;
    viewer.require(Capability::UpdateWorkspace)?;
    let before = viewer.workspace.clone();
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
    if let Some(website) = website {
        changes = changes.field("website", before.website.clone(), website.clone());
        row.website = Set(website);
    }
    if let Some(visibility) = input.visibility {
        let visibility: DbVisibility = visibility.into();
        changes = changes.field(
            "visibility",
            before.visibility.to_value(),
            visibility.to_value(),
        );
        row.visibility = Set(visibility);
    }
    if let Some(workspace_type) = input.workspace_type {
        let workspace_type: DbWorkspaceType = workspace_type.into();
        if workspace_type != before.workspace_type {
            changes = changes.field(
                "type",
                before.workspace_type.to_value(),
                workspace_type.to_value(),
            );
            row.workspace_type = Set(workspace_type);
        }
    }
    if !changes.is_empty() {
        viewer.workspace = row.update(&txn).await?;
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::WorkspaceUpdated, id).with(changes),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(viewer)
}

/// Switches the workspace's mode (the owner alone).
pub async fn set_mode(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
    mode: DbWorkspaceMode,
) -> AppResult<Membership> {
    let txn = begin_write(db).await?;
    let mut viewer = crate::access::load::locked(&txn, id, caller).await?;
    viewer.require(Capability::SetWorkspaceMode)?;
    let before = viewer.workspace.mode;
    if before != mode {
        let mut row = viewer.workspace.clone().into_active_model();
        row.mode = Set(mode);
        viewer.workspace = row.update(&txn).await?;
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::WorkspaceModeChanged, id).with(Changes::default().field(
                "mode",
                before.to_value(),
                mode.to_value(),
            )),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(viewer)
}

pub async fn change_plan(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
    plan: DbPlan,
) -> AppResult<Membership> {
    let txn = begin_write(db).await?;
    let mut viewer = crate::access::load::locked(&txn, id, caller).await?;
    viewer.require(Capability::ChangePlan)?;
    let before = viewer.workspace.plan;
    if before != plan {
        let in_use = crate::billing::seats(&txn, &viewer.workspace).await?;
        if let Some(limit) = crate::billing::seat_limit(plan)
            && in_use.used + in_use.pending > limit
        {
            return Err(AppError::SeatLimitReached {
                used: in_use.used,
                pending: in_use.pending,
                limit: Some(limit),
                requested: 0,
            });
        }
        let mut row = viewer.workspace.clone().into_active_model();
        row.plan = Set(plan);
        viewer.workspace = row.update(&txn).await?;
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::WorkspacePlanChanged, id).with(Changes::default().field(
                "plan",
                before.to_value(),
                plan.to_value(),
            )),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(viewer)
}

/// Soft-deletes a workspace: it leaves every list and refuses writes at
/// once; its owner can restore it until `purge_after`.
pub async fn delete(
    state: &AppState,
    caller: &Principal,
    id: &str,
    confirm_name: &str,
) -> AppResult<Membership> {
    let confirm_name = text::single_line("confirmName", confirm_name)?;
    let txn = begin_write(&state.db).await?;
    let viewer = crate::access::load::locked(&txn, id, caller).await?;
    viewer.require(Capability::DeleteWorkspace)?;
    if confirm_name != viewer.workspace.name {
        return Err(AppError::bad_input(
            "confirmName",
            "type the workspace's exact name to delete it",
        ));
    }
    let now = Utc::now();
    let purge_after = now + state.config.deletion_grace;
    let mut row = viewer.workspace.clone().into_active_model();
    row.deleted_at = Set(Some(now));
    row.purge_after = Set(Some(purge_after));
    let workspace = row.update(&txn).await?;
    let ended = crate::runs::service::cancel_in_workspace(&txn, &viewer).await?;
    record_workspace_event(
        &txn,
        &viewer,
        Action::WorkspaceDeleted,
        Changes::default().field("deletedAt", None, Some(now.to_rfc3339())),
    )
    .await?;
    txn.commit().await?;
    for run_id in &ended {
        state.hub.runs().ended(run_id);
    }
    Ok(viewer.with_workspace(workspace))
}

pub async fn restore(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
) -> AppResult<Membership> {
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, id, caller).await?;
    viewer.require(Capability::RestoreWorkspace)?;
    let Some(deleted_at) = viewer.workspace.deleted_at else {
        return Err(AppError::Conflict("this workspace is not deleted".into()));
    };
    if viewer
        .workspace
        .purge_after
        .is_some_and(|t| t <= Utc::now())
    {
        return Err(AppError::NotFound("workspace"));
    }
    let mut row = viewer.workspace.clone().into_active_model();
    row.deleted_at = Set(None);
    row.purge_after = Set(None);
    let workspace = row.update(&txn).await?;
    record_workspace_event(
        &txn,
        &viewer,
        Action::WorkspaceRestored,
        Changes::default().field("deletedAt", Some(deleted_at.to_rfc3339()), None),
    )
    .await?;
    txn.commit().await?;
    Ok(viewer.with_workspace(workspace))
}

/// Permanently deletes the workspaces whose grace period is over, with all
/// their rows and files. The files go first: a workspace whose files could
/// not all be deleted keeps its rows and is tried again by the next purge.
/// Returns how many went.
pub async fn purge_expired(db: &DatabaseConnection, storage: &Storage) -> AppResult<u64> {
    let due: Vec<String> = workspace::Entity::find()
        .filter(workspace::Column::PurgeAfter.lte(Utc::now()))
        .select_only()
        .column(workspace::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut purged = 0;
    for id in due {
        if let Err(err) = storage.delete_folder(&id).await {
            tracing::warn!(workspace = %id, error = %err, "deleting a purged workspace's files failed");
            continue;
        }
        let txn = begin_write(db).await?;
        let gone = workspace::Entity::delete_many()
            .filter(workspace::Column::Id.eq(&id))
            .filter(workspace::Column::PurgeAfter.lte(Utc::now()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        if gone.rows_affected == 1 {
            tracing::info!(workspace = %id, "purged deleted workspace");
            purged += 1;
        }
    }
    Ok(purged)
}

pub async fn set_admins_manage_billing(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
    enabled: bool,
) -> AppResult<Membership> {
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, id, caller).await?;
    viewer.require(Capability::ManageBillingSetting)?;
    let before = viewer.workspace.admins_manage_billing;
    let mut workspace = viewer.workspace.clone();
    if before != enabled {
        let mut row = viewer.workspace.clone().into_active_model();
        row.admins_manage_billing = Set(enabled);
        workspace = row.update(&txn).await?;
        record_workspace_event(
            &txn,
            &viewer,
            Action::WorkspaceBillingSettingChanged,
            Changes::default().field("adminsManageBilling", before, enabled),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(viewer.with_workspace(workspace))
}

async fn record_workspace_event(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    action: Action,
    changes: Changes,
) -> AppResult<()> {
    activity::service::record(
        db,
        NewEvent::by(viewer, action, viewer.workspace_id()).with(changes),
    )
    .await?;
    Ok(())
}
