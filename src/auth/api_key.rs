//! Checking a presented API key secret, and the grant a stored key carries.

use chrono::{Duration, Utc};
use entity::api_key;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::key_secret::{self as secret, Environment};
use super::key_usage::{KeyUsage, TOUCH_EVERY};
use crate::access::{KeyGrant, area_map, load};
use crate::error::{AppError, AppResult};
use crate::tokens::hash_token;

/// The grant a stored key carries.
pub fn grant_of(key: &api_key::Model) -> KeyGrant {
    KeyGrant {
        id: key.id.clone(),
        lookup: key.lookup.clone(),
        name: key.name.clone(),
        owner_id: key.owner_id.clone(),
        workspace_id: key.workspace_id.clone(),
        scopes: area_map(Some(&key.scopes)),
        valid_until: key.expires_at,
    }
}

/// Checks a presented secret: checksum, lookup by its id part, hash in
/// constant time (the current secret, or the replaced one during its grace),
/// then revoked and expired. Counts the request for the key's usage.
pub async fn verify(
    db: &DatabaseConnection,
    usage: &KeyUsage,
    presented: &str,
) -> AppResult<KeyGrant> {
    let parsed = secret::parse(presented).ok_or(AppError::Unauthenticated(
        "malformed API key (its checksum does not match)",
    ))?;
    let unknown = AppError::Unauthenticated("unknown API key");
    let key = api_key::Entity::find()
        .filter(api_key::Column::Lookup.eq(parsed.lookup))
        .one(db)
        .await?
        .ok_or(unknown.clone())?;
    let hash = hash_token(parsed.secret);
    let now = Utc::now();
    let current = secret::same_hash(&hash, &key.secret_hash);
    let replaced = key
        .previous_hash
        .as_deref()
        .is_some_and(|old| secret::same_hash(&hash, old))
        && key.grace_ends_at.is_some_and(|end| now < end);
    if !(current || replaced) || Environment::parse(&key.environment) != Some(parsed.environment) {
        return Err(unknown);
    }
    load::usable(&key)?;
    if usage.count(&key.id)
        && let Err(err) = touch(db, &key.id).await
    {
        tracing::warn!(error = %err, "recording a key's last use failed");
    }
    let mut grant = grant_of(&key);
    // The replaced secret works until the grace ends; either until expiry.
    grant.valid_until = match (key.expires_at, current) {
        (expires, true) => expires,
        (expires, false) => [expires, key.grace_ends_at].into_iter().flatten().min(),
    };
    Ok(grant)
}

/// Writes `lastUsedAt`, unless another server did within the minute.
async fn touch(db: &DatabaseConnection, key_id: &str) -> AppResult<()> {
    let now = Utc::now();
    let since = now - Duration::from_std(TOUCH_EVERY).unwrap_or_default();
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, now.into())
        .filter(api_key::Column::Id.eq(key_id))
        .filter(
            sea_orm::Condition::any()
                .add(api_key::Column::LastUsedAt.is_null())
                .add(api_key::Column::LastUsedAt.lt(since)),
        )
        .exec(db)
        .await?;
    Ok(())
}
