//! Agent rules and writes.

use chrono::Utc;
use entity::{agent, agent_version};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde_json::Value;

use super::{Agent, CreateAgentInput, UpdateAgentInput};
use crate::access::{Capability, Membership, Principal, can_edit_created_by};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::tokens::new_id;

const NAME_MAX: usize = 120;
const DESCRIPTION_MAX: usize = 2000;
pub const INSTRUCTIONS_MAX: usize = 20_000;
/// Largest Style Memory, as JSON text.
pub const STYLE_MEMORY_MAX_BYTES: usize = 64 << 10;

/// An agent of the viewer's workspace; NOT_FOUND for anything else.
pub async fn find(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    id: &str,
) -> AppResult<agent::Model> {
    agent::Entity::find_by_id(id)
        .filter(agent::Column::WorkspaceId.eq(viewer.workspace_id()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("agent"))
}

/// The workspace's agents that are not archived, oldest first.
pub async fn list(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<Vec<Agent>> {
    Ok(agent::Entity::find()
        .filter(agent::Column::WorkspaceId.eq(workspace_id))
        .filter(agent::Column::ArchivedAt.is_null())
        .order_by_asc(agent::Column::CreatedAt)
        .order_by_asc(agent::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Agent)
        .collect())
}

pub async fn versions(
    db: &impl ConnectionTrait,
    agent_id: &str,
) -> AppResult<Vec<agent_version::Model>> {
    Ok(agent_version::Entity::find()
        .filter(agent_version::Column::AgentId.eq(agent_id))
        .order_by_desc(agent_version::Column::Version)
        .all(db)
        .await?)
}

fn clean_instructions(raw: &str) -> AppResult<String> {
    crate::text::multi_line("instructions", raw, INSTRUCTIONS_MAX)?
        .ok_or_else(|| AppError::bad_input("instructions", "instructions must not be empty"))
}

fn clean_style_memory(value: Value) -> AppResult<Option<Value>> {
    let size = serde_json::to_string(&value).map_or(usize::MAX, |text| text.len());
    if size > STYLE_MEMORY_MAX_BYTES {
        return Err(AppError::bad_input(
            "styleMemory",
            format!("styleMemory has at most {STYLE_MEMORY_MAX_BYTES} bytes of JSON"),
        ));
    }
    Ok((!value.is_null()).then_some(value))
}

fn clean_description(raw: String) -> AppResult<Option<String>> {
    crate::text::multi_line("description", &raw, DESCRIPTION_MAX)
}

fn json_or_null(value: &Option<Value>) -> Value {
    value.clone().unwrap_or(Value::Null)
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: CreateAgentInput,
) -> AppResult<Agent> {
    let workspace_id = id_arg("workspaceId", &input.workspace_id)?;
    let name = crate::text::required("name", &input.name, NAME_MAX)?;
    let description = input
        .description
        .map(clean_description)
        .transpose()?
        .flatten();
    let instructions = clean_instructions(&input.instructions)?;
    let style_memory = input
        .style_memory
        .map(|json| clean_style_memory(json.0))
        .transpose()?
        .flatten();

    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManageAgents)?;
    let now = Utc::now();
    let model = agent::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        name: Set(name),
        description: Set(description),
        instructions: Set(instructions),
        style_memory: Set(style_memory),
        version: Set(1),
        created_by: Set(viewer.user_id().map(str::to_owned)),
        created_at: Set(now),
        updated_at: Set(now),
        archived_at: Set(None),
    }
    .insert(&txn)
    .await?;
    record_version(&txn, &model, viewer.user_id()).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::AgentCreated, &model.id).with(
            Changes::default()
                .created("name", model.name.clone())
                .created("instructions", model.instructions.clone())
                .created("styleMemory", json_or_null(&model.style_memory))
                .created("version", model.version),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(Agent(model))
}

