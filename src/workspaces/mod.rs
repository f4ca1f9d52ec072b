//! Workspaces: the tenant that members, workrooms and activity belong to.

pub mod service;

use async_graphql::{Context, Enum, ID, InputObject, Object};

use crate::access::{Capability, Membership, Role, requires};
use crate::activity::{self, ActivityConnection};
use crate::context::{ContextExt, id_arg, page_size};
use crate::error::{AppError, AppResult};
use crate::members::{self, MemberConnection};

/// A subscription plan; it sets the number of seats.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::Plan")]
pub enum Plan {
    /// A trial: 1 seat.
    FreeTrial,
    /// 1 seat.
    Solo,
    /// 2 seats.
    Starter,
    /// 5 seats.
    Pro,
    /// 15 seats.
    Growth,
    /// Unlimited seats.
    Agency,
}

/// Who can find a workspace.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::Visibility")]
pub enum Visibility {
    /// Marked public; a setting for clients to show (reading it still needs a membership).
    Public,
    /// Private, the default.
    Private,
}

/// What a workspace is for; informational, shown in lists.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::WorkspaceType")]
pub enum WorkspaceType {
    /// The team's own brand, the default.
    MyBrand,
    /// A client's brand the team works for.
    Client,
}

/// How the workspace works.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::WorkspaceMode")]
pub enum WorkspaceMode {
    /// With agents and runs, the default.
    Agentic,
    /// Without agents: people write, the library and approvals still apply.
    Traditional,
}

/// A workspace as seen by one of its members.
pub struct Workspace {
    pub viewer: Membership,
    /// Its first page of members, when a list of workspaces loaded them
    /// for all at once.
    pub(crate) members_page: Option<(u64, MemberConnection)>,
    /// Its first page of activity, when it was read with the membership.
    pub(crate) activity_page: Option<(u64, ActivityConnection)>,
}

impl Workspace {
    pub fn new(viewer: Membership) -> Self {
        Self {
            viewer,
            members_page: None,
            activity_page: None,
        }
    }

    pub(crate) fn model(&self) -> &entity::workspace::Model {
        &self.viewer.workspace
    }
}

/// A new workspace; the caller becomes its owner.
#[derive(InputObject)]
pub struct CreateWorkspaceInput {
    /// 1 to 80 characters.
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    /// Free text of several lines, at most 2,000 characters.
    pub description: Option<String>,
    /// An address starting with `http://` or `https://`, at most 2,048 characters.
    pub website: Option<String>,
    /// PRIVATE when absent.
    pub visibility: Option<Visibility>,
    /// MY_BRAND when absent.
    #[graphql(name = "type")]
    pub workspace_type: Option<WorkspaceType>,
    /// AGENTIC when absent.
    pub mode: Option<WorkspaceMode>,
}

/// Absent fields stay as they are; an empty string clears an optional one.
#[derive(InputObject)]
pub struct UpdateWorkspaceInput {
    /// The workspace's id.
    pub id: ID,
    /// A new name, 1 to 80 characters.
    pub name: Option<String>,
    /// Free text of several lines, at most 2,000 characters; empty clears it.
    pub description: Option<String>,
    /// An address starting with `http://` or `https://`, at most 2,048
    /// characters; empty clears it.
    pub website: Option<String>,
    /// PUBLIC or PRIVATE.
    pub visibility: Option<Visibility>,
    /// MY_BRAND or CLIENT.
    #[graphql(name = "type")]
    pub workspace_type: Option<WorkspaceType>,
}

/// The page size of the list `list` (`members`, `activity`) when every
/// selection of it under this field asks for its first page, unfiltered,
/// with one size; None otherwise.
fn first_page_size(ctx: &Context<'_>, list: &'static str) -> AppResult<Option<u64>> {
    let mut size = None;
    for field in ctx.field().selection_set().filter(|f| f.name() == list) {
        let mut first = None;
        let arguments = field
            .arguments()
            .map_err(|err| AppError::bad_input(list, err.message))?;
        for (name, value) in arguments {
            match (name.as_str(), value) {
                ("after", async_graphql::Value::Null) => {}
                ("after", _) => return Ok(None),
                ("first", async_graphql::Value::Number(n)) => {
                    first = Some(n.as_i64().and_then(|n| i32::try_from(n).ok()))
                }
                ("first", async_graphql::Value::Null) => {}
                _ => return Ok(None),
            }
        }
        let Ok(this) = page_size(first.flatten()) else {
            return Ok(None);
        };
        if size.is_some_and(|s| s != this) {
            return Ok(None);
        }
        size = Some(this);
    }
    Ok(size)
}

