//! API keys' rules and writes: minting, rotating, revoking, listing,
//! and usage. Secrets are checked in `auth::api_key`.

use chrono::{DateTime, Duration, Utc};
use entity::enums::Role as DbRole;
use entity::{api_key, api_key_usage};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

use crate::access::{Access, Area, AreaMap, Capability, Membership, Principal, load, to_json};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::auth::key_secret::{self as secret, Environment};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::members::service::checked_areas;
use crate::state::AppState;
use crate::tokens::new_id;

pub const NAME_MAX: usize = 80;
pub const GRACE_MAX_HOURS: i32 = 168;
pub const GRACE_DEFAULT_HOURS: i32 = 24;
/// Days `usage` may cover.
pub const USAGE_DAYS_MAX: i32 = 90;

/// What a caller asks for when minting a key.
pub struct NewKey {
    pub workspace_id: Option<String>,
    pub name: String,
    pub environment: Environment,
    pub scopes: Option<Vec<(Area, Access)>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Only people mint, rotate and revoke keys.
fn person(caller: &Principal) -> AppResult<&str> {
    match caller {
        Principal::Person { user_id } => Ok(user_id),
        Principal::Key(_) => Err(AppError::Forbidden(
            "an API key cannot create, rotate or revoke keys",
        )),
        Principal::System => Err(AppError::Forbidden("only a person manages keys")),
    }
}

/// Mints a key; the secret is returned here once and never again.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: NewKey,
) -> AppResult<(api_key::Model, String)> {
    let user_id = person(caller)?.to_owned();
    let name = crate::text::required("name", &input.name, NAME_MAX)?;
    if input.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::bad_input(
            "expiresAt",
            "expiresAt must be in the future",
        ));
    }
    let made = secret::generate(input.environment, None);
    let txn = begin_write(db).await?;
    let viewer = match &input.workspace_id {
        Some(id) => {
            let viewer = load::locked(&txn, id_arg("workspaceId", id)?, caller).await?;
            viewer.require(Capability::ManageApiKeys)?;
            // A workspace key reaches as far as an admin: only someone who
            // does mints one.
            if !matches!(viewer.role(), DbRole::Owner | DbRole::Admin) {
                return Err(AppError::Forbidden(
                    "only owners and admins mint workspace keys",
                ));
            }
            Some(viewer)
        }
        None => None,
    };
    let scopes: AreaMap = match (&input.scopes, &viewer) {
        (Some(levels), Some(viewer)) => checked_areas(viewer, levels)?,
        (Some(levels), None) => {
            let map: AreaMap = levels.iter().copied().collect();
            if map.len() != levels.len() {
                return Err(AppError::bad_input("scopes", "each area at most once"));
            }
            map
        }
        // VIEW on every area the creator can see.
        (None, Some(viewer)) => Area::ALL
            .into_iter()
            .filter(|area| viewer.access(*area) >= Access::View)
            .map(|area| (area, Access::View))
            .collect(),
        (None, None) => Area::ALL.into_iter().map(|a| (a, Access::View)).collect(),
    };
    let model = api_key::ActiveModel {
        id: Set(new_id()),
        lookup: Set(made.lookup),
        workspace_id: Set(viewer.as_ref().map(|v| v.workspace_id().to_owned())),
        owner_id: Set(viewer.is_none().then(|| user_id.clone())),
        created_by: Set(Some(user_id)),
        name: Set(name),
        environment: Set(input.environment.as_str().to_owned()),
        prefix: Set(made.prefix),
        secret_hash: Set(made.hash),
        previous_hash: Set(None),
        grace_ends_at: Set(None),
        scopes: Set(to_json(&scopes)),
        created_at: Set(Utc::now()),
        expires_at: Set(input.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    if let Some(viewer) = &viewer {
        let changes = Changes::default()
            .created("name", model.name.clone())
            .created("environment", model.environment.clone())
            .created("scopes", model.scopes.clone());
        activity::service::record(
            &txn,
            key_event(viewer, Action::ApiKeyCreated, &model).with(changes),
        )
        .await?;
    }
    txn.commit().await?;
    Ok((model, made.secret))
}

fn key_event<'a>(viewer: &'a Membership, action: Action, key: &'a api_key::Model) -> NewEvent<'a> {
    NewEvent::by(viewer, action, &key.id)
}

/// The key, locked, if the caller may manage it; NOT_FOUND otherwise. A
/// workspace key needs INTEGRATIONS FULL there; a personal key, its owner.
async fn managed(
    db: &impl ConnectionTrait,
    caller: &Principal,
    id: &str,
) -> AppResult<(api_key::Model, Option<Membership>)> {
    let user_id = person(caller)?;
    let id = id_arg("id", id)?;
    let key = api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("API key"))?;
    let viewer = match &key.workspace_id {
        Some(workspace_id) => {
            let viewer = load::locked(db, workspace_id, caller)
                .await
                .map_err(|_| AppError::NotFound("API key"))?;
            if !viewer.allows(Capability::ReadApiKeys) {
                return Err(AppError::NotFound("API key"));
            }
            viewer.require(Capability::ManageApiKeys)?;
            Some(viewer)
        }
        None if key.owner_id.as_deref() == Some(user_id) => None,
        None => return Err(AppError::NotFound("API key")),
    };
    // Read again under the workspace lock (or alone, for a personal key).
    let key = api_key::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("API key"))?;
    Ok((key, viewer))
}

