//! Prompt library rules and writes: names, drafts, semantic versions,
//! archiving and collections.

use chrono::Utc;
use entity::{collection, prompt, prompt_collection, prompt_version};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Select,
};
use serde_json::{Value, json};

use super::{CreatePromptInput, UpdatePromptInput, VersionBump, template};
use crate::access::{Capability, Membership, Principal, can_edit_created_by};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::tokens::new_id;

pub const NAME_MAX: usize = 80;
const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;
const CATEGORY_MAX: usize = 60;
const TAG_MAX: usize = 40;
pub const TAGS_MAX: usize = 20;
pub const BODY_MAX: usize = 50_000;
const NOTES_MAX: usize = 2000;
const COLLECTION_NAME_MAX: usize = 80;
pub const COLLECTIONS_PER_PROMPT_MAX: usize = 50;

/// Whether a prompt name is URL-safe: lower-case letters and digits, words
/// joined by single `-` or `_`, 1 to 80 characters.
pub fn is_valid_name(name: &str) -> bool {
    let separator = |b: u8| b == b'-' || b == b'_';
    (1..=NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || separator(b))
        && !name.bytes().next().is_some_and(separator)
        && !name.bytes().last().is_some_and(separator)
        && !name
            .as_bytes()
            .windows(2)
            .any(|pair| separator(pair[0]) && separator(pair[1]))
}

/// Published versions, highest first.
pub fn highest_first(query: Select<prompt_version::Entity>) -> Select<prompt_version::Entity> {
    query
        .order_by_desc(prompt_version::Column::Major)
        .order_by_desc(prompt_version::Column::Minor)
        .order_by_desc(prompt_version::Column::Patch)
}

/// "1.4.0"
pub fn version_name(version: &prompt_version::Model) -> Option<String> {
    match (version.major, version.minor, version.patch) {
        (Some(major), Some(minor), Some(patch)) => Some(format!("{major}.{minor}.{patch}")),
        _ => None,
    }
}

/// A prompt of the viewer's workspace; NOT_FOUND for anything else, and
/// for a prompt with no published version when the viewer may not see drafts.
pub async fn find(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    id: &str,
) -> AppResult<prompt::Model> {
    prompt::Entity::find_by_id(id)
        .filter(prompt::Column::WorkspaceId.eq(viewer.workspace_id()))
        .one(db)
        .await?
        .filter(|found| sees(viewer, found))
        .ok_or(AppError::NotFound("prompt"))
}

/// Whether the viewer sees drafts (PROJECTS FULL); others read published prompts only.
pub fn sees_drafts(viewer: &Membership) -> bool {
    viewer.allows(Capability::ManagePrompts)
}

fn sees(viewer: &Membership, found: &prompt::Model) -> bool {
    found.published_version.is_some() || sees_drafts(viewer)
}

pub async fn draft(
    db: &impl ConnectionTrait,
    prompt_id: &str,
) -> AppResult<Option<prompt_version::Model>> {
    Ok(prompt_version::Entity::find()
        .filter(prompt_version::Column::PromptId.eq(prompt_id))
        .filter(prompt_version::Column::PublishedAt.is_null())
        .one(db)
        .await?)
}

pub async fn highest_published(
    db: &impl ConnectionTrait,
    prompt_id: &str,
) -> AppResult<Option<prompt_version::Model>> {
    Ok(highest_first(
        prompt_version::Entity::find()
            .filter(prompt_version::Column::PromptId.eq(prompt_id))
            .filter(prompt_version::Column::PublishedAt.is_not_null()),
    )
    .one(db)
    .await?)
}

/// Every published version, highest first, after the draft when `with_draft`.
pub async fn versions(
    db: &impl ConnectionTrait,
    prompt_id: &str,
    with_draft: bool,
) -> AppResult<Vec<prompt_version::Model>> {
    let mut query =
        prompt_version::Entity::find().filter(prompt_version::Column::PromptId.eq(prompt_id));
    if !with_draft {
        query = query.filter(prompt_version::Column::PublishedAt.is_not_null());
    }
    let mut all = highest_first(query).all(db).await?;
    // NULL numbers sort first on PostgreSQL and last on SQLite: put the draft first on both.
    all.sort_by_key(|v| v.published_at.is_some());
    Ok(all)
}

