//! Workrooms: the projects of a workspace, where a team works together.

pub mod service;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{user, workroom};
use sea_orm::EntityTrait;

use crate::access::{Capability, Membership, Require, requires};
use crate::activity::{self, ActivityConnection, ActivityFilter};
use crate::auth::User;
use crate::error::AppResult;
use crate::graphql::{ContextExt, id_arg, page_size};
use crate::workspaces::Workspace;

/// A workroom as seen by a member of its workspace.
pub struct Workroom {
    pub model: workroom::Model,
    pub viewer: Membership,
}

/// A room of a workspace where its members work together.
#[Object]
impl Workroom {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The name shown to members.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// Free text of several lines; null when there is none.
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    /// The workspace it belongs to.
    async fn workspace(&self) -> Workspace {
        Workspace::new(self.viewer.clone())
    }

    /// Who made it; null once that account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = &self.model.created_by else {
            return Ok(None);
        };
        Ok(user::Entity::find_by_id(id).one(ctx.db()).await?.map(User))
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// Who is watching this workroom now (subscribed to `workroomEvents`).
    async fn viewers(&self, ctx: &Context<'_>) -> AppResult<Vec<User>> {
        Ok(crate::events::presence::viewers(ctx.db(), &self.model.id)
            .await?
            .into_iter()
            .map(User)
            .collect())
    }

    /// Events about this workroom, newest first; `first` at most 100.
    #[graphql(
        guard = "Require::new(Capability::ReadActivity, &self.viewer)",
        directive = requires::apply(Capability::ReadActivity)
    )]
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100 (BAD_USER_INPUT outside); 20 when absent.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (a previous page's `endCursor`); from the start when absent."
        )]
        after: Option<String>,
    ) -> AppResult<ActivityConnection> {
        let filter = ActivityFilter {
            workroom_id: Some(ID(self.model.id.clone())),
            ..Default::default()
        };
        activity::service::page(ctx.db(), &self.viewer, filter, page_size(first)?, after).await
    }
}

/// A new workroom in a workspace.
#[derive(InputObject)]
pub struct CreateWorkroomInput {
    /// The workspace's id.
    pub workspace_id: ID,
    /// 1 to 120 characters.
    pub name: String,
    /// Free text of several lines, at most 2,000 characters.
    pub description: Option<String>,
}

/// Absent fields stay as they are; an empty description clears it.
#[derive(InputObject)]
pub struct UpdateWorkroomInput {
    /// The workroom's id.
    pub id: ID,
    /// A new name, 1 to 120 characters.
    pub name: Option<String>,
    /// Free text of several lines, at most 2,000 characters; empty clears it.
    pub description: Option<String>,
}

#[derive(Default)]
pub struct WorkroomQuery;

#[Object]
impl WorkroomQuery {
    /// One workroom; NOT_FOUND unless the caller may see it.
    async fn workroom(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom's id.")] id: ID,
    ) -> AppResult<Option<Workroom>> {
        let id = id_arg("id", &id)?;
        let model = service::find(ctx.db(), id).await?;
        let viewer = ctx
            .membership(&model.workspace_id)
            .await
            .map_err(service::as_workroom_not_found)?;
        service::ensure_visible(&viewer, id)?;
        Ok(Some(Workroom { model, viewer }))
    }
}

#[derive(Default)]
pub struct WorkroomMutation;

#[Object]
impl WorkroomMutation {
    /// Makes a workroom; a member limited to selected workrooms gets access to the ones it makes.
    #[graphql(directive = requires::apply(Capability::CreateWorkroom))]
    async fn create_workroom(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id, and the new workroom's name and description.")]
        input: CreateWorkroomInput,
    ) -> AppResult<Workroom> {
        service::create(ctx.db(), &ctx.caller().await?, input).await
    }

    /// Members change the workrooms they made; admins and the owner change any.
    #[graphql(directive = requires::apply(Capability::UpdateWorkroom))]
    async fn update_workroom(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom's id and the fields to change; absent ones stay.")]
        input: UpdateWorkroomInput,
    ) -> AppResult<Workroom> {
        service::update(ctx.db(), &ctx.caller().await?, input).await
    }
}