#[derive(Default)]
pub struct WorkspaceQuery;

#[Object]
impl WorkspaceQuery {
    /// The caller's workspaces, deleted ones excluded.
    async fn workspaces(&self, ctx: &Context<'_>) -> AppResult<Vec<Workspace>> {
        let caller = ctx.caller().await?;
        let mut list: Vec<Workspace> = service::list_for_user(ctx.db(), &caller)
            .await?
            .into_iter()
            .map(Workspace::new)
            .collect();
        // Members asked for on every workspace load for all of them at once.
        if let Some(first) = first_page_size(ctx, "members")? {
            let readable: Vec<&entity::workspace::Model> = list
                .iter()
                .filter(|w| w.viewer.allows(Capability::ReadMembers))
                .map(|w| &w.viewer.workspace)
                .collect();
            let mut pages = members::service::first_pages(ctx.db(), &readable, first).await?;
            for workspace in &mut list {
                workspace.members_page = pages
                    .remove(&workspace.viewer.workspace.id)
                    .map(|page| (first, page));
            }
        }
        Ok(list)
    }

    /// One workspace by id or slug; NOT_FOUND unless the caller belongs to it.
    #[graphql(directive = requires::apply(Capability::ReadWorkspace))]
    async fn workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id; give it or `slug`, not both.")] id: Option<ID>,
        #[graphql(desc = "The workspace's slug (any case); give it or `id`, not both.")]
        slug: Option<String>,
    ) -> AppResult<Option<Workspace>> {
        let id = match (id, slug) {
            (Some(id), None) => id_arg("id", &id)?.to_owned(),
            (None, Some(slug)) => service::id_by_slug(ctx.db(), &slug)
                .await?
                .ok_or(AppError::NotFound("workspace"))?,
            _ => return Err(AppError::bad_input("id", "give exactly one of id and slug")),
        };
        // Its first page of activity asked for: read with the membership.
        let Some(first) = first_page_size(ctx, "activity")? else {
            let viewer = ctx.membership(&id).await?;
            viewer.require(Capability::ReadWorkspace)?;
            return Ok(Some(Workspace::new(viewer)));
        };
        let caller = ctx.caller().await?;
        let (viewer, page) =
            activity::service::membership_with_first_page(ctx.db(), &id, &caller, first).await?;
        ctx.remember_membership(&id, &viewer);
        viewer.require(Capability::ReadWorkspace)?;
        let mut workspace = Workspace::new(viewer);
        workspace.activity_page = page.map(|page| (first, page));
        Ok(Some(workspace))
    }
}

#[derive(Default)]
pub struct WorkspaceMutation;

