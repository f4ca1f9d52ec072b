//! API keys for machines: a workspace's keys (INTEGRATIONS FULL mints,
//! rotates and revokes them; INTEGRATIONS VIEW lists them) and each person's
//! own. Only hashes of secrets are stored; a secret is shown once.

pub mod service;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{api_key, user};

use crate::access::{Area, Capability, area_map, requires};
use crate::auth::User;
use crate::auth::key_secret::Environment;
use crate::context::ContextExt;
use crate::error::AppResult;
use crate::members::{AreaAccess, AreaAccessInput};
use crate::workspaces::Workspace;

/// Which environment a key is for; its secret starts `atr_live_` or
/// `atr_test_`.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApiKeyEnvironment {
    /// Production traffic.
    Live,
    /// Development and tests.
    Test,
}

impl From<ApiKeyEnvironment> for Environment {
    fn from(value: ApiKeyEnvironment) -> Self {
        match value {
            ApiKeyEnvironment::Live => Environment::Live,
            ApiKeyEnvironment::Test => Environment::Test,
        }
    }
}

/// An API key, never with its secret.
pub struct ApiKey(pub api_key::Model);

/// An API key: a workspace's, or a person's (acting as that person, never
/// above their access). Its secret is never shown after it is made.
#[Object]
impl ApiKey {
    /// Unique across every type.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// What the key is for, 1 to 80 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The visible start of the secret, e.g. `atr_live_3kf9q2xa`.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// LIVE or TEST.
    async fn environment(&self) -> ApiKeyEnvironment {
        match Environment::parse(&self.0.environment) {
            Some(Environment::Test) => ApiKeyEnvironment::Test,
            _ => ApiKeyEnvironment::Live,
        }
    }

    /// The workspace of a workspace key; null for a personal key, or when
    /// the reader no longer reaches the workspace.
    async fn workspace(&self, ctx: &Context<'_>) -> AppResult<Option<Workspace>> {
        let Some(id) = &self.0.workspace_id else {
            return Ok(None);
        };
        Ok(ctx.membership(id).await.ok().map(Workspace::new))
    }

    /// The person who made the key; null once their account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = &self.0.created_by else {
            return Ok(None);
        };
        Ok(user::Person::find(ctx.db(), id).await?.map(User))
    }

    /// The most the key may do, per area (absent areas: NONE). A personal
    /// key is also held to its owner's access in each workspace.
    async fn scopes(&self) -> Vec<AreaAccess> {
        area_map(Some(&self.0.scopes))
            .into_iter()
            .map(|(area, access)| AreaAccess { area, access })
            .collect()
    }

    /// When the key was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the key stops working; null: never.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When the key was last used; may lag by up to a minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When the key was revoked; null while it works.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// After a rotation: when the replaced secret stops working.
    async fn grace_ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.grace_ends_at
    }

    /// Requests per UTC day, newest first, every day listed (zeros too).
    async fn usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "How many days back, from 1 to 90 (BAD_USER_INPUT outside); 30 when absent."
        )]
        days: Option<i32>,
    ) -> AppResult<Vec<UsageDay>> {
        let days = days.unwrap_or(30);
        Ok(service::usage(ctx.state(), &self.0.id, days)
            .await?
            .into_iter()
            .map(|(day, requests)| UsageDay {
                day,
                requests: i32::try_from(requests).unwrap_or(i32::MAX),
            })
            .collect())
    }
}

/// Requests a key made on one UTC day. A value object: it has no id, and
/// client caches keep it inside the key that holds it.
#[derive(SimpleObject)]
pub struct UsageDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Requests that day.
    pub requests: i32,
}

/// What to mint.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// The workspace of a workspace key (INTEGRATIONS FULL there); absent:
    /// a personal key.
    pub workspace_id: Option<ID>,
    /// What the key is for, 1 to 80 characters.
    pub name: String,
    /// LIVE when absent.
    pub environment: Option<ApiKeyEnvironment>,
    /// The most it may do, per area, never above the creator's own access;
    /// absent: VIEW on every area the creator can see.
    pub scopes: Option<Vec<AreaAccessInput>>,
    /// When it stops working, in the future; absent: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key and its secret. The secret is shown here once, never again.
#[derive(SimpleObject)]
pub struct ApiKeySecretPayload {
    /// The key.
    pub api_key: ApiKey,
    /// Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl ApiKeySecretPayload {
    fn new((model, secret): (api_key::Model, String)) -> Self {
        Self {
            api_key: ApiKey(model),
            secret,
        }
    }
}

#[derive(Default)]
pub struct KeyQuery;

#[Object]
impl KeyQuery {
    /// The caller's own API keys, newest first.
    async fn personal_api_keys(&self, ctx: &Context<'_>) -> AppResult<Vec<ApiKey>> {
        let user_id = ctx.person_id().await?;
        Ok(service::personal(ctx.db(), &user_id)
            .await?
            .into_iter()
            .map(ApiKey)
            .collect())
    }
}

#[derive(Default)]
pub struct KeyMutation;

#[Object]
impl KeyMutation {
    /// Mints a key: a workspace's (INTEGRATIONS FULL there), or the caller's
    /// own. Only a person mints keys. Records `api_key.created`.
    #[graphql(directive = requires::apply(Capability::ManageApiKeys))]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's workspace (or none), name, environment, scopes and expiry.")]
        input: CreateApiKeyInput,
    ) -> AppResult<ApiKeySecretPayload> {
        let caller = ctx.caller().await?;
        let new = service::NewKey {
            workspace_id: input.workspace_id.map(|id| id.0),
            name: input.name,
            environment: input.environment.unwrap_or(ApiKeyEnvironment::Live).into(),
            scopes: input
                .scopes
                .map(|list| list.into_iter().map(|s| (s.area, s.access)).collect()),
            expires_at: input.expires_at,
        };
        service::create(ctx.db(), &caller, new)
            .await
            .map(ApiKeySecretPayload::new)
    }

    /// A new secret for a key; the replaced one keeps working until
    /// `graceEndsAt`. Records `api_key.rotated`.
    #[graphql(directive = requires::apply(Capability::ManageApiKeys))]
    async fn rotate_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's id.")] id: ID,
        #[graphql(desc = "Hours the replaced secret keeps working, 0 to 168; 24 when absent.")]
        grace_hours: Option<i32>,
    ) -> AppResult<ApiKeySecretPayload> {
        let caller = ctx.caller().await?;
        service::rotate(ctx.db(), &caller, &id, grace_hours)
            .await
            .map(ApiKeySecretPayload::new)
    }

    /// Ends a key at its next request, and ends its open subscriptions.
    /// Records `api_key.revoked`; revoking again changes nothing.
    #[graphql(directive = requires::apply(Capability::ManageApiKeys))]
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's id.")] id: ID,
    ) -> AppResult<ApiKey> {
        let caller = ctx.caller().await?;
        service::revoke(ctx.state(), &caller, &id).await.map(ApiKey)
    }
}

/// Keys are listed on their workspace.
pub async fn of_workspace(ctx: &Context<'_>, workspace: &Workspace) -> AppResult<Vec<ApiKey>> {
    Ok(service::for_workspace(ctx.db(), &workspace.viewer)
        .await?
        .into_iter()
        .map(ApiKey)
        .collect())
}

/// The area whose VIEW a reader needs to see which key acted.
pub const AREA: Area = Area::Integrations;
