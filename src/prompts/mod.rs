//! The prompt library of a workspace: prompts with an open draft and
//! immutable published versions, fetched by reference, rendered with
//! variables, grouped in collections, found by search.

pub mod reference;
pub mod search;
pub mod service;
pub mod template;

use async_graphql::{Context, Enum, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use entity::{collection, prompt, prompt_version, user};

use crate::access::{Capability, Membership, requires};
use crate::auth::User;
use crate::context::{ContextExt, PageInfo, id_arg};
use crate::error::{AppError, AppResult};
use crate::workspaces::Workspace;

/// Where a prompt (or one of its versions) stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PromptStatus {
    /// Only a draft: nothing published yet (a version: the open draft).
    Draft,
    /// At least one version published (a version: published, immutable).
    Published,
    /// Hidden from search; references keep working.
    Archived,
}

/// Which part of the semantic version a publication raises.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum VersionBump {
    /// 1.4.2 → 2.0.0
    Major,
    /// 1.4.2 → 1.5.0
    Minor,
    /// 1.4.2 → 1.4.3
    Patch,
}

/// A prompt as one caller may see it.
pub struct Prompt {
    pub model: prompt::Model,
    pub viewer: Membership,
}

/// One version of a prompt: the open draft, or a published one.
pub struct PromptVersion {
    pub model: prompt_version::Model,
    pub prompt: Prompt,
}

/// A named group of a workspace's prompts.
pub struct Collection {
    pub model: collection::Model,
    pub viewer: Membership,
}

/// A page of prompts, by name.
pub struct PromptConnection {
    page: search::Page,
    viewer: Membership,
}

/// A new prompt of a workspace; it starts with a draft holding `body`.
#[derive(InputObject)]
pub struct CreatePromptInput {
    /// The workspace's id.
    pub workspace_id: ID,
    /// URL-safe and unique in the workspace: 1 to 80 lower-case letters and
    /// digits, words joined by single `-` or `_`. The `prompt-name` of its
    /// reference; it never changes.
    pub name: String,
    /// 1 to 200 characters.
    pub title: String,
    /// Free text of several lines, at most 2,000 characters.
    pub description: Option<String>,
    /// At most 60 characters.
    pub category: Option<String>,
    /// At most 20 tags of 1 to 40 characters, kept lower-cased.
    pub tags: Option<Vec<String>>,
    /// The first draft: a template of at most 50,000 characters with
    /// `{{variable}}` placeholders.
    pub body: String,
}

/// Absent fields stay as they are; an empty description or category clears it.
#[derive(InputObject)]
pub struct UpdatePromptInput {
    /// The prompt's id.
    pub id: ID,
    /// 1 to 200 characters.
    pub title: Option<String>,
    /// Free text of several lines, at most 2,000 characters.
    pub description: Option<String>,
    /// At most 60 characters.
    pub category: Option<String>,
    /// The whole new set: at most 20 tags of 1 to 40 characters.
    pub tags: Option<Vec<String>>,
}

/// What to look for; every condition given must hold. Archived prompts are
/// left out unless `status` is ARCHIVED.
#[derive(InputObject, Default)]
pub struct PromptSearch {
    /// Words (at most 200 characters; the first 8 words count), each found
    /// as a word or the start of one in the title, description or tags.
    pub text: Option<String>,
    /// Prompts carrying every one of these tags.
    pub tags: Option<Vec<String>>,
    /// Prompts of exactly this category.
    pub category: Option<String>,
    /// Prompts in this collection.
    pub collection_id: Option<ID>,
    /// DRAFT: nothing published yet; PUBLISHED; ARCHIVED.
    pub status: Option<PromptStatus>,
}

async fn person(ctx: &Context<'_>, id: Option<&String>) -> AppResult<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(user::Person::find(ctx.db(), id).await?.map(User))
}

impl Prompt {
    fn version(&self, model: prompt_version::Model) -> PromptVersion {
        PromptVersion {
            model,
            prompt: Prompt {
                model: self.model.clone(),
                viewer: self.viewer.clone(),
            },
        }
    }
}