#[Object]
impl WorkspaceMutation {
    /// Makes a workspace owned by the caller, on the FREE_TRIAL plan.
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new workspace's settings.")] input: CreateWorkspaceInput,
    ) -> AppResult<Workspace> {
        if ctx.caller().await?.key().is_some() {
            return Err(AppError::Forbidden("only a person creates workspaces"));
        }
        let user = ctx.current_user().await?;
        let viewer = service::create(ctx.db(), &user, input).await?;
        Ok(Workspace::new(viewer))
    }

    /// Changes the workspace's name, description, website, visibility or type; absent fields stay.
    #[graphql(directive = requires::apply(Capability::UpdateWorkspace))]
    async fn update_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id and the fields to change; absent ones stay.")]
        input: UpdateWorkspaceInput,
    ) -> AppResult<Workspace> {
        let viewer = service::update(ctx.db(), &ctx.caller().await?, input).await?;
        Ok(Workspace::new(viewer))
    }

    /// Switches the workspace between AGENTIC and TRADITIONAL; the owner
    /// alone does this (admins read the mode).
    #[graphql(directive = requires::apply(Capability::SetWorkspaceMode))]
    async fn set_workspace_mode(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "The new mode.")] mode: WorkspaceMode,
    ) -> AppResult<Workspace> {
        let id = id_arg("workspaceId", &workspace_id)?;
        let viewer = service::set_mode(ctx.db(), &ctx.caller().await?, id, mode.into()).await?;
        Ok(Workspace::new(viewer))
    }

    /// Sets how many days of activity the workspace keeps, 7 to 3,650, or
    /// null for good (the owner alone). A daily job deletes older events
    /// and records `activity.purged`; resuming a feed from a cursor older
    /// than what is kept is BAD_USER_INPUT with `extensions.reason`
    /// CURSOR_EXPIRED.
    #[graphql(directive = requires::apply(Capability::SetActivityRetention))]
    async fn set_activity_retention(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "Days to keep, 7 to 3,650; null keeps activity for good.")] days: Option<
            i32,
        >,
    ) -> AppResult<Workspace> {
        let id = id_arg("workspaceId", &workspace_id)?;
        let viewer =
            crate::activity::retention::set(ctx.db(), &ctx.caller().await?, id, days).await?;
        Ok(Workspace::new(viewer))
    }

    /// Deletes the workspace; `confirmName` must be its exact name. It can
    /// be restored for 30 days, then it is purged with all its data.
    #[graphql(directive = requires::apply(Capability::DeleteWorkspace))]
    async fn delete_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] id: ID,
        #[graphql(desc = "The workspace's exact name; any other is BAD_USER_INPUT.")]
        confirm_name: String,
    ) -> AppResult<Workspace> {
        let id = id_arg("id", &id)?;
        let viewer = service::delete(ctx.state(), &ctx.caller().await?, id, &confirm_name).await?;
        Ok(Workspace::new(viewer))
    }

    /// Restores a deleted workspace within its grace period (the owner only).
    #[graphql(directive = requires::apply(Capability::RestoreWorkspace))]
    async fn restore_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The deleted workspace's id; CONFLICT when it is not deleted, NOT_FOUND past its `purgeAfter`."
        )]
        id: ID,
    ) -> AppResult<Workspace> {
        let id = id_arg("id", &id)?;
        let viewer = service::restore(ctx.db(), &ctx.caller().await?, id).await?;
        Ok(Workspace::new(viewer))
    }

    /// Chooses whether admins manage billing, or only the owner.
    #[graphql(directive = requires::apply(Capability::ManageBillingSetting))]
    async fn set_admins_manage_billing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(
            desc = "True: admins hold FULL on BILLING; false: VIEW, and only the owner manages billing."
        )]
        enabled: bool,
    ) -> AppResult<Workspace> {
        let id = id_arg("workspaceId", &workspace_id)?;
        let viewer =
            service::set_admins_manage_billing(ctx.db(), &ctx.caller().await?, id, enabled).await?;
        Ok(Workspace::new(viewer))
    }

    /// Hides navigation keys (such as `analytics`) from a role. `settings`
    /// is never hidden, and the owner sees everything.
    #[graphql(directive = requires::apply(Capability::ManageNavigation))]
    async fn set_hidden_navigation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "ADMIN, MEMBER or VIEWER; OWNER is BAD_USER_INPUT.")] role: Role,
        #[graphql(
            desc = "The role's new list, replacing the old; empty hides nothing. At most 50 keys, each 1 to 40 ASCII letters, digits, '-', '_' or '.', lower-cased; `settings` is refused."
        )]
        keys: Vec<String>,
    ) -> AppResult<Workspace> {
        let id = id_arg("workspaceId", &workspace_id)?;
        let viewer =
            service::set_hidden_navigation(ctx.db(), &ctx.caller().await?, id, role.into(), keys)
                .await?;
        Ok(Workspace::new(viewer))
    }

    /// Moves to another plan; never below the seats in use.
    #[graphql(directive = requires::apply(Capability::ChangePlan))]
    async fn change_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(
            desc = "The new plan; SEAT_LIMIT_REACHED when it has fewer seats than are in use."
        )]
        plan: Plan,
    ) -> AppResult<Workspace> {
        let id = id_arg("workspaceId", &workspace_id)?;
        let viewer = service::change_plan(ctx.db(), &ctx.caller().await?, id, plan.into()).await?;
        Ok(Workspace::new(viewer))
    }
}
