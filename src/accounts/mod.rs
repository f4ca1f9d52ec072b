//! Accounts: signing up, logging in, refreshing and ending sessions, and
//! `me`.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

pub mod service;

use service::Session;

use crate::auth::User;
use crate::auth::throttle::ClientAddr;
use crate::context::ContextExt;
use crate::error::AppResult;

/// A new session: send `accessToken` as `Authorization: Bearer …`; trade
/// `refreshToken` for a new session before `expiresAt`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A JWT valid for 15 minutes, sent as `Authorization: Bearer <accessToken>`.
    access_token: String,
    /// Valid for 30 days and spent on use: `refreshSession` trades it for a new
    /// pair; `logOut` ends the session.
    refresh_token: String,
    /// When the access token expires.
    expires_at: DateTime<Utc>,
    /// The signed-in account.
    user: User,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_at: s.expires_at,
            user: User::from(s.user),
        }
    }
}

/// A new account: its e-mail, password and name.
#[derive(InputObject)]
pub struct SignUpInput {
    /// The sign-in address, kept trimmed and lower-case; CONFLICT when an
    /// account has it.
    email: String,
    /// At least 8 characters.
    password: String,
    /// The name shown to others, 1 to 100 characters.
    name: String,
}

/// The e-mail and password of an account.
#[derive(InputObject)]
pub struct LogInInput {
    /// The account's address, in any case.
    email: String,
    /// The account's password.
    password: String,
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in caller.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<User> {
        ctx.current_user().await.map(User::from)
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Makes an account with a personal workspace and signs it in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account's e-mail, password and name.")] input: SignUpInput,
    ) -> AppResult<AuthPayload> {
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
    async fn log_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's e-mail and password.")] input: LogInInput,
    ) -> AppResult<AuthPayload> {
        let client = ctx.data_opt::<ClientAddr>().copied();
        service::log_in(ctx.state(), client, &input.email, input.password)
            .await
            .map(Into::into)
    }

    /// Trades a refresh token for a new session; the old token is spent.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The session's `refreshToken`. An unknown, expired, revoked or spent one is UNAUTHENTICATED; a spent one presented more than 10 seconds after its rotation also ends the session."
        )]
        refresh_token: String,
    ) -> AppResult<AuthPayload> {
        service::refresh(ctx.state(), &refresh_token)
            .await
            .map(Into::into)
    }

    /// Ends the session of this refresh token.
    async fn log_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The session's `refreshToken`; an unknown one is ignored.")]
        refresh_token: String,
    ) -> AppResult<bool> {
        service::log_out(ctx.state(), &refresh_token).await?;
        Ok(true)
    }
}