/// A prompt of the workspace's library, fetched by apps as
/// `@workspace-slug/prompt-name[:version]`.
#[Object]
impl Prompt {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The workspace it belongs to.
    async fn workspace(&self) -> Workspace {
        Workspace::new(self.viewer.clone())
    }

    /// URL-safe, unique in the workspace: the `prompt-name` of a reference.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// The title shown to people.
    async fn title(&self) -> &str {
        &self.model.title
    }

    /// Free text of several lines.
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    /// A free-form category.
    async fn category(&self) -> Option<&str> {
        self.model.category.as_deref()
    }

    /// Lower-case tags, in the order given.
    async fn tags(&self) -> Vec<String> {
        serde_json::from_value(self.model.tags.clone()).unwrap_or_default()
    }

    /// "@workspace-slug/prompt-name": add ":1.4.0", ":1.4" or ":1" to pin a version.
    async fn reference(&self) -> String {
        format!("@{}/{}", self.viewer.workspace.slug, self.model.name)
    }

    /// ARCHIVED once archived; else PUBLISHED once any version is published; else DRAFT.
    async fn status(&self) -> PromptStatus {
        if self.model.archived_at.is_some() {
            PromptStatus::Archived
        } else if self.model.published_version.is_some() {
            PromptStatus::Published
        } else {
            PromptStatus::Draft
        }
    }

    /// The one open draft, if any; null for callers who may not edit
    /// prompts (viewers read published versions only).
    async fn draft(&self, ctx: &Context<'_>) -> AppResult<Option<PromptVersion>> {
        if !service::sees_drafts(&self.viewer) {
            return Ok(None);
        }
        Ok(service::draft(ctx.db(), &self.model.id)
            .await?
            .map(|v| self.version(v)))
    }

    /// The highest published version; null until one is published.
    async fn published(&self, ctx: &Context<'_>) -> AppResult<Option<PromptVersion>> {
        if self.model.published_version.is_none() {
            return Ok(None);
        }
        Ok(service::highest_published(ctx.db(), &self.model.id)
            .await?
            .map(|v| self.version(v)))
    }

    /// Every version, newest first: the draft (for those who see drafts),
    /// then published versions from the highest down.
    async fn versions(&self, ctx: &Context<'_>) -> AppResult<Vec<PromptVersion>> {
        let with_draft = service::sees_drafts(&self.viewer);
        Ok(service::versions(ctx.db(), &self.model.id, with_draft)
            .await?
            .into_iter()
            .map(|v| self.version(v))
            .collect())
    }

    /// The collections it is in, by name.
    async fn collections(&self, ctx: &Context<'_>) -> AppResult<Vec<Collection>> {
        Ok(service::collections_of(ctx.db(), &self.model.id)
            .await?
            .into_iter()
            .map(|model| Collection {
                model,
                viewer: self.viewer.clone(),
            })
            .collect())
    }

    /// Who made it; null once that account is gone (or a workspace key made it).
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        person(ctx, self.model.created_by.as_ref()).await
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// When it, its draft or its versions last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

/// One version of a prompt's template: the open draft, or a published,
/// immutable version.
#[Object]
impl PromptVersion {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The prompt it is a version of.
    async fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// The semantic version, "1.4.0"; null while a draft.
    async fn version(&self) -> Option<String> {
        service::version_name(&self.model)
    }

    /// DRAFT or PUBLISHED.
    async fn status(&self) -> PromptStatus {
        if self.model.published_at.is_some() {
            PromptStatus::Published
        } else {
            PromptStatus::Draft
        }
    }

    /// The template: `{{variable}}` placeholders in text.
    async fn body(&self) -> &str {
        &self.model.body
    }

    /// The placeholder names of the body, each once, in order of first use.
    async fn variables(&self) -> Vec<String> {
        serde_json::from_value(self.model.variables.clone()).unwrap_or_default()
    }

    /// What changed, in the author's words.
    async fn notes(&self) -> Option<&str> {
        self.model.notes.as_deref()
    }

    /// Who wrote it; null once that account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        person(ctx, self.model.created_by.as_ref()).await
    }

    /// When it was written (a draft: last saved).
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// When it was published; null while a draft.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.model.published_at
    }
}

