//! Export rules and writes: the profile, requests, downloads.

use chrono::Utc;
use entity::enums::{ExportFormat as DbFormat, RunStatus};
use entity::{agent_run, export, export_profile, task};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use super::render::{self, Parts};
use super::{Export, ExportProfile, ExportProfileInput, RequestExportInput};
use crate::access::{Capability, Membership, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tasks::{approvals, service as tasks};
use crate::tokens::new_id;
use crate::workrooms;

const TEXT_MAX: usize = 2000;

fn default_profile() -> export_profile::Model {
    export_profile::Model {
        workspace_id: String::new(),
        format: DbFormat::Markdown,
        include_branding: true,
        header: None,
        footer: None,
    }
}

async fn profile_row(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> AppResult<export_profile::Model> {
    Ok(export_profile::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .unwrap_or_else(default_profile))
}

fn shown(row: export_profile::Model) -> ExportProfile {
    ExportProfile {
        format: row.format.into(),
        include_branding: row.include_branding,
        header: row.header,
        footer: row.footer,
    }
}

pub async fn profile(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<ExportProfile> {
    Ok(shown(profile_row(db, workspace_id).await?))
}

pub async fn update_profile(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    input: ExportProfileInput,
) -> AppResult<ExportProfile> {
    let workspace_id = id_arg("workspaceId", workspace_id)?;
    let header = input
        .header
        .as_deref()
        .map(|t| crate::text::multi_line("header", t, TEXT_MAX))
        .transpose()?;
    let footer = input
        .footer
        .as_deref()
        .map(|t| crate::text::multi_line("footer", t, TEXT_MAX))
        .transpose()?;
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::UpdateExportProfile)?;
    let before = profile_row(&txn, workspace_id).await?;
    let mut after = before.clone();
    after.workspace_id = workspace_id.to_owned();
    if let Some(format) = input.format {
        after.format = format.into();
    }
    if let Some(include) = input.include_branding {
        after.include_branding = include;
    }
    if let Some(header) = header {
        after.header = header;
    }
    if let Some(footer) = footer {
        after.footer = footer;
    }
    let changes = Changes::default()
        .field("format", before.format.to_value(), after.format.to_value())
        .field(
            "includeBranding",
            before.include_branding,
            after.include_branding,
        )
        .field("header", before.header.clone(), after.header.clone())
        .field("footer", before.footer.clone(), after.footer.clone());
    if !changes.is_empty() {
        export_profile::Entity::delete_by_id(workspace_id)
            .exec(&txn)
            .await?;
        export_profile::ActiveModel {
            workspace_id: Set(after.workspace_id.clone()),
            format: Set(after.format),
            include_branding: Set(after.include_branding),
            header: Set(after.header.clone()),
            footer: Set(after.footer.clone()),
        }
        .insert(&txn)
        .await?;
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::ExportProfileUpdated, workspace_id).with(changes),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(shown(after))
}

pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    workroom_id: &str,
) -> AppResult<Vec<Export>> {
    Ok(export::Entity::find()
        .filter(export::Column::WorkroomId.eq(workroom_id))
        .order_by_desc(export::Column::CreatedAt)
        .order_by_desc(export::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|model| Export {
            model,
            viewer: viewer.clone(),
        })
        .collect())
}

pub async fn request(
    state: &AppState,
    caller: &Principal,
    input: RequestExportInput,
) -> AppResult<Export> {
    let workroom_id = id_arg("workroomId", &input.workroom_id)?;
    let task_id = input
        .task_id
        .as_deref()
        .map(|id| id_arg("taskId", id))
        .transpose()?;
    let run_id = input
        .run_id
        .as_deref()
        .map(|id| id_arg("runId", id))
        .transpose()?;
    if task_id.is_some() == run_id.is_some() {
        return Err(AppError::bad_input(
            "runId",
            "name exactly one of taskId and runId",
        ));
    }
    let txn = begin_write(&state.db).await?;
    let room = workrooms::service::find(&txn, workroom_id).await?;
    let viewer = crate::access::load::locked(&txn, &room.workspace_id, caller)
        .await
        .map_err(workrooms::service::as_workroom_not_found)?;
    workrooms::service::ensure_visible(&viewer, workroom_id)?;
    viewer.require_in_workroom(Capability::RequestExport, workroom_id)?;
    let (task, run) = match (task_id, run_id) {
        (Some(task_id), _) => {
            let task = task::Entity::find_by_id(task_id)
                .filter(task::Column::WorkroomId.eq(workroom_id))
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound("task"))?;
            let run = tasks::last_run(&txn, task_id).await?.ok_or_else(|| {
                AppError::Conflict("this task has no finished output to export yet".into())
            })?;
            (Some(task), run)
        }
        (None, Some(run_id)) => {
            let run = agent_run::Entity::find_by_id(run_id)
                .filter(agent_run::Column::WorkroomId.eq(workroom_id))
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound("run"))?;
            if run.status != RunStatus::Succeeded {
                return Err(AppError::Conflict(
                    "only a SUCCEEDED run's output can be exported".into(),
                ));
            }
            (None, run)
        }
        (None, None) => return Err(AppError::bad_input("runId", "name a task or a run")),
    };
    if let Err(missing) = approvals::export_allowed(&txn, workroom_id, &run.id).await? {
        return Err(AppError::ForbiddenBecause(missing));
    }
    let profile = profile_row(&txn, &room.workspace_id).await?;
    let format: DbFormat = input.format.map(Into::into).unwrap_or(profile.format);
    let title = match &task {
        Some(task) => task.title.clone(),
        None => format!(
            "{} — run of {}",
            room.name,
            run.created_at.format("%Y-%m-%d %H:%M UTC")
        ),
    };
    let content = render::render(
        format,
        &Parts {
            title: &title,
            brand: profile
                .include_branding
                .then_some(viewer.workspace.name.as_str()),
            header: profile.header.as_deref(),
            body: &run.output,
            footer: profile.footer.as_deref(),
        },
    );
    let model = export::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(room.workspace_id.clone()),
        workroom_id: Set(room.id.clone()),
        task_id: Set(task.as_ref().map(|t| t.id.clone())),
        run_id: Set(Some(run.id.clone())),
        format: Set(format),
        content: Set(content),
        downloads: Set(0),
        created_by: Set(viewer.user_id().map(str::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let mut changes = Changes::default()
        .created("format", format.to_value())
        .created("runId", run.id.clone());
    if let Some(task) = &task {
        changes = changes.created("taskId", task.id.clone());
    }
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::ExportRequested, &model.id)
            .in_workroom(&room.id)
            .with(changes),
    )
    .await?;
    txn.commit().await?;
    state.hub.poke();
    Ok(Export { model, viewer })
}

/// A download by `caller`: the export if the caller may see its workroom
/// (NOT_FOUND otherwise), counted and audited in one transaction.
pub async fn download(state: &AppState, caller: &Principal, id: &str) -> AppResult<export::Model> {
    let id = id_arg("id", id)?;
    let txn = begin_write(&state.db).await?;
    let (viewer, found) =
        crate::access::load::locked_target::<export::Entity>(&txn, caller, "export", id, |e| {
            &e.workspace_id
        })
        .await?;
    viewer
        .require_in_workroom(Capability::DownloadExport, &found.workroom_id)
        .map_err(|_| AppError::NotFound("export"))?;
    export::Entity::update_many()
        .col_expr(
            export::Column::Downloads,
            Expr::col(export::Column::Downloads).add(1),
        )
        .filter(export::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::ExportDownloaded, id)
            .in_workroom(&found.workroom_id)
            .with(Changes::default().field("downloads", found.downloads, found.downloads + 1)),
    )
    .await?;
    txn.commit().await?;
    state.hub.poke();
    Ok(found)
}
