//! Workrooms: the projects of a workspace, where a team works together.

pub mod service;

use async_graphql::{Context, ID, InputObject, Object};
use entity::workroom;

use crate::access::{Capability, Membership, requires};
use crate::context::{ContextExt, id_arg};
use crate::error::AppResult;

/// A workroom as seen by a member of its workspace.
pub struct Workroom {
    pub model: workroom::Model,
    pub viewer: Membership,
}

impl Workroom {
    /// The workroom with this id, as `viewer` holds it.
    pub async fn by_id(
        db: &impl sea_orm::ConnectionTrait,
        viewer: &Membership,
        id: &str,
    ) -> AppResult<Self> {
        Ok(Workroom {
            model: service::find(db, id).await?,
            viewer: viewer.clone(),
        })
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