pub async fn collections_of(
    db: &impl ConnectionTrait,
    prompt_id: &str,
) -> AppResult<Vec<collection::Model>> {
    let ids: Vec<String> = prompt_collection::Entity::find()
        .filter(prompt_collection::Column::PromptId.eq(prompt_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.collection_id)
        .collect();
    Ok(collection::Entity::find()
        .filter(collection::Column::Id.is_in(ids))
        .order_by_asc(collection::Column::Name)
        .all(db)
        .await?)
}

pub async fn collections(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> AppResult<Vec<collection::Model>> {
    Ok(collection::Entity::find()
        .filter(collection::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(collection::Column::Name)
        .all(db)
        .await?)
}

fn clean_tags(raw: Vec<String>) -> AppResult<Vec<String>> {
    if raw.len() > TAGS_MAX {
        return Err(AppError::bad_input(
            "tags",
            format!("at most {TAGS_MAX} tags"),
        ));
    }
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for tag in raw {
        let tag = crate::text::required("tags", &tag, TAG_MAX)?.to_lowercase();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

fn clean_body(raw: &str) -> AppResult<String> {
    crate::text::multi_line("body", raw, BODY_MAX)?
        .ok_or_else(|| AppError::bad_input("body", "body must not be empty"))
}

fn clean_description(raw: &str) -> AppResult<Option<String>> {
    crate::text::multi_line("description", raw, DESCRIPTION_MAX)
}

fn clean_category(raw: &str) -> AppResult<Option<String>> {
    crate::text::optional("category", raw, CATEGORY_MAX)
}

pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: CreatePromptInput,
) -> AppResult<(Membership, prompt::Model)> {
    let workspace_id = id_arg("workspaceId", &input.workspace_id)?;
    if !is_valid_name(&input.name) {
        return Err(AppError::bad_input(
            "name",
            format!(
                "a prompt name has 1 to {NAME_MAX} lower-case letters and digits, words joined by single - or _"
            ),
        ));
    }
    let title = crate::text::required("title", &input.title, TITLE_MAX)?;
    let description = input
        .description
        .as_deref()
        .map(clean_description)
        .transpose()?
        .flatten();
    let category = input
        .category
        .as_deref()
        .map(clean_category)
        .transpose()?
        .flatten();
    let tags = clean_tags(input.tags.unwrap_or_default())?;
    let body = clean_body(&input.body)?;

    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManagePrompts)?;
    let taken = prompt::Entity::find()
        .filter(prompt::Column::WorkspaceId.eq(workspace_id))
        .filter(prompt::Column::Name.eq(&input.name))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(AppError::Conflict(format!(
            "this workspace already has a prompt named {}",
            input.name
        )));
    }
    let now = Utc::now();
    let by = viewer.user_id().map(str::to_owned);
    let model = prompt::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        name: Set(input.name.clone()),
        title: Set(title),
        description: Set(description),
        category: Set(category),
        tags: Set(json!(tags)),
        published_version: Set(None),
        created_by: Set(by.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        archived_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    insert_draft(&txn, &model.id, body, None, by).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::PromptCreated, &model.id).with(
            Changes::default()
                .created("name", model.name.clone())
                .created("title", model.title.clone()),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok((viewer, model))
}

async fn insert_draft(
    db: &impl ConnectionTrait,
    prompt_id: &str,
    body: String,
    notes: Option<String>,
    by: Option<String>,
) -> AppResult<prompt_version::Model> {
    Ok(prompt_version::ActiveModel {
        id: Set(new_id()),
        prompt_id: Set(prompt_id.to_owned()),
        major: Set(None),
        minor: Set(None),
        patch: Set(None),
        variables: Set(json!(template::variables(&body))),
        body: Set(body),
        notes: Set(notes),
        created_by: Set(by),
        created_at: Set(Utc::now()),
        published_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Opens a write to one prompt: its workspace locked, the caller allowed to
/// manage prompts and to edit this one (its author, or an admin), and the
/// prompt read again under the lock.
async fn locked_prompt(
    txn: &impl ConnectionTrait,
    caller: &Principal,
    id: &str,
) -> AppResult<(Membership, prompt::Model)> {
    let (viewer, found) =
        crate::access::load::locked_target::<prompt::Entity>(txn, caller, "prompt", id, |p| {
            &p.workspace_id
        })
        .await?;
    if !sees(&viewer, &found) {
        return Err(AppError::NotFound("prompt"));
    }
    viewer.require(Capability::ManagePrompts)?;
    if !can_edit_created_by(&viewer, found.created_by.as_deref()) {
        return Err(AppError::Forbidden(
            "only admins change prompts made by someone else",
        ));
    }
    Ok((viewer, found))
}

fn refuse_archived(found: &prompt::Model) -> AppResult<()> {
    if found.archived_at.is_some() {
        return Err(AppError::Conflict(
            "this prompt is archived; archived prompts do not change".into(),
        ));
    }
    Ok(())
}

async fn touch(db: &impl ConnectionTrait, found: prompt::Model) -> AppResult<prompt::Model> {
    let mut row = found.into_active_model();
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    input: UpdatePromptInput,
) -> AppResult<(Membership, prompt::Model)> {
    let id = id_arg("id", &input.id)?;
    let title = input
        .title
        .as_deref()
        .map(|raw| crate::text::required("title", raw, TITLE_MAX))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(clean_description)
        .transpose()?;
    let category = input.category.as_deref().map(clean_category).transpose()?;
    let tags = input.tags.map(clean_tags).transpose()?;

    let txn = begin_write(db).await?;
    let (viewer, before) = locked_prompt(&txn, caller, id).await?;
    refuse_archived(&before)?;
    let mut row = before.clone().into_active_model();
    let mut changes = Changes::default();
    if let Some(title) = title
        && title != before.title
    {
        changes = changes.field("title", before.title.clone(), title.clone());
        row.title = Set(title);
    }
    if let Some(description) = description
        && description != before.description
    {
        changes = changes.field(
            "description",
            before.description.clone(),
            description.clone(),
        );
        row.description = Set(description);
    }
    if let Some(category) = category
        && category != before.category
    {
        changes = changes.field("category", before.category.clone(), category.clone());
        row.category = Set(category);
    }
    if let Some(tags) = tags.map(|t| json!(t))
        && tags != before.tags
    {
        changes = changes.field("tags", before.tags.clone(), tags.clone());
        row.tags = Set(tags);
    }
    if changes.is_empty() {
        txn.commit().await?;
        return Ok((viewer, before));
    }
    row.updated_at = Set(Utc::now());
    let model = row.update(&txn).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::PromptUpdated, id).with(changes),
    )
    .await?;
    txn.commit().await?;
    Ok((viewer, model))
}

/// Saves the prompt's one open draft, making it when there is none.
pub async fn save_draft(
    db: &DatabaseConnection,
    caller: &Principal,
    prompt_id: &str,
    body: &str,
    notes: Option<String>,
) -> AppResult<(Membership, prompt::Model, prompt_version::Model)> {
    let id = id_arg("promptId", prompt_id)?;
    let body = clean_body(body)?;
    let notes = notes
        .as_deref()
        .map(|raw| crate::text::multi_line("notes", raw, NOTES_MAX))
        .transpose()?
        .flatten();

    let txn = begin_write(db).await?;
    let (viewer, found) = locked_prompt(&txn, caller, id).await?;
    refuse_archived(&found)?;
    let by = viewer.user_id().map(str::to_owned);
    let variables = template::variables(&body);
    let version = match draft(&txn, id).await? {
        Some(open) => {
            let mut row = open.into_active_model();
            row.variables = Set(json!(variables));
            row.body = Set(body);
            row.notes = Set(notes);
            row.created_by = Set(by);
            row.created_at = Set(Utc::now());
            row.update(&txn).await?
        }
        None => insert_draft(&txn, id, body, notes, by).await?,
    };
    let found = touch(&txn, found).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::PromptDraftSaved, id)
            .with(Changes::default().created("variables", json!(variables))),
    )
    .await?;
    txn.commit().await?;
    Ok((viewer, found, version))
}

/// The version after `highest` for a bump; 1.0.0 first.
pub fn next_version(
    highest: Option<(i32, i32, i32)>,
    bump: VersionBump,
) -> AppResult<(i32, i32, i32)> {
    let Some((major, minor, patch)) = highest else {
        return Ok((1, 0, 0));
    };
    let next = match bump {
        VersionBump::Major => major.checked_add(1).map(|m| (m, 0, 0)),
        VersionBump::Minor => minor.checked_add(1).map(|m| (major, m, 0)),
        VersionBump::Patch => patch.checked_add(1).map(|p| (major, minor, p)),
    };
    next.ok_or_else(|| AppError::Conflict("the version number cannot grow further".into()))
}

/// Turns the open draft into the next published version.
pub async fn publish(
    db: &DatabaseConnection,
    caller: &Principal,
    prompt_id: &str,
    bump: VersionBump,
) -> AppResult<(Membership, prompt::Model, prompt_version::Model)> {
    let id = id_arg("promptId", prompt_id)?;
    let txn = begin_write(db).await?;
    let (viewer, found) = locked_prompt(&txn, caller, id).await?;
    refuse_archived(&found)?;
    let Some(open) = draft(&txn, id).await? else {
        return Err(AppError::Conflict(
            "this prompt has no draft to publish; save one first".into(),
        ));
    };
    let highest = highest_published(&txn, id)
        .await?
        .and_then(|v| Some((v.major?, v.minor?, v.patch?)));
    let (major, minor, patch) = next_version(highest, bump)?;
    let now = Utc::now();
    let mut row = open.into_active_model();
    row.major = Set(Some(major));
    row.minor = Set(Some(minor));
    row.patch = Set(Some(patch));
    row.published_at = Set(Some(now));
    let version = row.update(&txn).await?;
    let name = format!("{major}.{minor}.{patch}");
    let before = found.published_version.clone();
    let mut prompt_row = found.into_active_model();
    prompt_row.published_version = Set(Some(name.clone()));
    prompt_row.updated_at = Set(now);
    let found = prompt_row.update(&txn).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::PromptPublished, id).with(Changes::default().field(
            "version",
            before,
            Some(name),
        )),
    )
    .await?;
    txn.commit().await?;
    Ok((viewer, found, version))
}

