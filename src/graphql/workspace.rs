//! How clients see a workspace: its settings, members, workrooms and activity.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::Role as DbRole;

use crate::access::{Capability, Require, Role, requires};
use crate::activity::{self, ActivityConnection, ActivityFilter};
use crate::agents::{self, Agent};
use crate::analytics::{self, Bucket, WorkspaceAnalytics};
use crate::brand::{self, BrandProfile};
use crate::context::{ContextExt, page_size};
use crate::error::AppResult;
use crate::exports::{self, ExportProfile};
use crate::graphql::credits::CreditPool;
use crate::invitations::{self, Invitation, InvitationStatus};
use crate::keys::{self, ApiKey};
use crate::members::{self, Member, MemberConnection};
use crate::prompts::{self, Collection, PromptConnection, PromptSearch};
use crate::provider_keys::{self, ProviderKey};
use crate::roles::{self, CustomRole};
use crate::workrooms::{self, Workroom};
use crate::workspaces::{Plan, Visibility, Workspace, WorkspaceMode, WorkspaceType};

/// A workspace as seen by one of its members: its settings, members, workrooms and activity.
#[Object]
impl Workspace {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model().id.clone())
    }

    /// Unique, URL-safe: lower-case letters, digits and single hyphens.
    async fn slug(&self) -> &str {
        &self.model().slug
    }

    /// The name shown to members; confirm it to delete the workspace.
    async fn name(&self) -> &str {
        &self.model().name
    }

    /// Free text of several lines.
    async fn description(&self) -> Option<&str> {
        self.model().description.as_deref()
    }

    /// An http(s) address.
    async fn website(&self) -> Option<&str> {
        self.model().website.as_deref()
    }

    /// Public or private; informational.
    async fn visibility(&self) -> Visibility {
        self.model().visibility.into()
    }

    /// When the workspace was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model().created_at
    }

    /// When the workspace was deleted; null while it is live.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.model().deleted_at
    }

    /// When a deleted workspace is purged for good.
    async fn purge_after(&self) -> Option<DateTime<Utc>> {
        self.model().purge_after
    }

    /// The subscription plan, which sets the seats.
    async fn plan(&self) -> Plan {
        self.model().plan.into()
    }

    /// MY_BRAND or CLIENT; informational, shown in lists.
    #[graphql(name = "type")]
    async fn workspace_type(&self) -> WorkspaceType {
        self.model().workspace_type.into()
    }

    /// AGENTIC (the default) or TRADITIONAL; the owner alone changes it.
    async fn mode(&self) -> WorkspaceMode {
        self.model().mode.into()
    }

    /// The logo's public address; null until one is uploaded.
    async fn logo_url(&self, ctx: &Context<'_>) -> Option<String> {
        crate::files::url(ctx.state(), self.model().logo_file.as_ref())
    }

    /// The avatar's public address; null until one is uploaded.
    async fn avatar_url(&self, ctx: &Context<'_>) -> Option<String> {
        crate::files::url(ctx.state(), self.model().avatar_file.as_ref())
    }

    /// The banner's public address; null until one is uploaded.
    async fn banner_url(&self, ctx: &Context<'_>) -> Option<String> {
        crate::files::url(ctx.state(), self.model().banner_file.as_ref())
    }

    /// Whether this is the personal workspace made at sign-up.
    async fn personal(&self) -> bool {
        self.model().personal
    }

    /// Seats in use, pending, and the plan's limit.
    #[graphql(
        guard = "Require::new(Capability::ReadSeats, &self.viewer)",
        directive = requires::apply(Capability::ReadSeats)
    )]
    async fn seats(&self, ctx: &Context<'_>) -> AppResult<crate::billing::Seats> {
        crate::billing::seats(ctx.db(), self.model()).await
    }

    /// The workspace's API keys, newest first, never with their secrets.
    #[graphql(
        guard = "Require::new(Capability::ReadApiKeys, &self.viewer)",
        directive = requires::apply(Capability::ReadApiKeys)
    )]
    async fn api_keys(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<ApiKey>>> {
        keys::of_workspace(ctx, self).await.map(Some)
    }

    /// The caller's own membership; null for a workspace API key.
    async fn viewer_member(&self, ctx: &Context<'_>) -> AppResult<Option<Member>> {
        match self.viewer.member.clone() {
            Some(member) => members::service::one(ctx.db(), self.model(), member)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// Members in joining order; `first` at most 100.
    #[graphql(
        guard = "Require::new(Capability::ReadMembers, &self.viewer)",
        directive = requires::apply(Capability::ReadMembers)
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100 (BAD_USER_INPUT outside); 20 when absent.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (a previous page's `endCursor`); from the start when absent."
        )]
        after: Option<String>,
    ) -> AppResult<MemberConnection> {
        let first = page_size(first)?;
        if let Some((size, page)) = &self.members_page
            && after.is_none()
            && *size == first
        {
            return Ok(page.clone());
        }
        members::service::page(ctx.db(), self.model(), first, after).await
    }

    /// Invitations, newest first; PENDING lists only live ones, EXPIRED
    /// those whose time is up.
    #[graphql(
        guard = "Require::new(Capability::ReadInvitations, &self.viewer)",
        directive = requires::apply(Capability::ReadInvitations)
    )]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only invitations in this status, as `Invitation.status` shows it; all when absent."
        )]
        status: Option<InvitationStatus>,
    ) -> AppResult<Vec<Invitation>> {
        Ok(
            invitations::service::list(ctx.db(), &self.model().id, status.map(Into::into))
                .await?
                .into_iter()
                .map(Invitation)
                .collect(),
        )
    }

    /// The workspace's custom roles.
    #[graphql(
        guard = "Require::new(Capability::ReadRoles, &self.viewer)",
        directive = requires::apply(Capability::ReadRoles)
    )]
    async fn roles(&self, ctx: &Context<'_>) -> AppResult<Vec<CustomRole>> {
        Ok(roles::service::list(ctx.db(), &self.model().id)
            .await?
            .into_iter()
            .map(CustomRole)
            .collect())
    }

    /// Whether admins manage billing (true) or only the owner.
    async fn admins_manage_billing(&self) -> bool {
        self.model().admins_manage_billing
    }

    /// Navigation keys hidden from each role.
    #[graphql(
        guard = "Require::new(Capability::ReadNavigation, &self.viewer)",
        directive = requires::apply(Capability::ReadNavigation)
    )]
    async fn hidden_navigation(&self) -> Vec<HiddenNavigation> {
        [DbRole::Admin, DbRole::Member, DbRole::Viewer]
            .into_iter()
            .map(|role| HiddenNavigation {
                role: role.into(),
                keys: members::service::hidden_navigation(self.model(), role),
            })
            .collect()
    }

    /// The shared credit pool.
    #[graphql(
        guard = "Require::new(Capability::ReadCredits, &self.viewer)",
        directive = requires::apply(Capability::ReadCredits)
    )]
    async fn credit_balance(&self) -> Option<i64> {
        Some(self.model().credit_balance)
    }

    /// The workspace's custom agents that are not archived, oldest first.
    #[graphql(
        guard = "Require::new(Capability::ReadAgents, &self.viewer)",
        directive = requires::apply(Capability::ReadAgents)
    )]
    async fn agents(&self, ctx: &Context<'_>) -> AppResult<Vec<Agent>> {
        agents::service::list(ctx.db(), &self.model().id).await
    }

    /// The shared credit pool: balance, reservations, ledger and usage.
    #[graphql(
        guard = "Require::new(Capability::ReadCredits, &self.viewer)",
        directive = requires::apply(Capability::ReadCredits)
    )]
    async fn credits(&self) -> Option<CreditPool> {
        Some(CreditPool(self.viewer.clone()))
    }

    /// How the workspace's deliverables are rendered.
    async fn export_profile(&self, ctx: &Context<'_>) -> AppResult<Option<ExportProfile>> {
        Ok(Some(
            exports::service::profile(ctx.db(), &self.model().id).await?,
        ))
    }

    /// The workspace's own model provider key (its provider and last four
    /// characters); null when runs use the server's provider key.
    #[graphql(
        guard = "Require::new(Capability::ReadProviderKey, &self.viewer)",
        directive = requires::apply(Capability::ReadProviderKey)
    )]
    async fn provider_key(&self, ctx: &Context<'_>) -> AppResult<Option<ProviderKey>> {
        Ok(provider_keys::service::find(ctx.db(), &self.model().id)
            .await?
            .map(ProviderKey::from))
    }

    /// The workrooms the caller may see, archived ones left out.
    #[graphql(
        guard = "Require::new(Capability::ReadWorkrooms, &self.viewer)",
        directive = requires::apply(Capability::ReadWorkrooms)
    )]
    async fn workrooms(&self, ctx: &Context<'_>) -> AppResult<Vec<Workroom>> {
        workrooms::service::list(ctx.db(), &self.viewer).await
    }

    /// Figures over `[from, to)`: events, active members, API calls, member
    /// count, top members and prompts; UTC buckets, weeks from Monday.
    #[graphql(
        guard = "Require::new(Capability::ReadAnalytics, &self.viewer)",
        directive = requires::apply(Capability::ReadAnalytics)
    )]
    async fn analytics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The period's start (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "The period's end (exclusive); at most 366 days after `from`.")]
        to: DateTime<Utc>,
        #[graphql(desc = "DAY when absent.")] bucket: Option<Bucket>,
    ) -> AppResult<Option<WorkspaceAnalytics>> {
        analytics::of_workspace(ctx, &self.viewer, from, to, bucket)
            .await
            .map(Some)
    }

    /// How the caller hears of each category of activity, after the
    /// workspace's defaults (for a workspace key: the defaults).
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<crate::notifications::NotificationPreference>> {
        crate::notifications::preferences::effective(ctx.db(), &self.viewer).await
    }

    /// Days of activity kept; null: kept for good.
    async fn activity_retention_days(&self) -> Option<i32> {
        self.model().activity_retention_days
    }

    /// The brand profile and memory; every member reads them.
    async fn brand(&self, ctx: &Context<'_>) -> AppResult<Option<BrandProfile>> {
        brand::service::profile(ctx.db(), &self.model().id)
            .await
            .map(Some)
    }

    /// The prompt library, by name: callers who may edit prompts see drafts
    /// too, others published prompts only. Archived prompts are left out
    /// unless the search asks for them.
    #[graphql(
        guard = "Require::new(Capability::ReadPrompts, &self.viewer)",
        directive = requires::apply(Capability::ReadPrompts)
    )]
    async fn prompts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to look for; every condition given must hold.")] search: Option<
            PromptSearch,
        >,
        #[graphql(desc = "Page size, 0 to 100 (BAD_USER_INPUT outside); 20 when absent.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (a previous page's `endCursor`); from the start when absent."
        )]
        after: Option<String>,
    ) -> AppResult<PromptConnection> {
        prompts::page(ctx, &self.viewer, search, first, after).await
    }

    /// The prompt collections, by name.
    #[graphql(
        guard = "Require::new(Capability::ReadPrompts, &self.viewer)",
        directive = requires::apply(Capability::ReadPrompts)
    )]
    async fn collections(&self, ctx: &Context<'_>) -> AppResult<Vec<Collection>> {
        let models = prompts::service::collections(ctx.db(), &self.model().id).await?;
        Ok(prompts::collections(&self.viewer, models))
    }

    /// Events of the areas the caller may see, newest first; `first` at most 100.
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
        #[graphql(
            desc = "Only events that meet every condition given; all visible events when absent."
        )]
        filter: Option<ActivityFilter>,
    ) -> AppResult<ActivityConnection> {
        let first = page_size(first)?;
        if let Some((size, page)) = &self.activity_page
            && after.is_none()
            && filter.is_none()
            && *size == first
        {
            return Ok(page.clone());
        }
        activity::service::page(
            ctx.db(),
            &self.viewer,
            filter.unwrap_or_default(),
            first,
            after,
        )
        .await
    }
}

/// The navigation keys hidden from one role.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { HiddenNavigation: { merge: true } }`).
#[derive(SimpleObject)]
pub struct HiddenNavigation {
    /// ADMIN, MEMBER or VIEWER; the owner is never hidden from anything.
    pub role: Role,
    /// The keys hidden from that role; empty when none.
    pub keys: Vec<String>,
}
