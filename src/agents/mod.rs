//! Custom agents of a workspace: instructions and a Style Memory set by
//! people. Every change of either makes a new immutable version; runs keep
//! the version they used.

pub mod service;

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use entity::{agent, agent_version, user};

use crate::access::{Capability, requires};
use crate::auth::User;
use crate::context::ContextExt;
use crate::error::AppResult;

/// An agent as one member may see it.
pub struct Agent(pub agent::Model);

/// One version of an agent's instructions and Style Memory.
pub struct AgentVersion(pub agent_version::Model);

/// A new agent of a workspace.
#[derive(InputObject)]
pub struct CreateAgentInput {
    /// The workspace's id.
    pub workspace_id: ID,
    /// 1 to 120 characters.
    pub name: String,
    /// Free text of several lines, at most 2,000 characters.
    pub description: Option<String>,
    /// What the agent is told before each input: 1 to 20,000 characters.
    pub instructions: String,
    /// The agent's style profile (tone, vocabulary, examples): any JSON of
    /// at most 64 KiB.
    pub style_memory: Option<Json<serde_json::Value>>,
}

/// Absent fields stay as they are. A change of `instructions` or
/// `styleMemory` makes a new version; a rename does not.
#[derive(InputObject)]
pub struct UpdateAgentInput {
    /// The agent's id.
    pub id: ID,
    /// A new name, 1 to 120 characters.
    pub name: Option<String>,
    /// Free text of several lines, at most 2,000 characters; empty clears it.
    pub description: Option<String>,
    /// 1 to 20,000 characters.
    pub instructions: Option<String>,
    /// Any JSON of at most 64 KiB; absent or null leaves it as it is.
    pub style_memory: Option<Json<serde_json::Value>>,
}

async fn person(ctx: &Context<'_>, id: Option<&String>) -> AppResult<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(user::Person::find(ctx.db(), id).await?.map(User))
}

/// A custom agent: what it is told, and the style it writes in.
#[Object]
impl Agent {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The name shown to members.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Free text of several lines; null when there is none.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// What the agent is told before each input.
    async fn instructions(&self) -> &str {
        &self.0.instructions
    }

    /// The agent's style profile (tone, vocabulary, examples), set by people.
    async fn style_memory(&self) -> Option<Json<serde_json::Value>> {
        self.0.style_memory.clone().map(Json)
    }

    /// 1, 2, …: every change of instructions or Style Memory makes a new version.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every version, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> AppResult<Vec<AgentVersion>> {
        Ok(service::versions(ctx.db(), &self.0.id)
            .await?
            .into_iter()
            .map(AgentVersion)
            .collect())
    }

    /// Who made it; null once that account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        person(ctx, self.0.created_by.as_ref()).await
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When it was archived: it starts no more runs and is left out of lists.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
}

/// What an agent's instructions and Style Memory were from one version on.
///
/// A value object: it has no id, and client caches keep it inside the
/// agent that holds it.
#[Object]
impl AgentVersion {
    /// 1, 2, …
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The instructions of this version.
    async fn instructions(&self) -> &str {
        &self.0.instructions
    }

    /// The Style Memory of this version.
    async fn style_memory(&self) -> Option<Json<serde_json::Value>> {
        self.0.style_memory.clone().map(Json)
    }

    /// Who made this version; null once that account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        person(ctx, self.0.created_by.as_ref()).await
    }

    /// When this version was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct AgentMutation;

#[Object]
impl AgentMutation {
    /// Makes a custom agent (version 1).
    #[graphql(directive = requires::apply(Capability::ManageAgents))]
    async fn create_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace, and the agent's name, instructions and Style Memory.")]
        input: CreateAgentInput,
    ) -> AppResult<Agent> {
        service::create(ctx.db(), &ctx.caller().await?, input).await
    }

    /// Changes an agent; a change of instructions or Style Memory makes a new
    /// version, and its activity event carries the before and after. Members
    /// change the agents they made; admins and the owner any.
    #[graphql(directive = requires::apply(Capability::ManageAgents))]
    async fn update_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent's id and the fields to change; absent ones stay.")]
        input: UpdateAgentInput,
    ) -> AppResult<Agent> {
        service::update(ctx.db(), &ctx.caller().await?, input).await
    }

    /// Archives an agent: it starts no more runs; runs keep the version
    /// they used. Archiving an archived agent returns it unchanged. Members
    /// archive the agents they made; admins and the owner any.
    #[graphql(directive = requires::apply(Capability::ManageAgents))]
    async fn archive_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent's id.")] id: ID,
    ) -> AppResult<Agent> {
        service::archive(ctx.db(), &ctx.caller().await?, &id).await
    }
}