/// A named group of a workspace's prompts.
#[Object]
impl Collection {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// Unique in the workspace.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// The prompts in it the caller may see, archived ones left out, by name
    /// (at most 100; page with `Workspace.prompts(search: {collectionId})`).
    async fn prompts(&self, ctx: &Context<'_>) -> AppResult<Vec<Prompt>> {
        let search = PromptSearch {
            collection_id: Some(ID(self.model.id.clone())),
            ..PromptSearch::default()
        };
        let page = search::page(
            ctx.db(),
            &self.viewer,
            search,
            crate::context::MAX_PAGE,
            None,
            false,
        )
        .await?;
        Ok(page
            .nodes
            .into_iter()
            .map(|model| Prompt {
                model,
                viewer: self.viewer.clone(),
            })
            .collect())
    }
}

/// A page of prompts, by name.
#[Object]
impl PromptConnection {
    /// The prompts of this page.
    async fn nodes(&self) -> Vec<Prompt> {
        self.page
            .nodes
            .iter()
            .map(|model| Prompt {
                model: model.clone(),
                viewer: self.viewer.clone(),
            })
            .collect()
    }

    /// Where the page starts and ends.
    async fn page_info(&self) -> &PageInfo {
        &self.page.page_info
    }

    /// How many prompts match in all, across pages.
    async fn total_count(&self) -> i64 {
        self.page.total_count.map_or(0, |n| n as i64)
    }
}

/// A page of a workspace's prompts, counted only when `totalCount` is asked for.
pub async fn page(
    ctx: &Context<'_>,
    viewer: &Membership,
    search: Option<PromptSearch>,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<PromptConnection> {
    let count = ctx.look_ahead().field("totalCount").exists();
    let page = search::page(
        ctx.db(),
        viewer,
        search.unwrap_or_default(),
        crate::context::page_size(first)?,
        after,
        count,
    )
    .await?;
    Ok(PromptConnection {
        page,
        viewer: viewer.clone(),
    })
}

pub fn collections(viewer: &Membership, models: Vec<collection::Model>) -> Vec<Collection> {
    models
        .into_iter()
        .map(|model| Collection {
            model,
            viewer: viewer.clone(),
        })
        .collect()
}

#[derive(Default)]
pub struct PromptQuery;

#[Object]
impl PromptQuery {
    /// A published prompt version by reference: "@workspace-slug/prompt-name",
    /// optionally ":1.4.0" (exact) or ":1" / ":1.4" (the highest published
    /// match); without a version, the highest published. Drafts never
    /// resolve. Null alike for an unknown reference, one into a workspace
    /// the caller may not read, and one with only a draft. A malformed
    /// reference is BAD_USER_INPUT.
    #[graphql(directive = requires::apply(Capability::ReadPrompts))]
    async fn prompt_by_reference(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "\"@workspace-slug/prompt-name\", optionally \":1.4.0\", \":1.4\" or \":1\"."
        )]
        reference: String,
    ) -> AppResult<Option<PromptVersion>> {
        let caller = ctx.caller().await?;
        Ok(reference::resolve(ctx.db(), &caller, &reference)
            .await?
            .map(|found| PromptVersion {
                model: found.version,
                prompt: Prompt {
                    model: found.prompt,
                    viewer: found.viewer,
                },
            }))
    }
}

#[derive(Default)]
pub struct PromptMutation;