/// Archives a prompt: search leaves it out, references keep working.
/// Archiving an archived prompt returns it unchanged.
pub async fn archive(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
) -> AppResult<(Membership, prompt::Model)> {
    let id = id_arg("id", id)?;
    let txn = begin_write(db).await?;
    let (viewer, before) = locked_prompt(&txn, caller, id).await?;
    if before.archived_at.is_some() {
        txn.commit().await?;
        return Ok((viewer, before));
    }
    let now = Utc::now();
    let mut row = before.into_active_model();
    row.archived_at = Set(Some(now));
    row.updated_at = Set(now);
    let model = row.update(&txn).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::PromptArchived, id)
            .with(Changes::default().created("archivedAt", now.to_rfc3339())),
    )
    .await?;
    txn.commit().await?;
    Ok((viewer, model))
}

pub async fn create_collection(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    name: &str,
) -> AppResult<collection::Model> {
    let workspace_id = id_arg("workspaceId", workspace_id)?;
    let name = crate::text::required("name", name, COLLECTION_NAME_MAX)?;
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManagePrompts)?;
    let taken = collection::Entity::find()
        .filter(collection::Column::WorkspaceId.eq(workspace_id))
        .filter(collection::Column::Name.eq(&name))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(AppError::Conflict(format!(
            "this workspace already has a collection named {name}"
        )));
    }
    let model = collection::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        name: Set(name),
        created_by: Set(viewer.user_id().map(str::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::CollectionCreated, &model.id)
            .with(Changes::default().created("name", model.name.clone())),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Puts a prompt in exactly these collections of its workspace.
pub async fn set_collections(
    db: &DatabaseConnection,
    caller: &Principal,
    prompt_id: &str,
    collection_ids: Vec<String>,
) -> AppResult<(Membership, prompt::Model)> {
    let id = id_arg("promptId", prompt_id)?;
    if collection_ids.len() > COLLECTIONS_PER_PROMPT_MAX {
        return Err(AppError::bad_input(
            "collectionIds",
            format!("a prompt is in at most {COLLECTIONS_PER_PROMPT_MAX} collections"),
        ));
    }
    let mut wanted: Vec<String> = Vec::with_capacity(collection_ids.len());
    for raw in collection_ids {
        id_arg("collectionIds", &raw)?;
        if !wanted.contains(&raw) {
            wanted.push(raw);
        }
    }
    let txn = begin_write(db).await?;
    let (viewer, found) = locked_prompt(&txn, caller, id).await?;
    refuse_archived(&found)?;
    let known = collection::Entity::find()
        .filter(collection::Column::WorkspaceId.eq(&found.workspace_id))
        .filter(collection::Column::Id.is_in(wanted.clone()))
        .all(&txn)
        .await?;
    if known.len() != wanted.len() {
        return Err(AppError::NotFound("collection"));
    }
    let before: Vec<Value> = collections_of(&txn, id)
        .await?
        .into_iter()
        .map(|c| json!(c.id))
        .collect();
    prompt_collection::Entity::delete_many()
        .filter(prompt_collection::Column::PromptId.eq(id))
        .exec(&txn)
        .await?;
    if !wanted.is_empty() {
        prompt_collection::Entity::insert_many(wanted.iter().map(|collection_id| {
            prompt_collection::ActiveModel {
                prompt_id: Set(id.to_owned()),
                collection_id: Set(collection_id.clone()),
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    let mut after: Vec<Value> = known.into_iter().map(|c| json!(c.id)).collect();
    after.sort_by_key(|v| v.to_string());
    let mut before_sorted = before;
    before_sorted.sort_by_key(|v| v.to_string());
    let found = touch(&txn, found).await?;
    if before_sorted != after {
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::PromptUpdated, id).with(Changes::default().field(
                "collections",
                Value::Array(before_sorted),
                Value::Array(after),
            )),
        )
        .await?;
    }
    txn.commit().await?;
    Ok((viewer, found))
}
