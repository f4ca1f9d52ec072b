use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::user;

use super::service::{self, Session};
use super::throttle::ClientAddr;
use crate::error::AppResult;
use crate::graphql::ContextExt;

/// A person with an account.
pub struct User(pub user::Model);

/// A person with an account.
#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The sign-in address, lower-case.
    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn name(&self) -> &str {
        &self.0.name
    }
}

/// A new session: send `accessToken` as `Authorization: Bearer …`; trade
/// `refreshToken` for a new session before `expiresAt`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    access_token: String,
    refresh_token: String,
    /// When the access token expires.
    expires_at: DateTime<Utc>,
    user: User,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_at: s.expires_at,
            user: User(s.user),
        }
    }
}

/// A new account: its e-mail, password and name.
#[derive(InputObject)]
pub struct SignUpInput {
    email: String,
    /// At least 8 characters.
    password: String,
    name: String,
}

/// The e-mail and password of an account.
#[derive(InputObject)]
pub struct LogInInput {
    email: String,
    password: String,
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in caller.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<User> {
        ctx.current_user().await.map(User)
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Makes an account with a personal workspace and signs it in.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> AppResult<AuthPayload> {
        let client = ctx.data_opt::<ClientAddr>().copied();
        service::sign_up(
            ctx.state(),
            client,
            &input.email,
            input.password,
            &input.name,
        )
        .await
        .map(Into::into)
    }

    /// Signs in. A wrong e-mail and a wrong password get the same UNAUTHENTICATED.
    async fn log_in(&self, ctx: &Context<'_>, input: LogInInput) -> AppResult<AuthPayload> {
        let client = ctx.data_opt::<ClientAddr>().copied();
        service::log_in(ctx.state(), client, &input.email, input.password)
            .await
            .map(Into::into)
    }

    /// Trades a refresh token for a new session; the old token is spent.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> AppResult<AuthPayload> {
        service::refresh(ctx.state(), &refresh_token)
            .await
            .map(Into::into)
    }

    /// Ends the session of this refresh token.
    async fn log_out(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        service::log_out(ctx.state(), &refresh_token).await?;
        Ok(true)
    }
}
