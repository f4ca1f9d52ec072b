//! Archiving a workroom: hidden from lists, read-only, and its queued and
//! running runs cancelled with their reservations released — in one
//! transaction. Restoring opens it again.

use chrono::Utc;
use entity::workroom;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};

use super::service::cancel_in_workroom;
use crate::access::{Capability, Principal, can_edit_created_by};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::workrooms::{Workroom, service as rooms};

pub async fn archive(state: &AppState, caller: &Principal, id: &str) -> AppResult<Workroom> {
    set_archived(state, caller, id, true).await
}

pub async fn restore(state: &AppState, caller: &Principal, id: &str) -> AppResult<Workroom> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(
    state: &AppState,
    caller: &Principal,
    id: &str,
    archived: bool,
) -> AppResult<Workroom> {
    let id = id_arg("id", id)?;
    let txn = begin_write(&state.db).await?;
    let (viewer, before) =
        crate::access::load::locked_target::<workroom::Entity>(&txn, caller, "workroom", id, |w| {
            &w.workspace_id
        })
        .await?;
    rooms::ensure_visible(&viewer, id)?;
    viewer.require_in_workroom(Capability::ArchiveWorkroom, id)?;
    if !can_edit_created_by(&viewer, before.created_by.as_deref()) {
        return Err(AppError::Forbidden(
            "only admins archive or restore workrooms made by someone else",
        ));
    }
    if before.archived_at.is_some() == archived {
        txn.commit().await?;
        return Ok(Workroom {
            model: before,
            viewer,
        });
    }
    let ended = if archived {
        cancel_in_workroom(&txn, &viewer, id).await?
    } else {
        Vec::new()
    };
    let now = Utc::now();
    let mut row = before.clone().into_active_model();
    row.archived_at = Set(archived.then_some(now));
    let model = row.update(&txn).await?;
    let (action, changes) = if archived {
        (
            Action::WorkroomArchived,
            Changes::default().created("archivedAt", now.to_rfc3339()),
        )
    } else {
        (
            Action::WorkroomRestored,
            Changes::default().field(
                "archivedAt",
                before.archived_at.map(|at| at.to_rfc3339()),
                None,
            ),
        )
    };
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, action, id)
            .in_workroom(id)
            .with(changes),
    )
    .await?;
    txn.commit().await?;
    for run_id in &ended {
        state.hub.runs().ended(run_id);
    }
    state.hub.poke();
    Ok(Workroom { model, viewer })
}