async fn record_version(
    db: &impl ConnectionTrait,
    model: &agent::Model,
    by: Option<&str>,
) -> AppResult<()> {
    agent_version::ActiveModel {
        agent_id: Set(model.id.clone()),
        version: Set(model.version),
        instructions: Set(model.instructions.clone()),
        style_memory: Set(model.style_memory.clone()),
        created_by: Set(by.map(str::to_owned)),
        created_at: Set(model.updated_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Opens a write to one agent: the workspace locked, the caller allowed to
/// manage agents, and the agent read again under the lock.
async fn locked_agent(
    txn: &impl ConnectionTrait,
    caller: &Principal,
    id: &str,
) -> AppResult<(Membership, agent::Model)> {
    let (viewer, model) =
        crate::access::load::locked_target::<agent::Entity>(txn, caller, "agent", id, |a| {
            &a.workspace_id
        })
        .await?;
    viewer.require(Capability::ManageAgents)?;
    if !can_edit_created_by(&viewer, model.created_by.as_deref()) {
        return Err(AppError::Forbidden(
            "only admins change agents made by someone else",
        ));
    }
    Ok((viewer, model))
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    input: UpdateAgentInput,
) -> AppResult<Agent> {
    let id = id_arg("id", &input.id)?;
    let name = input
        .name
        .as_deref()
        .map(|raw| crate::text::required("name", raw, NAME_MAX))
        .transpose()?;
    let description = input.description.map(clean_description).transpose()?;
    let instructions = input
        .instructions
        .as_deref()
        .map(clean_instructions)
        .transpose()?;
    let style_memory = input
        .style_memory
        .map(|json| clean_style_memory(json.0))
        .transpose()?;

    let txn = begin_write(db).await?;
    let (viewer, before) = locked_agent(&txn, caller, id).await?;
    if before.archived_at.is_some() {
        return Err(AppError::Conflict(
            "this agent is archived; archived agents do not change".into(),
        ));
    }
    let mut row = before.clone().into_active_model();
    let mut changes = Changes::default();
    if let Some(name) = name {
        changes = changes.field("name", before.name.clone(), name.clone());
        row.name = Set(name);
    }
    if let Some(description) = description {
        changes = changes.field(
            "description",
            before.description.clone(),
            description.clone(),
        );
        row.description = Set(description);
    }
    let mut new_version = false;
    if let Some(instructions) = instructions
        && instructions != before.instructions
    {
        changes = changes.field(
            "instructions",
            before.instructions.clone(),
            instructions.clone(),
        );
        row.instructions = Set(instructions);
        new_version = true;
    }
    if let Some(style_memory) = style_memory
        && style_memory != before.style_memory
    {
        changes = changes.field(
            "styleMemory",
            json_or_null(&before.style_memory),
            json_or_null(&style_memory),
        );
        row.style_memory = Set(style_memory);
        new_version = true;
    }
    if changes.is_empty() {
        txn.commit().await?;
        return Ok(Agent(before));
    }
    if new_version {
        changes = changes.field("version", before.version, before.version + 1);
        row.version = Set(before.version + 1);
    }
    row.updated_at = Set(Utc::now());
    let model = row.update(&txn).await?;
    if new_version {
        record_version(&txn, &model, viewer.user_id()).await?;
    }
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::AgentUpdated, id).with(changes),
    )
    .await?;
    txn.commit().await?;
    Ok(Agent(model))
}

pub async fn archive(db: &DatabaseConnection, caller: &Principal, id: &str) -> AppResult<Agent> {
    let id = id_arg("id", id)?;
    let txn = begin_write(db).await?;
    let (viewer, before) = locked_agent(&txn, caller, id).await?;
    if before.archived_at.is_some() {
        txn.commit().await?;
        return Ok(Agent(before));
    }
    let now = Utc::now();
    let mut row = before.into_active_model();
    row.archived_at = Set(Some(now));
    row.updated_at = Set(now);
    let model = row.update(&txn).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::AgentArchived, id)
            .with(Changes::default().created("archivedAt", now.to_rfc3339())),
    )
    .await?;
    txn.commit().await?;
    Ok(Agent(model))
}
