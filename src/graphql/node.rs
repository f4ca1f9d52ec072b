//! Global object identification: the `Node` interface and `node(id)`, so
//! that client caches (Apollo, Relay) can look any object up by its id.
//! Ids are UUIDs, unique across tables; what the caller may not see, or
//! what does not exist, is null alike.

use std::sync::Arc;

use async_graphql::{Context, ID, Interface, Object};
use entity::{activity_event, agent, export, invitation, member, prompt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::access::{Capability, Redaction};
use crate::activity::ActivityEvent;
use crate::agents::Agent;
use crate::context::{ContextExt, id_arg};
use crate::error::{AppError, AppResult};
use crate::exports::Export;
use crate::invitations::Invitation;
use crate::members::Member;
use crate::prompts::Prompt;
use crate::runs::AgentRun;
use crate::tasks::Task;
use crate::workrooms::Workroom;
use crate::workspaces::Workspace;

/// An object with a globally unique id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Unique across every type."))]
pub enum Node {
    Workspace(Workspace),
    Workroom(Workroom),
    Member(Member),
    Invitation(Invitation),
    ActivityEvent(ActivityEvent),
    Agent(Agent),
    AgentRun(AgentRun),
    Task(Task),
    Export(Export),
    Prompt(Prompt),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its id; null when it does not exist or the caller may
    /// not see it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The id of any object implementing `Node`: a Workspace, Workroom, Member, Invitation, ActivityEvent, Agent, AgentRun, Task, Export or Prompt."
        )]
        id: ID,
    ) -> AppResult<Option<Node>> {
        let id = id_arg("id", &id)?;
        if ctx
            .data_opt::<crate::auth::Identity>()
            .is_none_or(|i| i.principal.is_none() && i.key_secret.is_none())
        {
            return Ok(None);
        }
        hidden_is_none(find(ctx, id).await)
    }
}

/// Refusals of every kind read as "no such object".
fn hidden_is_none(found: AppResult<Option<Node>>) -> AppResult<Option<Node>> {
    match found {
        Err(
            AppError::NotFound(_)
            | AppError::Forbidden(_)
            | AppError::ForbiddenBecause(_)
            | AppError::Unauthenticated(_)
            | AppError::WorkspaceDeleted,
        ) => Ok(None),
        other => other,
    }
}

async fn find(ctx: &Context<'_>, id: &str) -> AppResult<Option<Node>> {
    let db = ctx.db();
    if let Ok(viewer) = ctx.membership(id).await {
        return Ok(Some(Node::Workspace(Workspace::new(viewer))));
    }
    if let Ok(model) = crate::workrooms::service::find(db, id).await {
        let viewer = ctx.membership(&model.workspace_id).await?;
        crate::workrooms::service::ensure_visible(&viewer, id)?;
        return Ok(Some(Node::Workroom(Workroom { model, viewer })));
    }
    if let Some(model) = member::Entity::find_by_id(id).one(db).await? {
        let viewer = ctx.membership(&model.workspace_id).await?;
        viewer.require(Capability::ReadMembers)?;
        let member = crate::members::service::one(db, &viewer.workspace, model).await?;
        return Ok(Some(Node::Member(member)));
    }
    if let Some(model) = invitation::Entity::find_by_id(id).one(db).await? {
        let viewer = ctx.membership(&model.workspace_id).await?;
        viewer.require(Capability::ReadInvitations)?;
        return Ok(Some(Node::Invitation(Invitation(model))));
    }
    let event = activity_event::Entity::find()
        .filter(activity_event::Column::Id.eq(id))
        .one(db)
        .await?;
    if let Some(model) = event {
        let viewer = ctx.membership(&model.workspace_id).await?;
        viewer.require(Capability::ReadActivity)?;
        if !crate::access::Audience::of(&viewer).admits(&model.area, model.workroom_id.as_deref()) {
            return Ok(None);
        }
        let redaction = Redaction::for_reader(&viewer);
        let event = crate::events::with_actors(db, vec![model])
            .await?
            .pop()
            .map(|event| ActivityEvent::new(Arc::new(event), redaction));
        return Ok(event.map(Node::ActivityEvent));
    }
    find_work(ctx, id).await
}

/// The objects of the work and the library: agents, runs, tasks, exports,
/// prompts, each seen as its own lookups see it.
async fn find_work(ctx: &Context<'_>, id: &str) -> AppResult<Option<Node>> {
    let db = ctx.db();
    if let Some(model) = agent::Entity::find_by_id(id).one(db).await? {
        let viewer = ctx.membership(&model.workspace_id).await?;
        viewer.require(Capability::ReadAgents)?;
        return Ok(Some(Node::Agent(Agent(model))));
    }
    let as_id = ID(id.to_owned());
    match crate::runs::service::find_visible(ctx, &as_id).await {
        Ok(run) => return Ok(Some(Node::AgentRun(run))),
        Err(AppError::NotFound("run")) => {}
        Err(err) => return Err(err),
    }
    match crate::tasks::service::find_visible(ctx, &as_id).await {
        Ok(task) => return Ok(Some(Node::Task(task))),
        Err(AppError::NotFound("task")) => {}
        Err(err) => return Err(err),
    }
    if let Some(model) = export::Entity::find_by_id(id).one(db).await? {
        let viewer = ctx.membership(&model.workspace_id).await?;
        viewer.require_in_workroom(Capability::ReadWorkroom, &model.workroom_id)?;
        return Ok(Some(Node::Export(Export { model, viewer })));
    }
    if let Some(model) = prompt::Entity::find_by_id(id).one(db).await? {
        let viewer = ctx.membership(&model.workspace_id).await?;
        viewer.require(Capability::ReadPrompts)?;
        let model = crate::prompts::service::find(db, &viewer, &model.id).await?;
        return Ok(Some(Node::Prompt(Prompt { model, viewer })));
    }
    Ok(None)
}
