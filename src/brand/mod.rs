//! A workspace's brand: its profile (industry, website, colors, voice,
//! audience, goals, main offer) and its memory of facts. Every member reads
//! it; GENERAL FULL edits it.

pub mod service;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{brand_fact, brand_profile, user};

use crate::access::{Capability, requires};
use crate::auth::User;
use crate::context::ContextExt;
use crate::error::AppResult;

/// A workspace's brand profile and memory.
pub struct BrandProfile {
    pub workspace_id: String,
    pub model: Option<brand_profile::Model>,
}

/// One fact of the brand memory.
pub struct BrandFact(pub brand_fact::Model);

/// Absent fields stay as they are; an empty string clears a text, an empty
/// list clears colors or voice.
#[derive(InputObject, Default)]
pub struct BrandProfileInput {
    /// At most 120 characters.
    pub industry: Option<String>,
    /// An address starting with `http://` or `https://`, at most 2,048 characters.
    pub website: Option<String>,
    /// At most 12 colors, each "#rrggbb" (kept lower-cased).
    pub colors: Option<Vec<String>>,
    /// At most 12 descriptors of 1 to 40 characters.
    pub voice: Option<Vec<String>>,
    /// Free text of several lines, at most 2,000 characters.
    pub audience: Option<String>,
    /// Free text of several lines, at most 2,000 characters.
    pub goals: Option<String>,
    /// Free text of several lines, at most 2,000 characters.
    pub main_offer: Option<String>,
}

fn list(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// What the brand is and sounds like, and what the team keeps in mind about it.
///
/// A value object: it has no id, and client caches keep it inside the
/// workspace that holds it (Apollo: `typePolicies: { BrandProfile: { merge: true } }`).
#[Object]
impl BrandProfile {
    /// The brand's industry.
    async fn industry(&self) -> Option<&str> {
        self.model.as_ref()?.industry.as_deref()
    }

    /// The brand's website, an http(s) address.
    async fn website(&self) -> Option<&str> {
        self.model.as_ref()?.website.as_deref()
    }

    /// Brand colors, "#rrggbb".
    async fn colors(&self) -> Vec<String> {
        list(self.model.as_ref().map(|m| &m.colors))
    }

    /// Descriptors of the brand's voice.
    async fn voice(&self) -> Vec<String> {
        list(self.model.as_ref().map(|m| &m.voice))
    }

    /// Who the brand speaks to.
    async fn audience(&self) -> Option<&str> {
        self.model.as_ref()?.audience.as_deref()
    }

    /// What the brand wants to achieve.
    async fn goals(&self) -> Option<&str> {
        self.model.as_ref()?.goals.as_deref()
    }

    /// What the brand mainly sells.
    async fn main_offer(&self) -> Option<&str> {
        self.model.as_ref()?.main_offer.as_deref()
    }

    /// Brand memory: facts, oldest first.
    async fn memory(&self, ctx: &Context<'_>) -> AppResult<Vec<BrandFact>> {
        Ok(service::facts(ctx.db(), &self.workspace_id)
            .await?
            .into_iter()
            .map(BrandFact)
            .collect())
    }
}

/// A fact the team keeps about its brand.
#[Object]
impl BrandFact {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The fact, several lines at most.
    async fn text(&self) -> &str {
        &self.0.text
    }

    /// Who added it; null once that account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = self.0.created_by.as_ref() else {
            return Ok(None);
        };
        Ok(user::Person::find(ctx.db(), id).await?.map(User))
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct BrandMutation;

#[Object]
impl BrandMutation {
    /// Changes the brand profile; absent fields stay.
    #[graphql(directive = requires::apply(Capability::ManageBrand))]
    async fn update_brand_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "The fields to change.")] input: BrandProfileInput,
    ) -> AppResult<BrandProfile> {
        service::update(ctx.db(), &ctx.caller().await?, &workspace_id, input).await
    }

    /// Adds a fact to the brand memory (at most 200 facts).
    #[graphql(directive = requires::apply(Capability::ManageBrand))]
    async fn add_brand_fact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "1 to 1,000 characters, several lines allowed.")] text: String,
    ) -> AppResult<BrandFact> {
        service::add_fact(ctx.db(), &ctx.caller().await?, &workspace_id, &text)
            .await
            .map(BrandFact)
    }

    /// Removes a fact from the brand memory and returns it.
    #[graphql(directive = requires::apply(Capability::ManageBrand))]
    async fn remove_brand_fact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fact's id.")] id: ID,
    ) -> AppResult<BrandFact> {
        service::remove_fact(ctx.db(), &ctx.caller().await?, &id)
            .await
            .map(BrandFact)
    }
}