/// A new secret for a key; the replaced one works for `grace_hours` more.
pub async fn rotate(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
    grace_hours: Option<i32>,
) -> AppResult<(api_key::Model, String)> {
    let grace = grace_hours.unwrap_or(GRACE_DEFAULT_HOURS);
    if !(0..=GRACE_MAX_HOURS).contains(&grace) {
        return Err(AppError::bad_input(
            "graceHours",
            format!("graceHours must be from 0 to {GRACE_MAX_HOURS}"),
        ));
    }
    let txn = begin_write(db).await?;
    let (key, viewer) = managed(&txn, caller, id).await?;
    if key.revoked_at.is_some() {
        return Err(AppError::Conflict("a revoked key cannot be rotated".into()));
    }
    // A second rotation would end the first one's grace early; only one
    // that ends every replaced secret at once (graceHours: 0) may.
    if grace > 0 && key.grace_ends_at.is_some_and(|end| end > Utc::now()) {
        return Err(AppError::Conflict(
            "the last rotation's grace is still running; wait, or rotate with graceHours: 0".into(),
        ));
    }
    let environment = Environment::parse(&key.environment).unwrap_or(Environment::Live);
    let made = secret::generate(environment, Some(&key.lookup));
    let grace_ends_at = Utc::now() + Duration::hours(i64::from(grace));
    let mut row = key.clone().into_active_model();
    row.previous_hash = Set(Some(key.secret_hash.clone()));
    row.grace_ends_at = Set(Some(grace_ends_at));
    row.secret_hash = Set(made.hash);
    let model = row.update(&txn).await?;
    if let Some(viewer) = &viewer {
        let changes = Changes::default().created("graceEndsAt", grace_ends_at.to_rfc3339());
        activity::service::record(
            &txn,
            key_event(viewer, Action::ApiKeyRotated, &model).with(changes),
        )
        .await?;
    }
    txn.commit().await?;
    Ok((model, made.secret))
}

/// Ends a key at once: its next request is refused and its subscriptions end.
pub async fn revoke(state: &AppState, caller: &Principal, id: &str) -> AppResult<api_key::Model> {
    let txn = begin_write(&state.db).await?;
    let (key, viewer) = managed(&txn, caller, id).await?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut row = key.into_active_model();
    row.revoked_at = Set(Some(Utc::now()));
    let model = row.update(&txn).await?;
    if let Some(viewer) = &viewer {
        activity::service::record(&txn, key_event(viewer, Action::ApiKeyRevoked, &model)).await?;
    }
    crate::events::notify_key_revoked(&txn, &model.id).await?;
    txn.commit().await?;
    state.hub.key_revoked(&model.id);
    Ok(model)
}

/// A workspace's keys, newest first.
pub async fn for_workspace(
    db: &impl ConnectionTrait,
    viewer: &Membership,
) -> AppResult<Vec<api_key::Model>> {
    viewer.require(Capability::ReadApiKeys)?;
    Ok(api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(viewer.workspace_id()))
        .order_by_desc(api_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// A person's own keys, newest first.
pub async fn personal(db: &impl ConnectionTrait, user_id: &str) -> AppResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::OwnerId.eq(user_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Requests per UTC day for the last `days` days, newest first, zeros
/// included, from the rollup.
pub async fn usage(state: &AppState, key_id: &str, days: i32) -> AppResult<Vec<(String, i64)>> {
    if !(1..=USAGE_DAYS_MAX).contains(&days) {
        return Err(AppError::bad_input(
            "days",
            format!("days must be from 1 to {USAGE_DAYS_MAX}"),
        ));
    }
    if let Err(err) = state.key_usage.flush(&state.db).await {
        tracing::warn!(error = %err, "adding key usage to the rollup failed");
    }
    let today = Utc::now().date_naive();
    let list: Vec<String> = (0..days)
        .map(|n| {
            (today - Duration::days(i64::from(n)))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect();
    let rows = api_key_usage::Entity::find()
        .filter(api_key_usage::Column::ApiKeyId.eq(key_id))
        .filter(api_key_usage::Column::Day.gte(list.last().cloned().unwrap_or_default()))
        .all(&state.db)
        .await?;
    Ok(list
        .into_iter()
        .map(|day| {
            let n = rows.iter().find(|r| r.day == day).map_or(0, |r| r.requests);
            (day, n)
        })
        .collect())
}
