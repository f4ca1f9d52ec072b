//! A workspace's own model provider key ("bring your own key"): sealed at
//! rest under `SECRETS_KEY`, shown only as its provider and last four
//! characters, never returned and never logged. Runs of the workspace use
//! it instead of the server's `LLM_API_KEY`.

pub mod service;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::access::{Capability, requires};
use crate::context::ContextExt;
use crate::error::AppResult;

/// A workspace's provider key as anyone may see it: never the secret.
///
/// A value object: it has no id, and client caches keep it inside the
/// workspace that holds it.
#[derive(SimpleObject)]
pub struct ProviderKey {
    /// The provider it is for, e.g. `openai`.
    pub provider: String,
    /// The key's last four characters.
    pub last4: String,
    /// When it was set.
    pub created_at: DateTime<Utc>,
}

impl From<entity::provider_key::Model> for ProviderKey {
    fn from(row: entity::provider_key::Model) -> Self {
        Self {
            provider: row.provider,
            last4: row.last4,
            created_at: row.created_at,
        }
    }
}

#[derive(Default)]
pub struct ProviderKeyMutation;

#[Object]
impl ProviderKeyMutation {
    /// Sets the workspace's own provider key (replacing any); runs use it
    /// instead of the server's. BAD_USER_INPUT when the server has no
    /// `SECRETS_KEY` to seal it with.
    #[graphql(directive = requires::apply(Capability::ManageProviderKey))]
    async fn set_provider_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "The provider: `openai` (any OpenAI-compatible API).")] provider: String,
        #[graphql(desc = "The secret: 8 to 512 characters without spaces; never returned.")]
        api_key: String,
    ) -> AppResult<ProviderKey> {
        service::set(
            ctx.state(),
            &ctx.caller().await?,
            &workspace_id,
            &provider,
            &api_key,
        )
        .await
    }

    /// Removes the workspace's own key: runs use the server's again. True
    /// when there was one.
    #[graphql(directive = requires::apply(Capability::ManageProviderKey))]
    async fn clear_provider_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
    ) -> AppResult<bool> {
        service::clear(ctx.db(), &ctx.caller().await?, &workspace_id).await
    }
}