#[Object]
impl PromptMutation {
    /// Makes a prompt whose first draft is `body`.
    #[graphql(directive = requires::apply(Capability::ManagePrompts))]
    async fn create_prompt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace, the prompt's name and title, and its first draft.")]
        input: CreatePromptInput,
    ) -> AppResult<Prompt> {
        let (viewer, model) = service::create(ctx.db(), &ctx.caller().await?, input).await?;
        Ok(Prompt { model, viewer })
    }

    /// Changes a prompt's title, description, category or tags. Members
    /// change the prompts they made; admins and the owner any.
    #[graphql(directive = requires::apply(Capability::ManagePrompts))]
    async fn update_prompt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The prompt's id and the fields to change; absent ones stay.")]
        input: UpdatePromptInput,
    ) -> AppResult<Prompt> {
        let (viewer, model) = service::update(ctx.db(), &ctx.caller().await?, input).await?;
        Ok(Prompt { model, viewer })
    }

    /// Saves the prompt's one open draft, starting one when there is none.
    #[graphql(directive = requires::apply(Capability::ManagePrompts))]
    async fn save_prompt_draft(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The prompt's id.")] prompt_id: ID,
        #[graphql(desc = "The template: at most 50,000 characters.")] body: String,
        #[graphql(desc = "What changed, at most 2,000 characters.")] notes: Option<String>,
    ) -> AppResult<PromptVersion> {
        let (viewer, model, version) =
            service::save_draft(ctx.db(), &ctx.caller().await?, &prompt_id, &body, notes).await?;
        Ok(PromptVersion {
            model: version,
            prompt: Prompt { model, viewer },
        })
    }

    /// Publishes the open draft as the next semantic version (1.0.0 first,
    /// whatever the bump). CONFLICT when there is no draft.
    #[graphql(directive = requires::apply(Capability::ManagePrompts))]
    async fn publish_prompt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The prompt's id.")] prompt_id: ID,
        #[graphql(desc = "The part of the version to raise.")] bump: VersionBump,
    ) -> AppResult<PromptVersion> {
        let (viewer, model, version) =
            service::publish(ctx.db(), &ctx.caller().await?, &prompt_id, bump).await?;
        Ok(PromptVersion {
            model: version,
            prompt: Prompt { model, viewer },
        })
    }

    /// Archives a prompt: search leaves it out, references keep resolving.
    #[graphql(directive = requires::apply(Capability::ManagePrompts))]
    async fn archive_prompt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The prompt's id.")] id: ID,
    ) -> AppResult<Prompt> {
        let (viewer, model) = service::archive(ctx.db(), &ctx.caller().await?, &id).await?;
        Ok(Prompt { model, viewer })
    }

    /// The published version a reference names, its placeholders filled
    /// from `variables` (a JSON object of strings, numbers or booleans) in
    /// one pass: values are not expanded again. A missing variable is
    /// BAD_USER_INPUT naming it; a reference that does not resolve (see
    /// `promptByReference`) is NOT_FOUND.
    #[graphql(directive = requires::apply(Capability::ReadPrompts))]
    async fn render_prompt(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "As for `promptByReference`.")] reference: String,
        #[graphql(desc = "A JSON object: placeholder names and their values.")] variables: Json<
            serde_json::Value,
        >,
    ) -> AppResult<String> {
        let caller = ctx.caller().await?;
        let found = reference::resolve(ctx.db(), &caller, &reference)
            .await?
            .ok_or(AppError::NotFound("prompt"))?;
        template::render(
            &found.version.body,
            &variables.0,
            ctx.state().config.prompt_render_max_bytes,
        )
    }

    /// Makes a collection of prompts; its name is unique in the workspace.
    #[graphql(directive = requires::apply(Capability::ManagePrompts))]
    async fn create_collection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "1 to 80 characters.")] name: String,
    ) -> AppResult<Collection> {
        let caller = ctx.caller().await?;
        let model = service::create_collection(ctx.db(), &caller, &workspace_id, &name).await?;
        let viewer = ctx.membership(&model.workspace_id).await?;
        Ok(Collection { model, viewer })
    }

    /// Puts a prompt in exactly these collections (at most 50) of its workspace.
    #[graphql(directive = requires::apply(Capability::ManagePrompts))]
    async fn set_prompt_collections(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The prompt's id.")] prompt_id: ID,
        #[graphql(desc = "Every collection it should be in; empty takes it out of all.")]
        collection_ids: Vec<ID>,
    ) -> AppResult<Prompt> {
        id_arg("promptId", &prompt_id)?;
        let ids = collection_ids.into_iter().map(|id| id.0).collect();
        let (viewer, model) =
            service::set_collections(ctx.db(), &ctx.caller().await?, &prompt_id, ids).await?;
        Ok(Prompt { model, viewer })
    }
}
