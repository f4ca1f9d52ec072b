//! Provider key rules and writes.

use chrono::Utc;
use entity::provider_key;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
};

use super::ProviderKey;
use crate::access::{Capability, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::config::Secret;
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Providers a workspace may bring a key for.
pub const PROVIDERS: [&str; 1] = ["openai"];
const KEY_MIN: usize = 8;
const KEY_MAX: usize = 512;

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> AppResult<Option<provider_key::Model>> {
    Ok(provider_key::Entity::find_by_id(workspace_id)
        .one(db)
        .await?)
}

pub async fn set(
    state: &AppState,
    caller: &Principal,
    workspace_id: &str,
    provider: &str,
    api_key: &str,
) -> AppResult<ProviderKey> {
    let workspace_id = id_arg("workspaceId", workspace_id)?;
    let provider = provider.trim().to_ascii_lowercase();
    if !PROVIDERS.contains(&provider.as_str()) {
        return Err(AppError::bad_input(
            "provider",
            format!("provider must be one of: {}", PROVIDERS.join(", ")),
        ));
    }
    let length = api_key.chars().count();
    if !(KEY_MIN..=KEY_MAX).contains(&length)
        || api_key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::bad_input(
            "apiKey",
            format!("apiKey has {KEY_MIN} to {KEY_MAX} characters and no spaces"),
        ));
    }
    let Some(sealer) = &state.sealer else {
        return Err(AppError::bad_input(
            "apiKey",
            "this server keeps no provider keys: it was started without SECRETS_KEY (32 bytes, base64) to encrypt them with",
        ));
    };
    let sealed = sealer
        .seal(api_key, workspace_id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("sealing a provider key failed")))?;
    let last4: String = {
        let chars: Vec<char> = api_key.chars().collect();
        chars[chars.len() - 4..].iter().collect()
    };

    let txn = begin_write(&state.db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManageProviderKey)?;
    let before = find(&txn, workspace_id).await?;
    provider_key::Entity::delete_by_id(workspace_id)
        .exec(&txn)
        .await?;
    let row = provider_key::ActiveModel {
        workspace_id: Set(workspace_id.to_owned()),
        provider: Set(provider.clone()),
        sealed: Set(sealed),
        last4: Set(last4.clone()),
        created_by: Set(viewer.user_id().map(str::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::default()
        .field(
            "provider",
            before.as_ref().map(|k| k.provider.clone()),
            Some(provider),
        )
        .field(
            "last4",
            before.as_ref().map(|k| k.last4.clone()),
            Some(last4),
        );
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::ProviderKeySet, workspace_id).with(changes),
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

pub async fn clear(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
) -> AppResult<bool> {
    let workspace_id = id_arg("workspaceId", workspace_id)?;
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManageProviderKey)?;
    let Some(before) = find(&txn, workspace_id).await? else {
        txn.commit().await?;
        return Ok(false);
    };
    provider_key::Entity::delete_by_id(workspace_id)
        .exec(&txn)
        .await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::ProviderKeyCleared, workspace_id).with(
            Changes::default()
                .field("provider", Some(before.provider), None)
                .field("last4", Some(before.last4), None),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// The key a run is to use.
pub enum RunKey {
    /// The workspace has no key of its own for the provider: the server's.
    Server,
    /// The workspace's own key.
    Own(Secret),
    /// The workspace has a key this server cannot open (no `SECRETS_KEY`,
    /// or another one than it was sealed with): the run fails rather than
    /// spend on the server's key.
    Unusable,
}

/// The workspace's own key for `provider`, opened for a run.
pub async fn open_for_run(
    state: &AppState,
    workspace_id: &str,
    provider: &str,
) -> AppResult<RunKey> {
    let Some(row) = find(&state.db, workspace_id).await? else {
        return Ok(RunKey::Server);
    };
    if row.provider != provider {
        return Ok(RunKey::Server);
    }
    let opened = state
        .sealer
        .as_ref()
        .and_then(|sealer| sealer.open(&row.sealed, workspace_id));
    match opened {
        Some(key) => Ok(RunKey::Own(Secret::new(key))),
        None => {
            tracing::warn!(
                workspace = workspace_id,
                "a provider key could not be opened with this server's SECRETS_KEY"
            );
            Ok(RunKey::Unusable)
        }
    }
}
