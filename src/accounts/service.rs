//! Accounts and sessions: sign-up, log-in, refresh-token rotation with reuse
//! detection, log-out.

use chrono::{DateTime, Utc};
use entity::{refresh_token, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};

use crate::auth::throttle::ClientAddr;
use crate::auth::{email, password};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tokens;
use crate::workspaces;

/// A signed-in session: a short-lived access token and the refresh token that
/// renews it.
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
}

const NAME_MAX: usize = 100;

pub fn validate_name(raw: &str) -> AppResult<String> {
    crate::text::required("name", raw, NAME_MAX)
}

/// Makes an account and its personal workspace, and signs it in.
pub async fn sign_up(
    state: &AppState,
    client: Option<ClientAddr>,
    raw_email: &str,
    raw_password: String,
    raw_name: &str,
) -> AppResult<Session> {
    let email = email::normalize(raw_email)?;
    let name = validate_name(raw_name)?;
    password::validate(&raw_password)?;
    if let Some(ClientAddr(addr)) = client {
        state.throttles.sign_ups.admit(
            &addr,
            "too many sign-ups from this address; try again later",
        )?;
    }
    let password_hash = state.passwords.hash(raw_password).await?;

    let txn = begin_write(&state.db).await?;
    let user = create_user(&txn, email, name, password_hash).await?;
    workspaces::service::create_personal(&txn, &user).await?;
    let refresh = issue_refresh_token(&txn, state, &user.id, None).await?;
    txn.commit().await?;
    session(state, user, refresh)
}

/// Inserts an account; CONFLICT when the address is taken.
pub async fn create_user(
    db: &impl ConnectionTrait,
    email: String,
    name: String,
    password_hash: String,
) -> AppResult<user::Model> {
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await?
        .is_some();
    if taken {
        return Err(AppError::Conflict(
            "an account with this e-mail already exists".into(),
        ));
    }
    let user = user::ActiveModel {
        id: Set(tokens::new_id()),
        email: Set(email),
        name: Set(name),
        password_hash: Set(password_hash),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(user)
}

/// Signs in with e-mail and password. An unknown address and a wrong password
/// get the same answer, after the same work.
pub async fn log_in(
    state: &AppState,
    client: Option<ClientAddr>,
    raw_email: &str,
    raw_password: String,
) -> AppResult<Session> {
    const REFUSED: AppError = AppError::Unauthenticated("wrong e-mail or password");
    let email = crate::text::single_line("email", raw_email)?.to_lowercase();
    if let Some(ClientAddr(addr)) = client {
        state.throttles.sign_ins.admit(
            &addr,
            "too many sign-in attempts from this address; try again later",
        )?;
    }
    // Counted before the check, so that concurrent guesses cannot all pass
    // the limit while they wait for a hashing slot; a success forgets them.
    state
        .throttles
        .failures
        .admit(&email, "too many attempts; try again later")?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(&state.db)
        .await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !state.passwords.verify(raw_password, stored).await? {
        return Err(REFUSED);
    }
    state.throttles.failures.forget(&email);
    let user = user.ok_or(REFUSED)?;
    let txn = begin_write(&state.db).await?;
    let refresh = issue_refresh_token(&txn, state, &user.id, None).await?;
    txn.commit().await?;
    session(state, user, refresh)
}

/// Exchanges a refresh token for a new session. The presented token is
/// spent; presenting a spent token again later revokes the whole session
/// (it was stolen, or leaked), unless it comes within the reuse grace after
/// its rotation (two tabs refreshing at once), when it is only refused.
pub async fn refresh(state: &AppState, presented: &str) -> AppResult<Session> {
    const REFUSED: AppError = AppError::Unauthenticated("invalid or expired refresh token");
    let txn = begin_write(&state.db).await?;
    let token = lock_family_of(&txn, presented).await?.ok_or(REFUSED)?;
    let now = Utc::now();
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Err(REFUSED);
    }
    if let Some(replaced_at) = token.replaced_at {
        let grace = chrono::Duration::from_std(state.config.refresh_reuse_grace)
            .map_err(AppError::internal)?;
        if now - replaced_at > grace {
            revoke_family(&txn, &token.family_id, now).await?;
            txn.commit().await?;
            tracing::warn!(user_id = %token.user_id, "refresh token reused; session revoked");
        }
        return Err(REFUSED);
    }
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::ReplacedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(&token.id))
        .filter(refresh_token::Column::ReplacedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if spent.rows_affected != 1 {
        return Err(REFUSED);
    }
    let user = user::Entity::find_by_id(&token.user_id)
        .one(&txn)
        .await?
        .ok_or(REFUSED)?;
    let refresh = issue_refresh_token(&txn, state, &user.id, Some(&token.family_id)).await?;
    txn.commit().await?;
    session(state, user, refresh)
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored.
pub async fn log_out(state: &AppState, presented: &str) -> AppResult<()> {
    let txn = begin_write(&state.db).await?;
    if let Some(token) = lock_family_of(&txn, presented).await? {
        revoke_family(&txn, &token.family_id, Utc::now()).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Finds a presented refresh token and locks its session: the family's
/// first token, which every refresh, reuse check and log-out of the family
/// locks before it reads or writes. So a log-out racing a refresh either
/// sees the token the refresh issued, or the refresh sees the revocation.
/// Returns the presented token as read after the lock.
async fn lock_family_of(
    txn: &impl ConnectionTrait,
    presented: &str,
) -> AppResult<Option<refresh_token::Model>> {
    let hash = tokens::hash_token(presented);
    let Some(found) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(&hash))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    refresh_token::Entity::find_by_id(&found.family_id)
        .lock_exclusive()
        .one(txn)
        .await?;
    // Read again: what it was before the lock may have changed since.
    Ok(refresh_token::Entity::find_by_id(&found.id)
        .one(txn)
        .await?)
}

async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Stores a new refresh token (its hash) and returns the token itself.
pub async fn issue_refresh_token(
    db: &impl ConnectionTrait,
    state: &AppState,
    user_id: &str,
    family_id: Option<&str>,
) -> AppResult<String> {
    let token = tokens::random_token();
    let now = Utc::now();
    let id = tokens::new_id();
    refresh_token::ActiveModel {
        family_id: Set(family_id.map_or_else(|| id.clone(), str::to_owned)),
        id: Set(id),
        user_id: Set(user_id.to_owned()),
        token_hash: Set(tokens::hash_token(&token)),
        created_at: Set(now),
        expires_at: Set(now + state.config.refresh_token_ttl),
        replaced_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

pub fn session(state: &AppState, user: user::Model, refresh_token: String) -> AppResult<Session> {
    let (access_token, expires_at) = state.keys.issue(&user.id, state.config.access_token_ttl)?;
    Ok(Session {
        access_token,
        refresh_token,
        expires_at,
        user,
    })
}
